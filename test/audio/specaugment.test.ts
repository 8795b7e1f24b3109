/**
 * SpecAugment: masks stay inside valid lengths, padding is never touched, widths respect their
 * bounds, results are a function of the seed, time warp is a monotone piecewise-linear resample.
 */
import { specAugment } from '../../lib/audio/specaugment';
import { refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('specaugment.test');
const rng = refRng(seed);

function batch(B: number, T: number, F: number): { x: Float32Array; lengths: Int32Array } {
  // Values in [1, 2) so that a masked 0 is unambiguous.
  const x = Float32Array.from({ length: B * T * F }, () => 1 + rng.uniform());
  const lengths = Int32Array.from({ length: B }, (_, b) => (b === 0 ? T : rng.int(0, T)));
  return { x, lengths };
}

describe('specAugment', () => {
  test('masks only inside valid lengths; padding untouched; records match the data', () => {
    const [B, T, F] = [7, 123, 41];
    const { x, lengths } = batch(B, T, F);
    const s = rng.int(0, 1e9);
    const out = specAugment(x, [B, T, F], lengths, { seed: s, freqMasks: 3, freqMaskWidth: 13, timeMasks: 4, timeMaskWidth: 30 });
    expect(out.data).not.toBe(x);
    const expected = x.slice();
    for (const m of out.masks) {
      const L = lengths[m.item];
      if (m.axis === 'time') {
        expect(m.start).toBeGreaterThanOrEqual(0);
        expect(m.start + m.width).toBeLessThanOrEqual(L);
        expect(m.width).toBeLessThanOrEqual(30);
        for (let t = m.start; t < m.start + m.width; t++) expected.fill(0, (m.item * T + t) * F, (m.item * T + t + 1) * F);
      } else {
        expect(m.start + m.width).toBeLessThanOrEqual(F);
        expect(m.width).toBeLessThanOrEqual(13);
        for (let t = 0; t < L; t++) expected.fill(0, (m.item * T + t) * F + m.start, (m.item * T + t) * F + m.start + m.width);
      }
    }
    expect(Array.from(out.data)).toEqual(Array.from(expected));
    expect(out.masks.filter((m) => m.axis === 'freq').length).toBe(3 * B);
  });

  test('same seed gives the same result; another seed gives another', () => {
    const [B, T, F] = [4, 200, 80];
    const { x, lengths } = batch(B, T, F);
    const s = rng.int(0, 1e9);
    const o = { timeWarp: 5, timeMasks: 2, freqMasks: 2 };
    const a = specAugment(x, [B, T, F], lengths, { ...o, seed: s });
    const b = specAugment(x, [B, T, F], lengths, { ...o, seed: s });
    const c = specAugment(x, [B, T, F], lengths, { ...o, seed: s + 1 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(a.masks).toEqual(b.masks);
    expect(a.masks).not.toEqual(c.masks);
  });

  test('timeMaskProportion bounds the width by floor(p * length)', () => {
    const [B, T, F] = [16, 50, 8];
    const { x, lengths } = batch(B, T, F);
    const out = specAugment(x, [B, T, F], lengths, { seed: 3, timeMasks: 5, timeMaskWidth: 40, timeMaskProportion: 0.1, freqMasks: 0 });
    for (const m of out.masks) expect(m.width).toBeLessThanOrEqual(Math.floor(0.1 * lengths[m.item]));
  });

  test('mask widths cover the whole range [0, maxWidth] over many draws', () => {
    const { x, lengths } = batch(64, 100, 20);
    lengths.fill(100);
    const out = specAugment(x, [64, 100, 20], lengths, { seed: 11, freqMaskWidth: 4, timeMaskWidth: 4 });
    const widths = new Set(out.masks.map((m) => m.width));
    expect([...widths].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  test('maskValue mean writes the item mean over its valid frames', () => {
    const [B, T, F] = [2, 30, 5];
    const { x, lengths } = batch(B, T, F);
    lengths[1] = 20;
    const out = specAugment(x, [B, T, F], lengths, { seed: 1, maskValue: 'mean', freqMasks: 0, timeMasks: 1, timeMaskWidth: 10 });
    for (const m of out.masks.filter((mm) => mm.width > 0)) {
      let s = 0;
      for (let i = 0; i < lengths[m.item] * F; i++) s += x[m.item * T * F + i];
      expect(out.data[(m.item * T + m.start) * F]).toBeCloseTo(s / (lengths[m.item] * F), 5);
    }
  });

  test('time warp: padding untouched, frames 0 and L-1 kept, centre and target in range', () => {
    const [B, T, F] = [5, 150, 6];
    const { x, lengths } = batch(B, T, F);
    const out = specAugment(x, [B, T, F], lengths, { seed: rng.int(0, 1e6), timeWarp: 10, freqMasks: 0, timeMasks: 0 });
    expect(out.warps.length).toBe(Array.from(lengths).filter((L) => L >= 21).length);
    for (const w of out.warps) {
      const L = lengths[w.item];
      expect(w.center).toBeGreaterThanOrEqual(10);
      expect(w.center).toBeLessThanOrEqual(L - 11);
      expect(Math.abs(w.warped - w.center)).toBeLessThanOrEqual(10);
      expect(w.warped).toBeGreaterThanOrEqual(1);
      expect(w.warped).toBeLessThanOrEqual(L - 2);
      const base = w.item * T * F;
      for (let f = 0; f < F; f++) {
        expect(out.data[base + f]).toBeCloseTo(x[base + f], 6);
        expect(out.data[base + (L - 1) * F + f]).toBeCloseTo(x[base + (L - 1) * F + f], 6);
      }
    }
    for (let b = 0; b < B; b++) {
      for (let i = lengths[b] * F; i < T * F; i++) expect(out.data[b * T * F + i]).toBe(x[b * T * F + i]);
    }
  });

  test('time warp of a linear ramp in time stays piecewise linear and monotone', () => {
    const T = 100;
    const x = Float32Array.from({ length: T }, (_, t) => t);
    const out = specAugment(x, [1, T, 1], Int32Array.of(T), { seed: 9, timeWarp: 20, freqMasks: 0, timeMasks: 0 });
    const [w] = out.warps;
    for (let t = 1; t < T; t++) expect(out.data[t]).toBeGreaterThanOrEqual(out.data[t - 1]);
    // A ramp's value is its source position: s(t) = t c / w before w, then linear up to L - 1.
    for (let t = 0; t < T; t++) {
      const s = t <= w.warped ? (t * w.center) / w.warped : w.center + ((t - w.warped) * (T - 1 - w.center)) / (T - 1 - w.warped);
      expect(out.data[t]).toBeCloseTo(s, 4);
    }
    expect(out.data[w.warped]).toBeCloseTo(w.center, 5);
  });

  test('inPlace modifies the input', () => {
    const { x, lengths } = batch(2, 10, 4);
    lengths.fill(10);
    const out = specAugment(x, [2, 10, 4], lengths, { inPlace: true, seed: 2 });
    expect(out.data).toBe(x);
  });

  test('bad input throws [specAugment]', () => {
    const x = new Float32Array(2 * 10 * 4);
    expect(() => specAugment(x, [2, 10, 5], Int32Array.of(10, 10))).toThrow('[specAugment] features has 80 values, expected B*T*F = 2*10*5 = 100');
    expect(() => specAugment(x, [2, 10, 4], Int32Array.of(10, 11))).toThrow('[specAugment] lengths[1] = 11 is outside [0, T = 10]');
    expect(() => specAugment(x, [2, 10, 4], Int32Array.of(10))).toThrow('[specAugment] lengths must be an Int32Array of 2 values');
    expect(() => specAugment(x, [2, 10, 4], Int32Array.of(10, 10), { timeMasks: -1 })).toThrow('[specAugment] timeMasks must be a non-negative integer, got -1');
    expect(() => specAugment(x, [2, 10, 4], Int32Array.of(10, 10), { timeMaskProportion: 2 })).toThrow('[specAugment] timeMaskProportion must be in [0, 1], got 2');
  });
});
