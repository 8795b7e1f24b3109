/** WAV read/write: bit-exact round trips for every format, header variants (extensible, unknown
 *  and odd-sized chunks, streaming placeholders), clipping, and the error messages. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../../lib/audio/rng';
import { SampleFormat, decodeWav, encodeWav, probeWav, readWav, writeWav } from '../../lib/audio/wav';

const FIX = path.join(__dirname, '..', 'fixtures', 'data');
const rng = new Rng(Date.now() & 0x7fffffff);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Random samples on the grid of `bits`-bit PCM (k / 2^(bits-1)), including both extremes. For
 *  pcm32 the grid is coarsened to 24 significant bits, the most a Float32Array holds. */
function quantised(n: number, bits: number): Float32Array {
  const scale = 2 ** (bits - 1);
  const step = bits === 32 ? 256 : 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (Math.floor((rng.uniform() * 2 - 1) * scale / step) * step) / scale;
  x[0] = -1;
  if (n > 1) x[1] = (scale - step) / scale;
  if (n > 2) x[2] = 0;
  return x;
}

const cases: Array<[SampleFormat, number]> = [['pcm8', 8], ['pcm16', 16], ['pcm24', 24], ['pcm32', 32], ['float32', 24], ['float64', 24]];

describe('round trips', () => {
  for (const [format, bits] of cases) {
    for (const nc of [1, 2, 3]) {
      for (const extensible of [false, true]) {
        test(`${format} ${nc} ch ${extensible ? 'extensible' : 'plain'}`, () => {
          const n = 1 + rng.int(0, 2049);
          const sampleRate = [8000, 11025, 16000, 22050, 44100, 48000, 96000][rng.int(0, 6)];
          const channels = Array.from({ length: nc }, () => quantised(n, bits));
          const buf = encodeWav({ sampleRate, channels }, { format, extensible });
          const back = decodeWav(buf);
          expect(back.sampleRate).toBe(sampleRate);
          expect(back.format).toBe(format);
          expect(back.channels.length).toBe(nc);
          for (let c = 0; c < nc; c++) expect(Array.from(back.channels[c])).toEqual(Array.from(channels[c]));
          // bytes → floats → bytes is the identity for every format
          expect(encodeWav(back, { format, extensible }).equals(buf)).toBe(true);
        });
      }
    }
  }

  test('float64 keeps values a Float32Array cannot hold through Float64Array input', () => {
    const x = new Float64Array([0.1, -1 / 3, 1e-12, 2.5]);
    const buf = encodeWav({ sampleRate: 16000, channels: [x] }, { format: 'float64' });
    const dv = new DataView(buf.buffer, buf.byteOffset + buf.length - 32, 32);
    expect(dv.getFloat64(8, true)).toBe(-1 / 3);
    expect(decodeWav(buf).channels[0][3]).toBe(2.5); // float formats do not clip
  });

  test('matches files written by Python wave (pcm16 stereo, pcm24, pcm8)', () => {
    const a = readWav(path.join(FIX, 'noise_16k_s16_stereo.wav'));
    expect(a.sampleRate).toBe(16000);
    expect(a.channels.length).toBe(2);
    expect(Array.from(a.channels[0].subarray(0, 8)).map((v) => v * 32768)).toEqual([0, -1, 1, -32768, 32767, 255, -256, 0]);
    const b = readWav(path.join(FIX, 'noise_22k_s24_mono.wav'));
    expect(b.format).toBe('pcm24');
    expect(Array.from(b.channels[0].subarray(0, 6)).map((v) => v * 8388608)).toEqual([0, -1, 1, -8388608, 8388607, 0]);
    const c = readWav(path.join(FIX, 'noise_8k_u8_mono.wav'));
    expect(Array.from(c.channels[0].subarray(0, 4)).map((v) => v * 128)).toEqual([-128, 0, 127, -1]);
    // re-encoding gives back the file's own sample bytes
    const orig = fs.readFileSync(path.join(FIX, 'noise_16k_s16_stereo.wav'));
    const re = encodeWav(a, { format: 'pcm16' });
    expect(re.subarray(44).equals(orig.subarray(44))).toBe(true);
  });
});

describe('conversions', () => {
  test('clipping saturates PCM at the extreme codes; float formats keep values', () => {
    const x = new Float32Array([1, 1.5, -1, -7, 0.99999, -1.00001]);
    const back16 = decodeWav(encodeWav({ sampleRate: 8000, channels: [x] })).channels[0];
    expect(Array.from(back16).map((v) => Math.round(v * 32768))).toEqual([32767, 32767, -32768, -32768, 32767, -32768]);
    const back8 = decodeWav(encodeWav({ sampleRate: 8000, channels: [x] }, { format: 'pcm8' })).channels[0];
    expect(Array.from(back8).map((v) => v * 128)).toEqual([127, 127, -128, -128, 127, -128]);
  });

  test('mono downmix averages channels', () => {
    const l = quantised(513, 16);
    const r = quantised(513, 16);
    const m = readWav(encodeWav({ sampleRate: 16000, channels: [l, r] }), { mono: true });
    expect(m.channels.length).toBe(1);
    for (let i = 0; i < 513; i++) expect(m.channels[0][i]).toBeCloseTo((l[i] + r[i]) / 2, 7);
  });

  test('writeWav writes atomically and probeWav reads the header only', () => {
    const file = path.join(tmp, 'sub', 'a.wav');
    const x = quantised(1234, 16);
    writeWav(file, { sampleRate: 22050, channels: [x, x] }, { format: 'pcm24' });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['a.wav']); // no temp file left behind
    const info = probeWav(file);
    expect(info).toMatchObject({ sampleRate: 22050, numChannels: 2, numFrames: 1234, format: 'pcm24', bitsPerSample: 24 });
    expect(Array.from(readWav(file).channels[1])).toEqual(Array.from(x));
    // a failing write leaves neither a partial file nor a temp file
    expect(() => writeWav(path.join(tmp, 'sub', 'b.wav'), { sampleRate: 8000, channels: [new Float32Array([0, NaN])] }))
      .toThrow('[writeWav] ' + path.join(tmp, 'sub', 'b.wav') + ': channel 0 sample 1 is NaN');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['a.wav']);
  });
});

