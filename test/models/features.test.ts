/** Feature items: one type from audio.fbankArray to data.collate / models.collate*, Tensor
 *  features accepted where the models take items; global CMVN statistics against a float64
 *  reference; GlobalNorm's buffers in the state dict, checked before anything is written. */
import { audio, data, models, tensor } from '../../lib';
import { GlobalNorm } from '../../lib/models/features';

const seed = (Date.now() ^ (process.pid << 8)) >>> 0;
const rng = new audio.Rng(seed);
const signal = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (0.01 + 0.002 * (i % 7))) * 0.3 + (rng.uniform() - 0.5) * 0.05);

// Random inputs come from `seed`, printed in the names of the tests that use it.

test('fbankArray / mfccArray / kaldiFbankArray output goes straight into data.collate and models.collateAsr', () => {
  const a = audio.fbankArray(signal(16000 * 0.3), { nMels: 23 });
  const xb = signal(16000 * 0.17);
  const b = audio.fbankArray(xb, { nMels: 23 });
  expect(Object.keys(a).sort()).toEqual(['data', 'dim', 'numFrames']);
  for (const f of [audio.mfccArray(signal(3000), { nMfcc: 13 }), audio.kaldiFbankArray(signal(3000)), audio.kaldiMfccArray(signal(3000))]) {
    expect(f.data.length).toBe(f.numFrames * f.dim);
  }
  const batch = data.collate([{ id: 'a', features: a }, { id: 'b', features: b }]);
  expect(batch.shape).toEqual([2, a.numFrames, 23]);
  expect(Array.from(batch.lengths)).toEqual([a.numFrames, b.numFrames]);
  expect(Array.from(batch.features.subarray(a.numFrames * 23, a.numFrames * 23 + b.data.length))).toEqual(Array.from(b.data));
  // A Tensor from audio.fbank goes into the models' collate as well, and gives the same batch.
  const t = audio.fbank(xb, { nMels: 23 });
  const asr = models.collateAsr([{ id: 'a', features: a, targets: [2, 3] }, { id: 'b', features: t, targets: [4] }]);
  try {
    expect(asr.features.shape).toEqual([2, a.numFrames, 23]);
    const got = asr.features.dataSync();
    expect(Array.from(got.subarray(a.numFrames * 23, a.numFrames * 23 + b.data.length))).toEqual(Array.from(b.data));
  } finally {
    asr.dispose();
    t.dispose();
  }
});

test('data.collate names a Tensor or a bare array given as features', () => {
  const t = tensor(new Float32Array(6), [3, 2]);
  expect(() => data.collate([{ id: 'x', features: t as unknown as data.FeatureItem }])).toThrow(/^\[collate\] item 0 \(x\) features must be a FeatureItem .* got a Tensor \(3, 2\)/);
  expect(() => data.collate([{ id: 'x', features: new Float32Array(4) as unknown as data.FeatureItem }])).toThrow(/got a bare Float32Array/);
  expect(() => data.collate([{ id: 'x', features: { data: new Float32Array(4), frames: 2, dim: 2 } as unknown as data.FeatureItem }])).toThrow(/got \{ data, frames, dim \}/);
  t.dispose();
});

test('toFeatureItem: FeatureItem checked, (frames, dim) Tensor read back, anything else named', () => {
  const f = { data: Float32Array.from([1, 2, 3, 4, 5, 6]), numFrames: 3, dim: 2 };
  expect(models.toFeatureItem(f)).toBe(f);
  const t = tensor(f.data, [3, 2]);
  expect(models.toFeatureItem(t)).toEqual({ data: f.data, numFrames: 3, dim: 2 });
  t.dispose();
  const t3 = tensor(new Float32Array(8), [2, 2, 2]);
  expect(() => models.toFeatureItem(t3)).toThrow('[toFeatureItem] a feature Tensor must be (numFrames, dim), got (2, 2, 2)');
  t3.dispose();
  expect(() => models.toFeatureItem({ data: new Float32Array(5), numFrames: 3, dim: 2 })).toThrow('data has 5 values, expected numFrames × dim = 3 × 2');
  expect(() => models.toFeatureItem(null as unknown as data.FeatureItem)).toThrow(/expected a FeatureItem/);
});

test(`featureStats: global mean and population variance over every frame, against float64 (seed ${seed})`, () => {
  const D = 7;
  const items = [129, 1, 7, 40].map((n) => ({ data: Float32Array.from({ length: n * D }, () => rng.normal() * 3 - 10), numFrames: n, dim: D }));
  const s = models.featureStats(items);
  const all = items.flatMap((it) => Array.from(it.data));
  const N = all.length / D;
  for (let d = 0; d < D; ++d) {
    let m = 0;
    for (let t = 0; t < N; ++t) m += all[t * D + d];
    m /= N;
    let v = 0;
    for (let t = 0; t < N; ++t) v += (all[t * D + d] - m) ** 2;
    v /= N;
    expect(Math.abs(s.mean()[d] - m)).toBeLessThan(1e-9 * Math.max(1, Math.abs(m)));
    expect(Math.abs(s.variance()[d] - v)).toBeLessThan(1e-9 * v);
  }
  expect(s.count).toBe(N);
  expect(() => models.featureStats([])).toThrow('[featureStats] no frames');
  expect(() => models.featureStats([items[0], { data: new Float32Array(3), numFrames: 1, dim: 3 }])).toThrow('[featureStats] item 1 has dim 3, item 0 has 7');
});

test(`GlobalNorm: (x - mean) / std per bin from the stats, persistent buffers, identity before, nothing written on a bad input (seed ${seed})`, () => {
  const D = 5;
  const n = new GlobalNorm(D, { device: 'cpu' });
  expect(Object.keys(n.stateDict()).sort()).toEqual(['count', 'mean', 'std']);
  expect(n.fitted).toBe(false);
  const x = tensor(Float32Array.from({ length: 2 * 3 * D }, () => rng.normal() * 4 + 2), [2, 3, D]);
  expect(Array.from(n.forward(x).dataSync())).toEqual(Array.from(x.dataSync()));
  const items = [{ data: Float32Array.from({ length: 11 * D }, () => rng.normal() * 4 + 2), numFrames: 11, dim: D }];
  const stats = models.featureStats(items);
  n.setStats(stats);
  expect(n.fitted).toBe(true);
  const mean = stats.mean(), std = stats.std(models.VAR_FLOOR);
  const y = n.forward(x).dataSync();
  const xs = x.dataSync();
  for (let i = 0; i < xs.length; ++i) expect(y[i]).toBeCloseTo((xs[i] - mean[i % D]) / std[i % D], 5);
  const before = Array.from(n.mean.dataSync());
  expect(() => n.setStats({ mean: [0, 0, 0, 0, 0], std: [1, 1, 0, 1, 1] })).toThrow('[GlobalNorm] statistics of bin 2 are not usable: mean 0, std 0');
  expect(() => n.setStats({ mean: [0, 0], std: [1, 1] })).toThrow('[GlobalNorm] statistics have dim 2/2, the model\'s features have 5');
  expect(Array.from(n.mean.dataSync())).toEqual(before);
  x.dispose();
});
