/** FLAC encoding: round trips through our libFLAC decoder (which checks the STREAMINFO MD5), the
 *  header and MD5 checked against codes and a hash computed here, quantisation and saturation
 *  checked against a float64 reference, real compression, atomic writes and the error paths. */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeFlac, parseFlacHeader, probeAudio, readAudio } from '../../lib/audio/flac';
import { encodeFlac, encodeFlacSync, initFlacEncoder, writeFlac } from '../../lib/audio/flac_encode';
import { refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('flac_encode.test');
const rng = refRng(seed);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flac-enc-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Reference quantiser in float64: round half up, saturate (what encodeWav and FLAC writers do). */
function refCodes(x: ArrayLike<number>, bps: number): Int32Array {
  const s = 2 ** (bps - 1);
  return Int32Array.from(x, (v) => Math.min(s - 1, Math.max(-s, Math.floor(v * s + 0.5))));
}

/** MD5 over interleaved little-endian signed codes of ceil(bps/8) bytes (the FLAC format spec). */
function refMd5(channels: Int32Array[], bps: number): string {
  const B = Math.ceil(bps / 8);
  const n = channels[0].length;
  const buf = Buffer.alloc(n * channels.length * B);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (const ch of channels) {
      buf.writeIntLE(ch[i], p, B);
      p += B;
    }
  }
  return crypto.createHash('md5').update(buf).digest('hex');
}

/** Speech-like test signal: a few drifting sinusoids plus a little noise, as pcm16 codes. */
function smoothInt16(n: number): Int16Array {
  const x = new Int16Array(n);
  const f = [0.013 + 0.01 * rng.uniform(), 0.041 + 0.02 * rng.uniform(), 0.11 * rng.uniform()];
  for (let i = 0; i < n; i++) {
    const v = 6000 * Math.sin(f[0] * i) + 3000 * Math.sin(f[1] * i + 1) + 800 * Math.sin(f[2] * i) + 60 * rng.normal();
    x[i] = Math.round(v);
  }
  return x;
}

function expectCodes(decoded: Float32Array, codes: ArrayLike<number>, bps: number, what: string): void {
  const s = 2 ** (bps - 1);
  expect(decoded.length).toBe(codes.length);
  for (let i = 0; i < codes.length; i++) {
    if (decoded[i] * s !== codes[i]) {
      throw new Error(`${what}: sample ${i} decoded ${decoded[i] * s}, expected ${codes[i]} (seed ${seed})`);
    }
  }
}

test('the synchronous encoder says so when libflacjs is not initialised yet', () => {
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fresh = require('../../lib/audio/flac_encode') as typeof import('../../lib/audio/flac_encode');
    expect(() => fresh.encodeFlacSync(new Int16Array(4), 16000)).toThrow(/^\[encodeFlac\] libflacjs is not initialised yet: await audio.initFlacEncoder\(\)/);
  });
});

describe('round trip, 16-bit', () => {
  for (const rate of [8000, 16000, 44100, 48000]) {
    test(`Int16 codes at ${rate} Hz, lengths 1, 7, 4099: exact, header and MD5 right`, async () => {
      for (const n of [1, 7, 4099]) {
        const x = new Int16Array(n);
        for (let i = 0; i < n; i++) x[i] = rng.int(-32768, 32767);
        x[0] = n > 1 ? -32768 : x[0];
        const bytes = await encodeFlac(x, rate);
        const info = parseFlacHeader(bytes);
        expect(info).toEqual({ sampleRate: rate, numChannels: 1, numFrames: n, bitsPerSample: 16, md5: refMd5([Int32Array.from(x)], 16) });
        const d = await decodeFlac(bytes);
        expect([d.sampleRate, d.format, d.bitsPerSample, d.channels.length]).toEqual([rate, 'pcm16', 16, 1]);
        expectCodes(d.channels[0], x, 16, `n=${n} rate=${rate}`);
      }
    });
  }

  test('float input is rounded to nearest and saturated like encodeWav; ±1.5, ±1 and tiny values', async () => {
    const n = 129;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = 2.4 * rng.uniform() - 1.2; // ~17 % beyond full scale
    x.set([1, -1, 1.5, -1.5, 0.99999, 1 / 65536, -1 / 65536, 0.5 / 32768 + 1e-9, 32767.5 / 32768], 0);
    const codes = refCodes(x, 16);
    expect(Array.from(codes.subarray(0, 9))).toEqual([32767, -32768, 32767, -32768, 32767, 1, 0, 1, 32767]);
    const d = await decodeFlac(await encodeFlac(x, 16000));
    expectCodes(d.channels[0], codes, 16, 'float clip');
    const d64 = await decodeFlac(await encodeFlac(Float64Array.from(x), 16000));
    expectCodes(d64.channels[0], codes, 16, 'float64 clip');
  });
});

