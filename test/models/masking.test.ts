// computeMaskIndices: the masked fraction over many draws vs an exact float64 expectation derived
// from fairseq's formula (span count with probabilistic rounding, starts without replacement,
// overlapping spans), never inside padding, same-count trimming, min_masks, no-overlap spacing,
// seeded reproducibility, and bad input.
import { Rng } from '../../lib/audio/rng';
import { computeMaskIndices, maskTensor } from '../../lib/models/masking';

/** Exact E[masked fraction] of one item of length sz (static spans, fairseq formula), float64:
 *  n = max(minMasks, floor(p·sz/L + u)); starts: n of M = sz - L positions without replacement
 *  (M = n + 1 when sz - L <= n); frame t is unmasked iff no start lies in [t - L + 1, t]. */
function expectedFraction(sz: number, p: number, L: number, minMasks: number): number {
  const x = (p * sz) / L, f = x - Math.floor(x);
  const dist: [number, number][] = [[Math.floor(x), 1 - f], [Math.floor(x) + 1, f]];
  let e = 0;
  for (const [n0, w] of dist) {
    if (w === 0) continue;
    const n = Math.max(minMasks, n0);
    if (n === 0) continue;
    let minLen = L;
    if (sz - minLen <= n) minLen = sz - n - 1;
    const M = sz - minLen;
    let masked = 0;
    for (let t = 0; t < sz; ++t) {
      const lo = Math.max(0, t - L + 1), hi = Math.min(t, M - 1);
      const c = Math.max(0, hi - lo + 1);
      let pUn = 1;
      for (let i = 0; i < n; ++i) pUn *= Math.max(0, M - c - i) / (M - i);
      masked += 1 - pUn;
    }
    e += (w * masked) / sz;
  }
  return e;
}

