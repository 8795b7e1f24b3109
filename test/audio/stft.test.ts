/**
 * STFT against a direct framed DFT (explicit numpy-style padding, naive DFT), windows against
 * their formulas, iSTFT round trips (float64 and float32) and bad input.
 */
import { istft, spectrogram, stft } from '../../lib/audio/stft';
import { makeWindow } from '../../lib/audio/window';
import { maxAbsErr, maxRelErr, randomSignal, refRng, refStft, refWindow, testSeed } from '../helpers/audio_ref';

const seed = testSeed('stft.test');
const rng = refRng(seed);

describe('windows', () => {
  test.each([1, 2, 7, 400, 401])('hann/hamming/rectangular of %i points match torch formulas', (n) => {
    for (const kind of ['hann', 'hamming', 'rectangular'] as const) {
      for (const periodic of [true, false]) {
        expect(maxAbsErr(makeWindow(kind, n, periodic), refWindow(kind, n, periodic))).toBeLessThan(1e-15);
      }
    }
  });

  test('povey = symmetric hann ^ 0.85; blackman formula', () => {
    const n = 400;
    const hann = refWindow('hann', n, false);
    expect(maxAbsErr(makeWindow('povey', n), hann.map((v) => v ** 0.85))).toBeLessThan(1e-15);
    const b = makeWindow('blackman', 9, false);
    for (let i = 0; i < 9; i++) {
      expect(b[i]).toBeCloseTo(0.42 - 0.5 * Math.cos((2 * Math.PI * i) / 8) + 0.08 * Math.cos((4 * Math.PI * i) / 8), 15);
    }
  });
});

describe('stft', () => {
  const cases = [
    { nFft: 400, hop: 160, winLength: 400, window: 'hann', center: true, padMode: 'reflect', n: 1601 },
    { nFft: 512, hop: 128, winLength: 400, window: 'hamming', center: true, padMode: 'constant', n: 2003 },
    { nFft: 97, hop: 31, winLength: 64, window: 'hann', center: false, padMode: 'reflect', n: 777 },
    { nFft: 64, hop: 1, winLength: 63, window: 'rectangular', center: true, padMode: 'reflect', n: 65 },
    { nFft: 7, hop: 3, winLength: 7, window: 'hann', center: true, padMode: 'reflect', n: 29 },
  ] as const;

  test.each(cases)('matches the direct framed DFT: %o', (c) => {
    const x = randomSignal(c.n + rng.int(0, 5), rng, Float64Array);
    const periodic = rng.uniform() < 0.5;
    const ref = refStft(x, { ...c, periodic });
    const out = stft(x, { nFft: c.nFft, hopLength: c.hop, winLength: c.winLength, window: c.window, center: c.center, padMode: c.padMode, periodic });
    expect(out.re).toBeInstanceOf(Float64Array);
    expect(out.frames).toBe(ref.frames);
    const bins = Math.floor(c.nFft / 2) + 1;
    expect(out.bins).toBe(bins);
    const refRe = new Float64Array(out.frames * bins);
    const refIm = new Float64Array(out.frames * bins);
    for (let t = 0; t < out.frames; t++) {
      refRe.set(ref.re.subarray(t * c.nFft, t * c.nFft + bins), t * bins);
      refIm.set(ref.im.subarray(t * c.nFft, t * c.nFft + bins), t * bins);
    }
    expect(maxRelErr(out.re, refRe)).toBeLessThan(1e-12);
    expect(maxRelErr(out.im, refIm)).toBeLessThan(1e-12);
    if (c.center && c.nFft % 2 === 0) expect(out.frames).toBe(1 + Math.floor(x.length / c.hop));
  });

  test('onesided = false gives all nFft bins; normalized scales by nFft^-0.5', () => {
    const x = randomSignal(500, rng, Float64Array);
    const o = { nFft: 60, hopLength: 15, winLength: 60, window: 'hann' as const, center: true, padMode: 'reflect' as const, periodic: true };
    const ref = refStft(x, { ...o, hop: 15 });
    const full = stft(x, { ...o, onesided: false, normalized: true });
    expect(full.bins).toBe(60);
    expect(maxRelErr(full.re, ref.re.map((v) => v / Math.sqrt(60)))).toBeLessThan(1e-12);
    expect(maxRelErr(full.im, ref.im.map((v) => v / Math.sqrt(60)))).toBeLessThan(1e-12);
  });

  test('Float32 input gives Float32 output within float32 rounding of the float64 result', () => {
    const x64 = randomSignal(3001, rng, Float64Array);
    const x32 = Float32Array.from(x64);
    const a = stft(x32, { nFft: 400, hopLength: 160 });
    const b = stft(Float64Array.from(x32), { nFft: 400, hopLength: 160 });
    expect(a.re).toBeInstanceOf(Float32Array);
    expect(maxRelErr(a.re, b.re)).toBeLessThan(1e-6);
  });

  test('spectrogram is |X|^power', () => {
    const x = randomSignal(999, rng, Float64Array);
    const s = stft(x, { nFft: 256, hopLength: 100 });
    for (const power of [1, 2, 0.5]) {
      const p = spectrogram(x, { nFft: 256, hopLength: 100, power });
      const want = s.re.map((r, i) => Math.hypot(r, s.im[i]) ** power);
      expect(maxRelErr(p.data, want)).toBeLessThan(1e-12);
    }
  });

  test('frame counts follow torch: center -> 1 + floor(n / hop)', () => {
    for (const n of [201, 1000, 16000, 16159, 16160]) {
      expect(stft(new Float32Array(n), { nFft: 400, hopLength: 160 }).frames).toBe(1 + Math.floor(n / 160));
      if (n >= 400) expect(stft(new Float32Array(n), { nFft: 400, hopLength: 160, center: false }).frames).toBe(1 + Math.floor((n - 400) / 160));
    }
  });
});

