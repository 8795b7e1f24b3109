// Issue 19, item 8: audio files that decoded to silently wrong results. FLAC streams with total
// samples 0 and no MD5 (what streaming encoders write) that are cut short decoded to 0 samples;
// a channel-count mismatch surfaced as a bare TypeError; float WAV data with NaN/Inf was accepted.
import * as fs from 'fs';
import * as path from 'path';

import { audio } from '../../lib';

const fixtures = path.resolve(__dirname, '../fixtures/data');
const FLACS = ['noise_16k_s16_stereo.flac', 'noise_22k_s24_mono.flac', 'noise_8k_u8_mono.flac'];
// STREAMINFO fields (no ID3 tag in the fixtures): 4 'fLaC' + 4 block header + 10 block/frame sizes.
const SI = 18;

/** The fixture as a streaming encoder writes it: total samples 0 (unknown) and an all-zero MD5. */
function streamed(name: string): Buffer {
  const b = Buffer.from(fs.readFileSync(path.join(fixtures, name)));
  b[SI + 3] &= 0xf0;
  b.fill(0, SI + 4, SI + 8);
  b.fill(0, SI + 8, SI + 24);
  return b;
}

/** Sets the channel count STREAMINFO declares. */
function withChannels(b: Buffer, n: number): Buffer {
  const c = Buffer.from(b);
  c[SI + 2] = (c[SI + 2] & ~0x0e) | ((n - 1) << 1);
  return c;
}

async function message(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  }
  return 'no error';
}

describe('FLAC', () => {
  test.each(FLACS)('%s: a streamed file decodes whole, and every cut of it is an error', async (name) => {
    const b = streamed(name);
    const whole = await audio.decodeFlac(b, { name });
    const full = await audio.decodeFlac(fs.readFileSync(path.join(fixtures, name)));
    expect(whole.channels.map((c) => Array.from(c))).toEqual(full.channels.map((c) => Array.from(c)));
    const info = audio.parseFlacHeader(b);
    expect(info.numFrames).toBe(0);
    // Cuts inside the frames (the header and STREAMINFO take the first 42 bytes).
    for (const cut of [b.length - 1, b.length - 17, Math.floor((b.length + 42) / 2), 43]) {
      const msg = await message(audio.decodeFlac(b.subarray(0, cut), { name }));
      expect(msg).toMatch(new RegExp(`^\\[decodeFlac\\] ${name.replace(/\./g, '\\.')}: the stream ends in the middle of a frame after \\d+ samples per channel \\(truncated file\\?\\)`));
    }
  });

  test.each(FLACS)('%s: STREAMINFO channels that differ from the frames are a named error', async (name) => {
    const b = streamed(name);
    const real = audio.parseFlacHeader(b).numChannels;
    for (const n of [1, 2, 3, 8].filter((k) => k !== real)) {
      const msg = await message(audio.readAudio(withChannels(b, n), { name }));
      expect(msg).toBe(`[readAudio] ${name}: frame 0 has ${real} channels but STREAMINFO says ${n}`);
    }
  });
});

describe('WAV float data', () => {
  const encode = (values: number[], format: 'float32' | 'float64'): Buffer =>
    audio.encodeWav({ sampleRate: 8000, channels: [Float64Array.from(values), Float64Array.from(values, (v) => -v)] }, { format });

  /** Overwrites sample i of channel c in a 2-channel float WAV made by encodeWav. */
  const poke = (b: Buffer, format: 'float32' | 'float64', c: number, i: number, v: number): Buffer => {
    const out = Buffer.from(b);
    const size = format === 'float32' ? 4 : 8;
    const off = audio.parseWavHeader(b).dataOffset + (i * 2 + c) * size;
    if (format === 'float32') out.writeFloatLE(v, off);
    else out.writeDoubleLE(v, off);
    return out;
  };

  test.each(['float32', 'float64'] as const)('%s NaN and Infinity are errors unless allowNonFinite', (format) => {
    const b = encode([0.5, -0.25, 0.125, 0], format);
    expect(audio.decodeWav(b).channels[1][1]).toBe(0.25);
    for (const [c, i, v] of [[0, 2, NaN], [1, 3, Infinity], [0, 0, -Infinity]] as const) {
      const bad = poke(b, format, c, i, v);
      expect(() => audio.decodeWav(bad, { name: 'x.wav' }))
        .toThrow(`[decodeWav] x.wav: channel ${c} sample ${i} is ${v}; float WAV data must be finite (pass { allowNonFinite: true } to keep it)`);
      expect(() => audio.readWav(bad, { name: 'y.wav' })).toThrow(/^\[readWav\] y\.wav: channel/);
      const kept = audio.decodeWav(bad, { allowNonFinite: true });
      expect(Object.is(kept.channels[c][i], v)).toBe(true);
    }
  });

  test('float64 beyond the float32 range is Infinity after decoding, so an error too', () => {
    const b = poke(encode([0.5, 0.5], 'float64'), 'float64', 1, 1, 1e300);
    expect(() => audio.decodeWav(b)).toThrow('[decodeWav] <buffer>: channel 1 sample 1 is Infinity');
  });

  test('readAudio passes the option through', async () => {
    const bad = poke(encode([0.5, 0.5], 'float32'), 'float32', 0, 1, NaN);
    expect(await message(audio.readAudio(bad, { name: 'z.wav' }))).toMatch(/^\[readAudio\] z\.wav: channel 0 sample 1 is NaN/);
    const kept = await audio.readAudio(bad, { allowNonFinite: true });
    expect(Number.isNaN(kept.channels[0][1])).toBe(true);
  });
});
