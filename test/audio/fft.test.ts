/**
 * FFT of any size against a naive O(n^2) float64 DFT: complex forward/inverse, real forward and
 * inverse, plan caching, bad input. Sizes cover radix 2/3/4/5, primes and Bluestein paths.
 */
import { fft, fftPlan, ifft, irfft, realFftPlan, rfft } from '../../lib/audio/fft';
import { maxAbsErr, maxRelErr, naiveDft, refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('fft.test');
const rng = refRng(seed);
const rand = (n: number): Float64Array => Float64Array.from({ length: n }, () => rng.normal());

// Float64 throughout; the naive DFT's own error grows ~ n * 1e-16, so 1e-12 relative to the
// largest bin leaves room at n = 2049 while catching any wrong twiddle (errors ~ 1e-1).
const TOL = 1e-12;
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 25, 30, 97, 100, 128, 243, 400, 512, 625, 1000, 2049];

describe('complex fft', () => {
  test.each(SIZES)('n = %i matches the naive DFT', (n) => {
    const re = rand(n);
    const im = rand(n);
    const ref = naiveDft(re, im);
    const out = fft(re, im);
    const scale = Math.max(...ref.re.map(Math.abs), ...ref.im.map(Math.abs)); // largest |X_k| part
    expect(maxAbsErr(out.re, ref.re) / scale).toBeLessThan(TOL);
    expect(maxAbsErr(out.im, ref.im) / scale).toBeLessThan(TOL);
  });

  test.each(SIZES)('n = %i: ifft inverts fft and matches the naive inverse DFT', (n) => {
    const re = rand(n);
    const im = rand(n);
    const ref = naiveDft(re, im, -1);
    const inv = ifft(re, im);
    for (let k = 0; k < n; k++) {
      expect(Math.abs(inv.re[k] - ref.re[k] / n)).toBeLessThan(1e-12 * Math.sqrt(n));
      expect(Math.abs(inv.im[k] - ref.im[k] / n)).toBeLessThan(1e-12 * Math.sqrt(n));
    }
    const back = ifft(fft(re, im).re, fft(re, im).im);
    expect(maxRelErr(back.re, re)).toBeLessThan(1e-13);
    expect(maxRelErr(back.im, im)).toBeLessThan(1e-13);
  });

  test('in-place and out-of-place plan transforms agree', () => {
    for (const n of [400, 97, 512, 30]) {
      const plan = fftPlan(n);
      const re = rand(n);
      const im = rand(n);
      const oRe = new Float64Array(n);
      const oIm = new Float64Array(n);
      plan.transform(re, im, oRe, oIm);
      const ipRe = re.slice();
      const ipIm = im.slice();
      plan.transform(ipRe, ipIm, ipRe, ipIm);
      expect(Array.from(ipRe)).toEqual(Array.from(oRe));
      expect(Array.from(ipIm)).toEqual(Array.from(oIm));
    }
  });

  test('plans are cached by size; radix and Bluestein plans are chosen by factors', () => {
    expect(fftPlan(400)).toBe(fftPlan(400));
    expect(fftPlan(400).factors).toEqual([4, 4, 5, 5]);
    expect(fftPlan(512).factors).toEqual([4, 4, 4, 4, 2]);
    expect(fftPlan(97).factors).toEqual([]); // prime: Bluestein
    expect(fftPlan(2049).factors).toEqual([]); // 3 * 683: Bluestein
    expect(realFftPlan(400)).toBe(realFftPlan(400));
  });

  test('delta and constant transform to constant and delta', () => {
    const n = 400;
    const d = new Float64Array(n);
    d[0] = 1;
    const D = fft(d);
    expect(Math.max(...D.re.map((v) => Math.abs(v - 1)))).toBeLessThan(1e-15);
    const c = fft(new Float64Array(n).fill(1));
    expect(c.re[0]).toBeCloseTo(n, 10);
    expect(Math.max(...c.re.slice(1).map(Math.abs), ...c.im.map(Math.abs))).toBeLessThan(1e-12);
  });
});

describe('real fft', () => {
  test.each(SIZES)('n = %i: rfft matches the naive DFT bins 0..n/2, irfft inverts it', (n) => {
    const x = rand(n);
    const ref = naiveDft(x, null);
    const out = rfft(x);
    const bins = Math.floor(n / 2) + 1;
    expect(out.re.length).toBe(bins);
    const scale = Math.max(...ref.re.map(Math.abs), ...ref.im.map(Math.abs));
    for (let k = 0; k < bins; k++) {
      expect(Math.abs(out.re[k] - ref.re[k]) / scale).toBeLessThan(TOL);
      expect(Math.abs(out.im[k] - ref.im[k]) / scale).toBeLessThan(TOL);
    }
    const back = irfft(out.re, out.im, n);
    expect(maxRelErr(back, x)).toBeLessThan(1e-13);
  });

  test('irfft ignores the imaginary part of DC and Nyquist, as torch.fft.irfft', () => {
    const x = rand(16);
    const X = rfft(x);
    const im = X.im.slice();
    im[0] = 5;
    im[8] = -3;
    expect(maxRelErr(irfft(X.re, im, 16), x)).toBeLessThan(1e-14);
  });
});

describe('bad input', () => {
  test('empty, mismatched, non-integer sizes throw with the op name', () => {
    expect(() => fft([])).toThrow(/^\[fft\] input is empty/);
    expect(() => fft([1, 2], [1])).toThrow(/^\[fft\] re and im must have the same length/);
    expect(() => rfft([])).toThrow(/^\[rfft\]/);
    expect(() => irfft([1, 2, 3], [0, 0, 0], 7)).toThrow(/^\[irfft\] n = 7 needs 4 bins, got 3/);
    expect(() => fftPlan(0)).toThrow(/^\[fft\] n must be a positive integer, got 0/);
    expect(() => fftPlan(2.5)).toThrow(/^\[fft\]/);
  });
});