describe('computeMaskIndices', () => {
  test.each([
    [400, 0.65, 10, 2],
    [129, 0.65, 10, 2],
    [37, 0.3, 5, 0],
    [7, 0.8, 3, 1],
  ])('masked fraction over many draws matches the exact expectation (T %d, p %d, L %d, min %d)', (T, p, L, minMasks) => {
    const rng = new Rng(1234 + T);
    const draws = 3000;
    let sum = 0, sumSq = 0;
    for (let i = 0; i < draws; ++i) {
      const m = computeMaskIndices([1, T], null, { maskProb: p, maskLength: L, minMasks, rng });
      const f = m.counts[0] / T;
      sum += f;
      sumSq += f * f;
    }
    const mean = sum / draws, sd = Math.sqrt(Math.max(sumSq / draws - mean * mean, 1e-12));
    const want = expectedFraction(T, p, L, minMasks);
    // 5 standard errors: fails for a wrong formula (e.g. starts with replacement, or no rounding:
    // 0.49 vs 0.52 at T 400), holds for every seed with probability > 1 - 1e-6.
    expect(Math.abs(mean - want)).toBeLessThan(5 * sd / Math.sqrt(draws) + 1e-9);
  });

  test('HuBERT defaults mask about half of a long utterance, below mask_prob because spans overlap', () => {
    const want = expectedFraction(1000, 0.65, 10, 2);
    expect(want).toBeGreaterThan(0.45);
    expect(want).toBeLessThan(0.55);
  });

  test('never inside padding; each row of its own length; last valid frame never masked (fairseq)', () => {
    const lengths = [50, 13, 1, 49, 30];
    const T = 50;
    for (let seed = 0; seed < 200; ++seed) {
      const m = computeMaskIndices([5, T], Int32Array.from(lengths), { maskProb: 0.65, maskLength: 10, minMasks: 2, seed, sameCount: false });
      lengths.forEach((n, b) => {
        let c = 0;
        for (let t = 0; t < T; ++t) {
          if (m.mask[b * T + t]) {
            c += 1;
            if (t >= n) throw new Error(`seed ${seed}: row ${b} masked at ${t} >= length ${n}`);
          }
        }
        expect(c).toBe(m.counts[b]);
        if (n >= 12) expect(m.mask[b * T + n - 1]).toBe(0);
        if (n >= 2) expect(c).toBeGreaterThan(0); // min_masks 2
      });
    }
  });

  test('per-row fraction with padding follows the formula at each row\'s own length', () => {
    const lengths = [200, 60], T = 200, draws = 2000, sums = [0, 0];
    const rng = new Rng(99);
    for (let i = 0; i < draws; ++i) {
      const m = computeMaskIndices([2, T], lengths, { maskProb: 0.65, maskLength: 10, minMasks: 2, rng, sameCount: false });
      sums[0] += m.counts[0] / 200;
      sums[1] += m.counts[1] / 60;
    }
    expect(Math.abs(sums[0] / draws - expectedFraction(200, 0.65, 10, 2))).toBeLessThan(0.006);
    expect(Math.abs(sums[1] / draws - expectedFraction(60, 0.65, 10, 2))).toBeLessThan(0.01);
  });

  test('sameCount (fairseq require_same_masks) trims every row to the smallest count, within its own mask', () => {
    const lengths = [80, 31, 64];
    for (let seed = 0; seed < 50; ++seed) {
      const full = computeMaskIndices([3, 80], lengths, { maskProb: 0.65, maskLength: 10, minMasks: 2, seed, sameCount: false });
      const same = computeMaskIndices([3, 80], lengths, { maskProb: 0.65, maskLength: 10, minMasks: 2, seed });
      const minC = Math.min(...full.counts);
      expect(Array.from(same.counts)).toEqual([minC, minC, minC]);
      // Same generator order up to the trimming: a trimmed row is a subset of the untrimmed one.
      for (let i = 0; i < same.mask.length; ++i) if (same.mask[i]) expect(full.mask[i]).toBe(1);
    }
  });

  test('seeded: same seed, same mask; another seed, another mask; a shared Rng advances', () => {
    const o = { maskProb: 0.65, maskLength: 10, minMasks: 2 };
    const a = computeMaskIndices([3, 129], [129, 100, 77], { ...o, seed: 7 });
    const b = computeMaskIndices([3, 129], [129, 100, 77], { ...o, seed: 7 });
    const c = computeMaskIndices([3, 129], [129, 100, 77], { ...o, seed: 8 });
    expect(Buffer.from(a.mask).equals(Buffer.from(b.mask))).toBe(true);
    expect(Buffer.from(a.mask).equals(Buffer.from(c.mask))).toBe(false);
    const rng = new Rng(7);
    const r1 = computeMaskIndices([3, 129], null, { ...o, rng });
    const r2 = computeMaskIndices([3, 129], null, { ...o, rng });
    expect(Buffer.from(r1.mask).equals(Buffer.from(r2.mask))).toBe(false);
  });

  test('min_masks guarantees spans on a short item; zero probability and no min gives no mask', () => {
    for (let seed = 0; seed < 100; ++seed) {
      const m = computeMaskIndices([1, 25], null, { maskProb: 0.01, maskLength: 5, minMasks: 2, seed });
      expect(m.counts[0]).toBeGreaterThanOrEqual(5); // 2 spans of 5, overlapping at worst into one of 5
    }
    const z = computeMaskIndices([2, 25], null, { maskProb: 0, maskLength: 5, seed: 1 });
    expect(Array.from(z.counts)).toEqual([0, 0]);
  });

  test('an empty item gets no mask and (fairseq) empties its batch under sameCount', () => {
    const m = computeMaskIndices([2, 40], [40, 0], { maskProb: 0.65, maskLength: 10, minMasks: 2, seed: 3 });
    expect(Array.from(m.counts)).toEqual([0, 0]);
    const k = computeMaskIndices([2, 40], [40, 0], { maskProb: 0.65, maskLength: 10, minMasks: 2, seed: 3, sameCount: false });
    expect(k.counts[0]).toBeGreaterThan(0);
    expect(k.counts[1]).toBe(0);
  });

  test('noOverlap places disjoint spans at least minSpace apart', () => {
    for (let seed = 0; seed < 100; ++seed) {
      const m = computeMaskIndices([1, 300], null, { maskProb: 0.4, maskLength: 10, noOverlap: true, minSpace: 3, seed });
      const runs: [number, number][] = [];
      for (let t = 0; t < 300; ++t) {
        if (m.mask[t] && (t === 0 || !m.mask[t - 1])) runs.push([t, t]);
        if (m.mask[t]) runs[runs.length - 1][1] = t;
      }
      for (const [s, e] of runs) expect((e - s + 1) % 10).toBe(0); // whole spans (adjacent ones would merge)
      for (let i = 1; i < runs.length; ++i) expect(runs[i][0] - runs[i - 1][1] - 1).toBeGreaterThanOrEqual(3);
      // floor(0.4 * 300 / 10 + u) = 12 spans, all placed (300 frames leave room for 12 x 13)
      expect(m.counts[0]).toBe(120);
    }
  });

  test('other span types: lengths follow their distribution', () => {
    let totalUniform = 0;
    for (let seed = 0; seed < 200; ++seed) {
      const m = computeMaskIndices([1, 1000], null, { maskProb: 0.1, maskLength: 10, maskType: 'uniform', maskOther: 2, noOverlap: true, seed });
      totalUniform += m.counts[0];
    }
    // 10 spans of randint(2, 21) -> mean 11 frames each
    expect(totalUniform / 200).toBeGreaterThan(100);
    expect(totalUniform / 200).toBeLessThan(120);
    for (const maskType of ['normal', 'poisson'] as const) {
      const m = computeMaskIndices([2, 300], null, { maskProb: 0.3, maskLength: 8, maskType, maskOther: 2, seed: 5 });
      expect(m.counts[0]).toBeGreaterThan(0);
    }
  });

  test('maskTensor gives the (B, T) float 0/1 tensor', () => {
    const m = computeMaskIndices([2, 17], [17, 9], { maskProb: 0.5, maskLength: 3, seed: 11 });
    const t = maskTensor(m);
    expect(t.shape).toEqual([2, 17]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(m.mask));
  });

  test('bad input names the function and what was expected', () => {
    const o = { maskProb: 0.65, maskLength: 10 };
    expect(() => computeMaskIndices([2], null, o)).toThrow(/\[computeMaskIndices\] shape must be \[B, T\]/);
    expect(() => computeMaskIndices([2, 10], null, { ...o, maskProb: 1.5 })).toThrow(/maskProb must be in \[0, 1\], got 1.5/);
    expect(() => computeMaskIndices([2, 10], null, { ...o, maskLength: 0 })).toThrow(/maskLength must be an integer >= 1, got 0/);
    expect(() => computeMaskIndices([2, 10], [10], o)).toThrow(/lengths must have B = 2 entries, got 1/);
    expect(() => computeMaskIndices([2, 10], [10, 11], o)).toThrow(/lengths\[1\] = 11 is outside \[0, T = 10\]/);
    expect(() => computeMaskIndices([2, 10], null, { ...o, maskType: 'x' as never })).toThrow(/maskType must be/);
  });
});