test('other depths: 8 and 24 bit from floats; Int16 codes to 24 and 8 bit', async () => {
  const n = 1031;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.uniform() - 1;
  for (const bps of [8, 24]) {
    const bytes = await encodeFlac(x, 22050, { bitsPerSample: bps });
    const codes = refCodes(x, bps);
    expect(parseFlacHeader(bytes).md5).toBe(refMd5([codes], bps));
    const d = await decodeFlac(bytes);
    expect(d.bitsPerSample).toBe(bps);
    expectCodes(d.channels[0], codes, bps, `${bps}-bit`);
  }
  const i16 = smoothInt16(n);
  i16[3] = 32767; i16[4] = -32768; i16[5] = 128; i16[6] = -129;
  const d24 = await decodeFlac(await encodeFlac(i16, 16000, { bitsPerSample: 24 }));
  expectCodes(d24.channels[0], Int32Array.from(i16, (v) => v * 256), 24, 'int16 → 24');
  const d8 = await decodeFlac(await encodeFlac(i16, 16000, { bitsPerSample: 8 }));
  expectCodes(d8.channels[0], Int32Array.from(i16, (v) => Math.min(127, Math.max(-128, Math.floor(v / 256 + 0.5)))), 8, 'int16 → 8');
});

test('stereo and 3 channels keep each channel; verify mode gives the same bytes', async () => {
  const n = 777;
  const chans = [smoothInt16(n), smoothInt16(n), smoothInt16(n)];
  for (const nc of [2, 3]) {
    const bytes = await encodeFlac(chans.slice(0, nc), 16000);
    expect(parseFlacHeader(bytes).numChannels).toBe(nc);
    expect(parseFlacHeader(bytes).md5).toBe(refMd5(chans.slice(0, nc).map((c) => Int32Array.from(c)), 16));
    const d = await decodeFlac(bytes);
    for (let c = 0; c < nc; c++) expectCodes(d.channels[c], chans[c], 16, `ch ${c}/${nc}`);
    expect(Buffer.from(await encodeFlac(chans.slice(0, nc), 16000, { verify: true })).equals(Buffer.from(bytes))).toBe(true);
  }
});

test('more than one 64 Ki-sample chunk handed to libFLAC: stereo 65536 + 4099 samples exact', async () => {
  const n = 65536 + 4099;
  const chans = [smoothInt16(n), smoothInt16(n)];
  const bytes = await encodeFlac(chans, 16000);
  expect(parseFlacHeader(bytes).numFrames).toBe(n);
  const d = await decodeFlac(bytes);
  for (let c = 0; c < 2; c++) expectCodes(d.channels[c], chans[c], 16, `long ch ${c}`);
});