describe('istft', () => {
  test.each([
    [512, 128, 512, 'hann'],
    [400, 100, 400, 'hann'],
    [400, 160, 400, 'hann'], // not COLA: the envelope division still inverts it exactly
    [97, 20, 80, 'hamming'],
    [256, 64, 256, 'rectangular'],
  ] as const)('float64 round trip nFft %i hop %i win %i %s: relative error <= 1e-12', (nFft, hop, winLength, window) => {
    const n = rng.int(3 * nFft, 8 * nFft);
    const x = randomSignal(n, rng, Float64Array);
    const o = { nFft, hopLength: hop, winLength, window };
    const s = stft(x, o);
    const y = istft(s.re, s.im, s.frames, { ...o, length: n });
    expect(y).toBeInstanceOf(Float64Array);
    expect(y.length).toBe(n);
    expect(maxRelErr(y, x)).toBeLessThan(1e-12);
  });

  test('float32 round trip with a COLA window (periodic hann, hop nFft/4): relative error <= 1e-6', () => {
    const x = randomSignal(16000 + rng.int(0, 99), rng, Float32Array) as Float32Array;
    const o = { nFft: 512, hopLength: 128 };
    const s = stft(x, o);
    const y = istft(s.re, s.im, s.frames, { ...o, length: x.length });
    expect(y).toBeInstanceOf(Float32Array);
    expect(maxRelErr(y, x)).toBeLessThan(1e-6);
  });

  test('onesided = false, normalized and default length', () => {
    const x = randomSignal(1000, rng, Float64Array);
    const o = { nFft: 100, hopLength: 25, normalized: true };
    const s = stft(x, { ...o, onesided: false });
    const y = istft(s.re, s.im, s.frames, o);
    expect(y.length).toBe(100 + 25 * (s.frames - 1) - 100);
    expect(maxRelErr(y, x.subarray(0, y.length))).toBeLessThan(1e-12);
  });

  test('NOLA failure and shape errors throw [istft]', () => {
    const s = stft(randomSignal(1000, rng, Float64Array), { nFft: 64, hopLength: 64, window: 'hann', center: false });
    expect(() => istft(s.re, s.im, s.frames, { nFft: 64, hopLength: 64, center: false })).toThrow(/^\[istft\] window envelope is 0.00e\+0 at sample 0/);
    expect(() => istft(s.re, s.im, s.frames + 1, { nFft: 64, hopLength: 64 })).toThrow(/^\[istft\]/);
    expect(() => istft(s.re, s.im, s.frames, { nFft: 128, hopLength: 64 })).toThrow(/^\[istft\] expected 65 bins for nFft = 128/);
  });
});

describe('bad input', () => {
  test('stft checks its arguments', () => {
    const x = new Float32Array(1000);
    expect(() => stft(new Float32Array(0), { nFft: 400 })).toThrow(/^\[stft\] signal is empty/);
    expect(() => stft(x, { nFft: 400, winLength: 512 })).toThrow(/^\[stft\] winLength = 512 is more than nFft = 400/);
    expect(() => stft(x, { nFft: 400, hopLength: 0 })).toThrow(/^\[stft\] hopLength must be a positive integer, got 0/);
    expect(() => stft(x, { nFft: 400, hopLength: -3 })).toThrow(/^\[stft\] hopLength/);
    expect(() => stft(x, { nFft: 400, window: new Float32Array(10) })).toThrow(/^\[stft\] window has 10 coefficients, expected winLength = 400/);
    expect(() => stft(new Float32Array(100), { nFft: 400 })).toThrow(/^\[stft\] reflect padding of 200 samples needs a signal longer than 200/);
    expect(() => stft(new Float32Array(100), { nFft: 400, center: false })).toThrow(/^\[stft\] signal of 100 samples is shorter than nFft = 400/);
    expect(() => stft(x, { nFft: 400, padMode: 'edge' as 'reflect' })).toThrow(/^\[stft\] padMode must be/);
  });
});