/** Builds a WAV from raw chunks: [id, body] pairs, each padded to even length unless `noPad`. */
function riff(chunks: Array<[string, Buffer]>, noPad = false): Buffer {
  const parts: Buffer[] = [];
  for (const [id, body] of chunks) {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(body.length, 4);
    parts.push(h, body);
    if (body.length & 1 && !noPad) parts.push(Buffer.alloc(1));
  }
  const inner = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(inner.length + 4, 4);
  head.write('WAVE', 8, 'latin1');
  return Buffer.concat([head, inner]);
}

function fmtChunk(tag: number, nc: number, rate: number, bits: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(nc, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * nc * bits) / 8, 8);
  b.writeUInt16LE((nc * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  return b;
}

describe('header variants', () => {
  const samples = Buffer.from(new Int16Array([1, -2, 3, -4, 5]).buffer);

  test('unknown chunks (LIST, odd-sized, fact) are skipped, with and without pad bytes', () => {
    for (const noPad of [false, true]) {
      const buf = riff([['LIST', Buffer.from('INFOabc')], ['fmt ', fmtChunk(1, 1, 16000, 16)], ['junk', Buffer.alloc(3)],
        ['fact', Buffer.alloc(4)], ['data', samples], ['LIST', Buffer.from('x')]], noPad);
      expect(Array.from(decodeWav(buf).channels[0]).map((v) => v * 32768)).toEqual([1, -2, 3, -4, 5]);
    }
  });

  test('streaming placeholder data size (espeak-ng, ffmpeg) means "to the end of the file"', () => {
    const buf = riff([['fmt ', fmtChunk(1, 1, 22050, 16)], ['data', samples]]);
    buf.writeUInt32LE(0x7ffff000, 40);
    expect(decodeWav(buf).channels[0].length).toBe(5);
    buf.writeUInt32LE(0xffffffff, 40);
    expect(decodeWav(buf).channels[0].length).toBe(5);
  });

  test('errors name the file and the problem', () => {
    const good = riff([['fmt ', fmtChunk(1, 1, 16000, 16)], ['data', Buffer.alloc(32000)]]);
    const cut = good.subarray(0, 44 + 1200);
    const f = path.join(tmp, 'x.wav');
    fs.writeFileSync(f, cut);
    expect(() => readWav(f)).toThrow(`[readWav] ${f}: data chunk says 32000 bytes but only 1200 remain`);
    expect(() => decodeWav(cut, { name: 'x.wav' })).toThrow('[decodeWav] x.wav: data chunk says 32000 bytes but only 1200 remain');
    const ulaw = riff([['fmt ', fmtChunk(7, 1, 8000, 8)], ['data', Buffer.alloc(10)]]);
    expect(() => decodeWav(ulaw, { name: 'u.wav' })).toThrow('[decodeWav] u.wav: μ-law (format tag 0x0007) is not supported');
    const adpcm = riff([['fmt ', fmtChunk(0x11, 1, 8000, 4)], ['data', Buffer.alloc(10)]]);
    expect(() => decodeWav(adpcm)).toThrow('IMA ADPCM (format tag 0x0011) is not supported');
    expect(() => decodeWav(riff([['fmt ', fmtChunk(1, 1, 8000, 12)], ['data', Buffer.alloc(10)]]))).toThrow('integer PCM with 12 bits');
    expect(() => decodeWav(Buffer.from('RIFF\0\0\0\0AVI '))).toThrow('RIFF form is "AVI ", expected "WAVE"');
    expect(() => decodeWav(Buffer.from('OggS0000000000000'))).toThrow('not a WAV file: starts with "OggS"');
    expect(() => decodeWav(Buffer.from('RIFF'))).toThrow('shorter than the 12-byte RIFF header');
    expect(() => decodeWav(riff([['data', samples]]))).toThrow("no 'fmt ' chunk");
    expect(() => decodeWav(riff([['fmt ', fmtChunk(1, 1, 8000, 16)]]))).toThrow("no 'data' chunk");
    const odd = riff([['fmt ', fmtChunk(1, 2, 8000, 16)], ['data', Buffer.alloc(10)]]);
    expect(() => decodeWav(odd)).toThrow('data chunk is 10 bytes, not a whole number of 4-byte frames');
    const align = fmtChunk(1, 2, 8000, 16);
    align.writeUInt16LE(3, 12);
    expect(() => decodeWav(riff([['fmt ', align], ['data', Buffer.alloc(8)]]))).toThrow('blockAlign is 3, expected 2 channels × 2 bytes = 4');
    expect(() => readWav(path.join(tmp, 'missing.wav'))).toThrow(`[readWav] ${path.join(tmp, 'missing.wav')}: cannot read file (ENOENT)`);
    expect(() => encodeWav({ sampleRate: 8000, channels: [new Float32Array(3), new Float32Array(2)] })).toThrow('[encodeWav] channel 1 has 2 samples, channel 0 has 3');
  });
});
