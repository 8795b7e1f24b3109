/**
 * CMVN: per-utterance statistics, streaming accumulation equal to a two-pass float64 computation
 * over the concatenated data (also with a huge offset, where naive sums cancel), merge, batch with
 * lengths, JSON save/load.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cmvn, cmvnBatch, CmvnStats } from '../../lib/audio/cmvn';
import { refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('cmvn.test');
const rng = refRng(seed);

function twoPass(rows: Float64Array[], D: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(D);
  const variance = new Float64Array(D);
  let n = 0;
  for (const r of rows) for (let i = 0; i < r.length; i++) mean[i % D] += r[i];
  for (const r of rows) n += r.length / D;
  for (let d = 0; d < D; d++) mean[d] /= n;
  for (const r of rows) for (let i = 0; i < r.length; i++) variance[i % D] += (r[i] - mean[i % D]) ** 2;
  for (let d = 0; d < D; d++) variance[d] /= n;
  return { mean, variance };
}

describe('cmvn', () => {
  test('per-utterance: each dimension has mean 0 and variance 1', () => {
    const T = rng.int(5, 300);
    const D = rng.int(1, 40);
    const x = Float32Array.from({ length: T * D }, (_, i) => 3 * rng.normal() + (i % D));
    const y = cmvn(x, T, D);
    const { mean, variance } = twoPass([Float64Array.from(y)], D);
    for (let d = 0; d < D; d++) {
      expect(Math.abs(mean[d])).toBeLessThan(1e-5);
      expect(Math.abs(variance[d] - 1)).toBeLessThan(1e-4);
    }
    const m = cmvn(x, T, D, { normVars: false });
    expect(Math.abs(twoPass([Float64Array.from(m)], D).variance[0] - twoPass([Float64Array.from(x)], D).variance[0])).toBeLessThan(1e-3);
  });

  test('streaming stats over many chunks equal two-pass stats, even at a 1e8 offset', () => {
    const D = 7;
    for (const offset of [0, 1e8]) {
      const stats = new CmvnStats(D);
      const chunks: Float64Array[] = [];
      for (let c = 0; c < 50; c++) {
        const T = rng.int(0, 60);
        const x = Float64Array.from({ length: T * D }, (_, i) => offset + rng.normal() * (1 + (i % D)));
        chunks.push(x);
        stats.accumulate(x);
      }
      const ref = twoPass(chunks, D);
      expect(stats.count).toBe(chunks.reduce((s, c) => s + c.length / D, 0));
      const mean = stats.mean();
      const variance = stats.variance();
      for (let d = 0; d < D; d++) {
        expect(Math.abs(mean[d] - ref.mean[d])).toBeLessThan(1e-12 * Math.max(1, offset));
        expect(Math.abs(variance[d] - ref.variance[d]) / ref.variance[d]).toBeLessThan(1e-6);
      }
    }
  });

  test('merge of two accumulators equals accumulating everything in one', () => {
    const D = 3;
    const a = new CmvnStats(D);
    const b = new CmvnStats(D);
    const all = new CmvnStats(D);
    for (let i = 0; i < 20; i++) {
      const x = Float64Array.from({ length: rng.int(1, 30) * D }, () => rng.normal() * 5 + 2);
      (i % 2 ? a : b).accumulate(x);
      all.accumulate(x);
    }
    a.merge(b);
    expect(a.count).toBe(all.count);
    for (let d = 0; d < D; d++) {
      expect(a.mean()[d]).toBeCloseTo(all.mean()[d], 12);
      expect(a.variance()[d]).toBeCloseTo(all.variance()[d], 10);
    }
  });

  test('apply normalises with the global statistics', () => {
    const D = 4;
    const stats = new CmvnStats(D);
    const x = Float32Array.from({ length: 200 * D }, () => rng.normal() * 2 + 1);
    stats.accumulate(x);
    const y = stats.apply(x);
    const m = stats.mean();
    const s = stats.std();
    for (let i = 0; i < 20; i++) expect(y[i]).toBeCloseTo((x[i] - m[i % D]) / s[i % D], 5);
  });

  test('batch: each item normalised over its valid frames; padding becomes 0; accumulateBatch skips padding', () => {
    const [B, T, D] = [3, 20, 5];
    const x = Float32Array.from({ length: B * T * D }, () => rng.normal() + 10);
    const lengths = Int32Array.of(20, 7, 0);
    const y = cmvnBatch(x, [B, T, D], lengths);
    const item1 = cmvn(x.subarray(T * D, (T + 7) * D), 7, D);
    expect(Array.from(y.subarray(T * D, (T + 7) * D))).toEqual(Array.from(item1));
    expect(Math.max(...y.subarray((T + 7) * D).map(Math.abs))).toBe(0);
    const s = new CmvnStats(D).accumulateBatch(x, [B, T, D], lengths);
    expect(s.count).toBe(27);
  });

  test('save and load round-trip exactly through JSON', () => {
    const stats = new CmvnStats(6);
    stats.accumulate(Float64Array.from({ length: 60 }, () => rng.normal() * 1e3));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmvn-'));
    const file = path.join(dir, 'stats.json');
    stats.save(file);
    const back = CmvnStats.load(file);
    expect(back.count).toBe(stats.count);
    expect(Array.from(back.mean())).toEqual(Array.from(stats.mean()));
    expect(Array.from(back.variance())).toEqual(Array.from(stats.variance()));
    fs.writeFileSync(file, '{"dim": 2, "count": 1, "mean": [0], "m2": [0, 0]}');
    expect(() => CmvnStats.load(file)).toThrow('[CmvnStats.fromJSON] mean must be an array of 2 finite numbers');
    fs.writeFileSync(file, 'not json');
    expect(() => CmvnStats.load(file)).toThrow(/^\[CmvnStats.load\] .* is not valid JSON/);
    expect(() => CmvnStats.load(path.join(dir, 'missing.json'))).toThrow(/^\[CmvnStats.load\] cannot read/);
    fs.rmSync(dir, { recursive: true });
  });

  test('bad input', () => {
    expect(() => new CmvnStats(0)).toThrow('[CmvnStats] dim must be a positive integer, got 0');
    expect(() => new CmvnStats(3).accumulate(new Float32Array(10))).toThrow(/^\[CmvnStats.accumulate\] features has 10 values/);
    expect(() => new CmvnStats(3).apply(new Float32Array(3))).toThrow('[CmvnStats.apply] no frames accumulated');
    expect(() => new CmvnStats(1).accumulate(Float32Array.of(1, NaN))).toThrow('[CmvnStats.accumulate] features[1] = NaN is not finite');
  });
});
