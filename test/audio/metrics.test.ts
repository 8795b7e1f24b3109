/**
 * Mixing at an SNR and enhancement metrics against closed-form values.
 */
import { logSpectralDistance, mixAtSnr, segmentalSnr, siSdr, snr } from '../../lib/audio/metrics';
import { randomSignal, refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('metrics.test');
const rng = refRng(seed);

function energy(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

describe('mixAtSnr', () => {
  test.each([-10, -5, 0, 3.7, 10, 20, 40])('SNR %d dB is met within 0.01 dB (looped and cropped noise)', (target) => {
    const clean = randomSignal(rng.int(1000, 20000), rng, Float32Array);
    for (const noiseLen of [rng.int(100, 999), rng.int(25000, 40000)]) {
      const noise = randomSignal(noiseLen, rng, Float32Array).map((v) => v * 7);
      const out = mixAtSnr(clean, noise, target, { seed: rng.int(0, 1e6) });
      expect(out.mixture).toBeInstanceOf(Float32Array);
      expect(out.mixture.length).toBe(clean.length);
      const measured = 10 * Math.log10(energy(clean) / energy(out.noise));
      expect(Math.abs(measured - target)).toBeLessThan(0.01);
      const d = Float64Array.from(out.mixture, (v, i) => v - clean[i]);
      expect(Math.abs(10 * Math.log10(energy(clean) / energy(d)) - target)).toBeLessThan(0.01);
      expect(snr(clean, out.noise)).toBeCloseTo(measured, 10);
    }
  });

  test('noise is read from the offset and wraps around', () => {
    const clean = Float64Array.of(1, 1, 1, 1, 1);
    const noise = Float64Array.of(1, 2, 3);
    const out = mixAtSnr(clean, noise, 0, { offset: 2 });
    const s = out.scale;
    expect(Array.from(out.noise)).toEqual([3 * s, 1 * s, 2 * s, 3 * s, 1 * s]);
    expect(s).toBeCloseTo(Math.sqrt(5 / (9 + 1 + 4 + 9 + 1)), 15);
  });

  test('bad input', () => {
    const x = new Float32Array(10).fill(1);
    expect(() => mixAtSnr(new Float32Array(10), x, 0)).toThrow('[mixAtSnr] clean signal has zero energy; SNR is undefined');
    expect(() => mixAtSnr(x, new Float32Array(10), 0)).toThrow('[mixAtSnr] noise segment has zero energy; cannot reach a finite SNR');
    expect(() => mixAtSnr(x, x, NaN)).toThrow('[mixAtSnr] snrDb must be a finite number, got NaN');
    expect(() => mixAtSnr(x, x, 0, { offset: 10 })).toThrow('[mixAtSnr] offset must be an integer in [0, 10), got 10');
  });
});

describe('siSdr', () => {
  test('a scaled copy scores huge; orthogonal noise gives 10 log10(|ref|^2 / |noise|^2)', () => {
    const ref = randomSignal(rng.int(1000, 5000), rng, Float64Array);
    const scaled = ref.map((v) => v * 0.37);
    expect(siSdr(scaled, ref)).toBeGreaterThan(250); // float64: error ~1e-16 relative
    expect(siSdr(Float32Array.from(scaled), Float32Array.from(ref))).toBeGreaterThan(120); // float32 rounding
    // Noise made orthogonal to the zero-mean ref and zero-mean itself: SI-SDR is exact.
    const n = ref.length;
    const mr = ref.reduce((s, v) => s + v, 0) / n;
    const r0 = ref.map((v) => v - mr);
    let noise = randomSignal(n, rng, Float64Array);
    const mn = noise.reduce((s, v) => s + v, 0) / n;
    noise = noise.map((v) => v - mn);
    const proj = noise.reduce((s, v, i) => s + v * r0[i], 0) / energy(r0);
    noise = noise.map((v, i) => 0.3 * (v - proj * r0[i]));
    const est = ref.map((v, i) => 2 * v + noise[i]); // any gain: scale-invariant
    const want = 10 * Math.log10(energy(r0.map((v) => 2 * v)) / energy(noise));
    expect(siSdr(est, ref)).toBeCloseTo(want, 8);
  });

  test('zeroMean: false keeps DC in the projection', () => {
    const ref = Float64Array.of(1, 1, 1, 1);
    expect(() => siSdr(ref, ref)).toThrow('[siSdr] ref has zero energy (after mean removal); SI-SDR is undefined');
    expect(siSdr(ref.map((v) => 3 * v), ref, { zeroMean: false })).toBe(Infinity);
  });

  test('length mismatch throws', () => {
    expect(() => siSdr(new Float32Array(3), new Float32Array(4))).toThrow('[siSdr] signals must have the same length, got 3 and 4');
  });
});

describe('segmentalSnr', () => {
  test('constant per-frame SNR gives that SNR; clamps at -10 and 35 dB', () => {
    const ref = randomSignal(16000, rng, Float64Array);
    const est = ref.map((v) => v * (1 - 0.1)); // error = 0.1 ref in every frame: 20 dB
    const r = segmentalSnr(est, ref);
    expect(r.frames.length).toBe(1 + Math.floor((16000 - 480) / 120));
    expect(r.mean).toBeCloseTo(20, 8);
    expect(segmentalSnr(ref.map((v) => v * 0.9999), ref).mean).toBe(35);
    expect(segmentalSnr(ref.map((v) => -5 * v), ref).mean).toBe(-10);
  });

  test('options and errors', () => {
    const ref = randomSignal(1000, rng, Float64Array);
    const est = ref.map((v) => v * 0.5); // 6.02 dB
    const r = segmentalSnr(est, ref, { frameLength: 100, hopLength: 100 });
    expect(r.frames.length).toBe(10);
    expect(r.mean).toBeCloseTo(20 * Math.log10(2), 8);
    expect(() => segmentalSnr(est.subarray(0, 100), ref.subarray(0, 100))).toThrow('[segmentalSnr] signals of 100 samples are shorter than one frame of 480');
  });
});

describe('logSpectralDistance', () => {
  test('identical signals give 0; a gain g gives |log10 g^2| (or 10x in dB)', () => {
    const ref = randomSignal(rng.int(4000, 8000), rng, Float64Array);
    expect(logSpectralDistance(ref, ref)).toBe(0);
    const g = 0.5 + rng.uniform();
    const est = ref.map((v) => v * g);
    // eps = 1e-30 keeps the offset negligible next to the power of white noise bins (~1e1..1e3).
    expect(logSpectralDistance(est, ref, { eps: 1e-30 })).toBeCloseTo(Math.abs(Math.log10(g * g)), 8);
    expect(logSpectralDistance(est, ref, { eps: 1e-30, db: true })).toBeCloseTo(10 * Math.abs(Math.log10(g * g)), 7);
  });

  test('mismatched lengths throw', () => {
    expect(() => logSpectralDistance(new Float32Array(1000), new Float32Array(999))).toThrow(/^\[logSpectralDistance\] signals must have the same length/);
  });
});