test('compression levels: all exact; a smooth signal compresses (level 5 < 60 % of PCM, 8 ≤ 0)', async () => {
  await initFlacEncoder();
  const x = smoothInt16(16000);
  const sizes: number[] = [];
  for (const level of [0, 5, 8]) {
    const bytes = encodeFlacSync(x, 16000, { compression: level });
    sizes.push(bytes.length);
    expectCodes((await decodeFlac(bytes)).channels[0], x, 16, `level ${level}`);
  }
  expect(sizes[1]).toBeLessThan(0.6 * 2 * x.length);
  expect(sizes[2]).toBeLessThanOrEqual(sizes[0]);
  // white noise at full scale is incompressible: FLAC falls back to verbatim frames (≈ PCM size)
  const noise = new Int16Array(8000).map(() => rng.int(-32768, 32767));
  const nb = encodeFlacSync(noise, 16000);
  expect(nb.length).toBeGreaterThan(2 * noise.length);
  expect(nb.length).toBeLessThan(2 * noise.length * 1.01 + 200);
});

test('writeFlac: atomic file readable by readAudio/probeAudio; a failed write leaves nothing', async () => {
  const file = path.join(tmp, 'sub', 'a.flac');
  const x = smoothInt16(4099);
  await writeFlac(file, x, 16000);
  expect(probeAudio(file)).toEqual({ sampleRate: 16000, numChannels: 1, numFrames: 4099, duration: 4099 / 16000 });
  expectCodes((await readAudio(file)).channels[0], x, 16, 'writeFlac');
  const before = fs.readFileSync(file);
  const bad = new Float32Array(10);
  bad[3] = NaN;
  await expect(writeFlac(file, bad, 16000)).rejects.toThrow(`[writeFlac] ${file}: channel 0 sample 3 is NaN; only finite samples can be encoded`);
  expect(fs.readFileSync(file).equals(before)).toBe(true);
  expect(fs.readdirSync(path.dirname(file))).toEqual(['a.flac']);
  await expect(writeFlac(path.join(tmp, 'b.flac'), new Float32Array(0), 16000)).rejects.toThrow(/^\[writeFlac\] .*b\.flac: samples are empty/);
  expect(fs.existsSync(path.join(tmp, 'b.flac'))).toBe(false);
});

test('bad input: NaN/Infinity, empty, unequal channels, wrong types, rate, depth, level', async () => {
  await initFlacEncoder();
  const ok = new Float32Array(8);
  const nan = Float32Array.from([0, 0.1, NaN]);
  const inf = Float64Array.from([0, -Infinity]);
  expect(() => encodeFlacSync(nan, 16000)).toThrow('[encodeFlac] channel 0 sample 2 is NaN; only finite samples can be encoded');
  expect(() => encodeFlacSync([inf, Float64Array.from([0.5, 0.5])], 16000)).toThrow('[encodeFlac] channel 0 sample 1 is -Infinity');
  await expect(encodeFlac(nan, 16000)).rejects.toThrow(/^\[encodeFlac\] channel 0 sample 2 is NaN/);
  expect(() => encodeFlacSync(new Int16Array(0), 16000)).toThrow('[encodeFlac] samples are empty');
  expect(() => encodeFlacSync([ok, new Float32Array(7)], 16000)).toThrow('[encodeFlac] channel 1 has 7 samples, channel 0 has 8');
  expect(() => encodeFlacSync(new Int32Array(8) as unknown as Int16Array, 16000)).toThrow('[encodeFlac] channel 0 must be a Float32Array, Float64Array or Int16Array, got Int32Array');
  expect(() => encodeFlacSync(Array.from({ length: 9 }, () => ok), 16000)).toThrow(/^\[encodeFlac\] samples must be .* 1\.\.8 .*got 9 channels/);
  expect(() => encodeFlacSync(ok, 0)).toThrow('[encodeFlac] sampleRate must be an integer in 1..655350');
  expect(() => encodeFlacSync(ok, 16000.5)).toThrow('got 16000.5');
  expect(() => encodeFlacSync(ok, 16000, { bitsPerSample: 10 })).toThrow('[encodeFlac] bitsPerSample must be one of 8, 16, 24 (12 and 20 could not be decoded again by libflacjs), got 10');
  expect(() => encodeFlacSync(ok, 16000, { bitsPerSample: 12 })).toThrow('got 12');
  expect(() => encodeFlacSync(ok, 16000, { compression: 9 })).toThrow('[encodeFlac] compression must be an integer 0..8, got 9');
});
