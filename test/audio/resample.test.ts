/**
 * Resampling: agreement with torchaudio's algorithm written out in full (dense kernel matrix,
 * strided correlation), round-trip quality on a tone, lengths, array types, bad input.
 */
import { besselI0, gcd, resample, resampleKernel } from '../../lib/audio/resample';
import { maxAbsErr, randomSignal, refResample, refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('resample.test');
const rng = refRng(seed);

/** SNR in dB of `y` against `x` over [a, b). */
function snrDb(x: ArrayLike<number>, y: ArrayLike<number>, a = 0, b = x.length): number {
  let s = 0;
  let e = 0;
  for (let i = a; i < b; i++) {
    s += x[i] ** 2;
    e += (x[i] - y[i]) ** 2;
  }
  return 10 * Math.log10(s / e);
}

describe('resample', () => {
  test.each([
    [16000, 44100, true],
    [44100, 16000, true],
    [22050, 16000, false],
    [16000, 8000, true],
    [8000, 12000, false],
    [48000, 16000, true],
    [11025, 8000, true],
    [7, 5, true],
  ])('%i -> %i (kaiser %s) matches torchaudio\'s dense-kernel algorithm', (from, to, kaiser) => {
    const n = rng.int(50, 700);
    const x = randomSignal(n, rng, Float64Array);
    const y = resample(x, from, to, { method: kaiser ? 'sinc_interp_kaiser' : 'sinc_interp_hann' });
    const ref = refResample(x, from, to, 6, 0.99, kaiser);
    expect(y.length).toBe(Math.ceil((n * to) / from));
    expect(y.length).toBe(ref.length);
    // Same taps, different summation order (dropped exact-zero taps): float64 rounding only.
    expect(maxAbsErr(y, ref)).toBeLessThan(1e-12);
  });

  test('lowpassFilterWidth and rolloff change the kernel as in torchaudio', () => {
    const x = randomSignal(301, rng, Float64Array);
    const y = resample(x, 16000, 24000, { lowpassFilterWidth: 16, rolloff: 0.9 });
    expect(maxAbsErr(y, refResample(x, 16000, 24000, 16, 0.9, true))).toBeLessThan(1e-12);
  });

  // The zero padding outside the signal turns an abrupt start into a step that no band-limited
  // resampler can keep (it measures ~50 dB for a tone starting at full amplitude), so the
  // full-signal figure uses a tone faded in and out over 10 ms; the raw tone is judged away from
  // its edges.
  test('1 kHz tone 16 k -> 44.1 k -> 16 k keeps >= 60 dB SNR', () => {
    const n = 16000 + rng.int(0, 999); // ~1 s, odd lengths too
    const phase = rng.uniform() * 2 * Math.PI;
    const ramp = 160;
    const raw = new Float32Array(n);
    const faded = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      raw[i] = 0.8 * Math.sin((2 * Math.PI * 1000 * i) / 16000 + phase);
      const edge = Math.min(i, n - 1 - i);
      faded[i] = raw[i] * (edge < ramp ? 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp) : 1);
    }
    const roundTrip = (x: Float32Array): Float32Array => resample(resample(x, 16000, 44100), 44100, 16000);
    const backRaw = roundTrip(raw);
    const backFaded = roundTrip(faded);
    expect(backRaw).toBeInstanceOf(Float32Array);
    expect(backRaw.length).toBe(Math.ceil((Math.ceil((n * 441) / 160) * 160) / 441)); // n or n + 1
    const full = snrDb(faded, backFaded);
    const interior = snrDb(raw, backRaw, 160, n - 160);
    const rawFull = snrDb(raw, backRaw);
    // eslint-disable-next-line no-console
    console.log(`resample 16k->44.1k->16k SNR: faded tone ${full.toFixed(1)} dB, raw tone interior ` +
      `${interior.toFixed(1)} dB, raw tone with edges ${rawFull.toFixed(1)} dB`);
    expect(full).toBeGreaterThanOrEqual(60);
    expect(interior).toBeGreaterThanOrEqual(100); // float32 storage limits it (~140 dB)
  });

  // lpw = 6 (torchaudio's default) with beta 14.77 has a transition band several kHz wide at
  // 16 k -> 8 k (6 kHz is only ~48 dB down); lpw = 64 (resampy's kaiser_best) is sharp.
  test('with lowpassFilterWidth 64 a tone above the new Nyquist is removed, one below passes', () => {
    const n = 8000;
    const tone = (f: number): Float64Array => Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / 16000));
    const rms = (v: ArrayLike<number>, a: number, b: number): number => {
      let s = 0;
      for (let i = a; i < b; i++) s += v[i] ** 2;
      return Math.sqrt(s / (b - a));
    };
    const stop = resample(tone(6000), 16000, 8000, { lowpassFilterWidth: 64 }); // 6 kHz > 4 kHz Nyquist
    const pass = resample(tone(1000), 16000, 8000, { lowpassFilterWidth: 64 });
    expect(20 * Math.log10(rms(stop, 300, 3700) / Math.SQRT1_2)).toBeLessThan(-80);
    expect(Math.abs(20 * Math.log10(rms(pass, 300, 3700) / Math.SQRT1_2))).toBeLessThan(0.01);
  });

  test('equal rates copy; Float64 in gives Float64 out; empty input gives empty output', () => {
    const x = randomSignal(33, rng);
    const y = resample(x, 16000, 16000);
    expect(y).not.toBe(x);
    expect(Array.from(y)).toEqual(Array.from(x));
    expect(resample(new Float64Array(10), 8000, 16000)).toBeInstanceOf(Float64Array);
    expect(resample(new Float32Array(0), 8000, 16000).length).toBe(0);
  });

  test('kernels are cached and have unit DC gain per phase', () => {
    const k = resampleKernel(22050, 16000);
    expect(resampleKernel(22050, 16000)).toBe(k);
    expect(k.orig).toBe(441);
    expect(k.new).toBe(320);
    for (const taps of k.taps) {
      const sum = taps.reduce((s, v) => s + v, 0);
      expect(Math.abs(sum - 1)).toBeLessThan(2e-3); // windowed sinc: ~1 within the passband ripple
    }
  });

  test('helpers: gcd and besselI0', () => {
    expect(gcd(44100, 16000)).toBe(100);
    expect(gcd(22050, 16000)).toBe(50);
    expect(besselI0(0)).toBe(1);
    // I0(1) = 1.2660658777520082 (Abramowitz & Stegun table 9.8)
    expect(besselI0(1)).toBeCloseTo(1.2660658777520082, 14);
  });

  test('bad input throws [resample] ...', () => {
    const x = new Float32Array(10);
    expect(() => resample(x, NaN, 16000)).toThrow(/^\[resample\] fromRate must be a finite sample rate > 0, got NaN/);
    expect(() => resample(x, 16000, 0)).toThrow(/^\[resample\] toRate must be a finite sample rate > 0/);
    expect(() => resample(x, 16000.5, 8000)).toThrow(/^\[resample\] fromRate must be an integer number of Hz/);
    expect(() => resample(x, 16000, 8000, { rolloff: 1.5 })).toThrow(/^\[resample\] rolloff must be in/);
    expect(() => resample([1, 2] as unknown as Float32Array, 16000, 8000)).toThrow(/^\[resample\] signal must be a Float32Array/);
    expect(() => resample(Float32Array.of(1, NaN), 16000, 8000)).toThrow(/^\[resample\] signal\[1\] = NaN is not finite/);
  });
});
