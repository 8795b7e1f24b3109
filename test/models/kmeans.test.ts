// KMeans: recovers well-separated Gaussian blobs (adjusted Rand index computed here >= 0.99) with
// both algorithms; Lloyd's inertia never increases; mini-batch lands within 2 % of full-batch
// inertia on a fixed overlapping mixture; predict/inertia equal a float64 brute force (blocked,
// odd sizes); empty clusters are re-seeded and constant frames give no NaN; save/load; seeding;
// bad input; cpu and cuda agree.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../../lib/audio/rng';
import { KMeans, kmeansPlusPlus } from '../../lib/models/hubert/kmeans';
import { tensor, Tensor } from '../../lib';
import { describeCuda } from '../helpers/devices';

/** Gaussian blobs: `k` centres uniform in [-spread, spread]^d, `per` points each with std `std`. */
function blobs(k: number, per: number, d: number, std: number, spread: number, seed: number): { x: Float32Array; labels: Int32Array; n: number } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: k * d }, () => (2 * rng.uniform() - 1) * spread);
  const n = k * per, x = new Float32Array(n * d), labels = new Int32Array(n);
  for (let i = 0; i < n; ++i) {
    const c = i % k;
    labels[i] = c;
    for (let j = 0; j < d; ++j) x[i * d + j] = centres[c * d + j] + std * rng.normal();
  }
  return { x, labels, n };
}

/** Adjusted Rand index (Hubert & Arabie 1985) from the contingency table, float64. */
function adjustedRand(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length, table = new Map<string, number>(), ra = new Map<number, number>(), rb = new Map<number, number>();
  for (let i = 0; i < n; ++i) {
    const key = `${a[i]},${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    ra.set(a[i], (ra.get(a[i]) ?? 0) + 1);
    rb.set(b[i], (rb.get(b[i]) ?? 0) + 1);
  }
  const c2 = (m: number) => (m * (m - 1)) / 2;
  let sij = 0, sa = 0, sb = 0;
  for (const v of table.values()) sij += c2(v);
  for (const v of ra.values()) sa += c2(v);
  for (const v of rb.values()) sb += c2(v);
  const expected = (sa * sb) / c2(n), maxIdx = (sa + sb) / 2;
  return (sij - expected) / (maxIdx - expected);
}

/** Nearest centroid and total squared distance by brute force in float64. */
function bruteForce(x: Float32Array, n: number, d: number, c: Float32Array, k: number): { labels: Int32Array; inertia: number; margin: Float64Array } {
  const labels = new Int32Array(n), margin = new Float64Array(n);
  let inertia = 0;
  for (let i = 0; i < n; ++i) {
    let best = Infinity, second = Infinity, arg = 0;
    for (let j = 0; j < k; ++j) {
      let s = 0;
      for (let t = 0; t < d; ++t) s += (x[i * d + t] - c[j * d + t]) ** 2;
      if (s < best) { second = best; best = s; arg = j; } else if (s < second) second = s;
    }
    labels[i] = arg;
    margin[i] = second - best;
    inertia += best;
  }
  return { labels, inertia, margin };
}

describe('KMeans on cpu', () => {
  test.each(['minibatch', 'lloyd'] as const)('%s recovers 7 well-separated blobs (ARI >= 0.99)', (algorithm) => {
    for (const seed of [1, 2]) {
      const { x, labels, n } = blobs(7, 97, 5, 0.5, 10, 100 + seed);
      const X = tensor(x, [n, 5]);
      const km = new KMeans({ k: 7, algorithm, seed, batchSize: 128, nInit: 3 }).fit(X);
      const pred = km.predict(X);
      const ari = adjustedRand(labels, pred);
      if (ari < 0.99) throw new Error(`seed ${seed}: ARI ${ari}`);
      expect(km.centroids!.shape).toEqual([7, 5]);
      km.dispose();
    }
  });

  test('Lloyd inertia never increases, and the final inertia is the lowest', () => {
    const { x, n } = blobs(9, 60, 3, 2.5, 6, 7); // overlapping: many iterations
    const X = tensor(x, [n, 3]);
    const km = new KMeans({ k: 5, algorithm: 'lloyd', nInit: 1, init: 'random', seed: 3, tol: 0 }).fit(X);
    const h = km.info!.history;
    expect(h.length).toBeGreaterThan(3);
    for (let i = 1; i < h.length; ++i) expect(h[i]).toBeLessThanOrEqual(h[i - 1] * (1 + 1e-6));
    expect(km.inertia(X)).toBeLessThanOrEqual(h[h.length - 1] * (1 + 1e-6));
  });

  test('mini-batch inertia is within 2 % of full-batch inertia on a fixed overlapping mixture', () => {
    // 3996 x 6, 12 touching components (std 1, centres in [-8, 8]^6). A batch-mean update instead
    // of the running mean (c·n + Σx) / (n + b) leaves ~1/21 excess inertia at batch 256 (fails).
    const { x, n } = blobs(12, 333, 6, 1.0, 8, 42);
    const X = tensor(x, [n, 6]);
    for (const seed of [0, 1]) {
      const full = new KMeans({ k: 12, algorithm: 'lloyd', nInit: 3, seed }).fit(X);
      const mb = new KMeans({ k: 12, batchSize: 256, nInit: 3, maxNoImprovement: 50, seed }).fit(X);
      const a = full.inertia(X), b = mb.inertia(X);
      expect(Math.abs(b - a) / a).toBeLessThan(0.02);
      expect(mb.info!.converged).toBe(true);
    }
  });

  test('predict and inertia equal a float64 brute force, blocked over odd sizes', () => {
    const rng = new Rng(5);
    const n = 129, d = 7, k = 13;
    const x = Float32Array.from({ length: n * d }, () => rng.normal());
    const X = tensor(x, [n, d]);
    const km = new KMeans({ k, seed: 9, batchSize: 50, chunkSize: 10, maxIter: 5, nInit: 2 }).fit(X);
    const c = km.centroids!.dataSync() as Float32Array;
    const ref = bruteForce(x, n, d, c, k);
    const pred = km.predict(X);
    for (let i = 0; i < n; ++i) if (ref.margin[i] > 1e-4) expect(pred[i]).toBe(ref.labels[i]);
    expect(Math.abs(km.inertia(X) - ref.inertia) / ref.inertia).toBeLessThan(1e-5);
    expect(km.score(X)).toBeCloseTo(ref.inertia / n, 4);
    // 1-row blocks give the same labels
    const km1 = KMeansFrom(c, k, d, 1);
    expect(Array.from(km1.predict(X))).toEqual(Array.from(pred));
  });

  test('k-means++ seeds are data rows, one per well-separated blob', () => {
    const { x, labels, n } = blobs(6, 40, 4, 0.1, 20, 11);
    const X = tensor(x, [n, 4]);
    const { centroids, indices } = kmeansPlusPlus(X, 6, new Rng(1));
    expect(new Set(indices.map((i) => labels[i])).size).toBe(6);
    const c = centroids.dataSync();
    indices.forEach((r, j) => { for (let t = 0; t < 4; ++t) expect(c[j * 4 + t]).toBe(x[r * 4 + t]); });
  });

  test('duplicated frames leave clusters empty: they are re-seeded, no NaN, inertia 0 when K >= distinct points', () => {
    // 3 distinct points, 300 frames, K = 5: at least 2 centroids must be empty or duplicates.
    const pts = [[0, 0], [5, 5], [-4, 3]];
    const x = Float32Array.from({ length: 600 }, (_, i) => pts[Math.floor(i / 2) % 3][i % 2]);
    const X = tensor(x, [300, 2]);
    for (const algorithm of ['minibatch', 'lloyd'] as const) {
      const km = new KMeans({ k: 5, algorithm, init: 'random', seed: 4, batchSize: 64, nInit: 1, maxIter: 20 }).fit(X);
      const c = km.centroids!.dataSync();
      expect(c.every(Number.isFinite)).toBe(true);
      expect(km.inertia(X)).toBeLessThan(1e-6);
      expect(km.info!.reseeded).toBeGreaterThan(0);
    }
  });

  test('constant frames give equal centroids, inertia 0 and no NaN', () => {
    const X = tensor(new Float32Array(40 * 3).fill(2.5), [40, 3]);
    for (const algorithm of ['minibatch', 'lloyd'] as const) {
      const km = new KMeans({ k: 4, algorithm, seed: 0, nInit: 2, batchSize: 16 }).fit(X);
      expect(Array.from(km.centroids!.dataSync())).toEqual(new Array(12).fill(2.5));
      expect(km.inertia(X)).toBe(0);
    }
  });

  test('seeded: the same seed gives the same centroids, another seed another draw', () => {
    const { x, n } = blobs(9, 30, 3, 2, 5, 8);
    const X = tensor(x, [n, 3]);
    const a = new KMeans({ k: 6, seed: 1, batchSize: 32, nInit: 1 }).fit(X).centroids!.dataSync();
    const b = new KMeans({ k: 6, seed: 1, batchSize: 32, nInit: 1 }).fit(X).centroids!.dataSync();
    const c = new KMeans({ k: 6, seed: 2, batchSize: 32, nInit: 1 }).fit(X).centroids!.dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  test('save/load round trip keeps centroids and predictions', () => {
    const { x, n } = blobs(4, 25, 3, 0.3, 5, 2);
    const X = tensor(x, [n, 3]);
    const km = new KMeans({ k: 4, seed: 0, nInit: 2 }).fit(X);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'km-'));
    const file = path.join(dir, 'km.safetensors');
    km.save(file);
    const back = KMeans.load(file, { device: 'cpu' });
    expect(back.k).toBe(4);
    expect(Array.from(back.centroids!.dataSync())).toEqual(Array.from(km.centroids!.dataSync()));
    expect(Array.from(back.predict(X))).toEqual(Array.from(km.predict(X)));
    fs.writeFileSync(path.join(dir, 'bad.safetensors'), 'nope');
    expect(() => KMeans.load(path.join(dir, 'bad.safetensors'))).toThrow(/loadSafetensors/);
    fs.rmSync(dir, { recursive: true });
  });

  test('bad input: too few frames, NaN, wrong dims, unfitted, bad options', () => {
    expect(() => new KMeans({ k: 10 }).fit(tensor(new Float32Array(9 * 2), [9, 2]))).toThrow('[KMeans] need at least K = 10 frames to fit, got 9');
    expect(() => new KMeans({ k: 2 }).fit(tensor([[1, NaN], [0, 1], [2, 2]]))).toThrow(/\[KMeans\] frames contain NaN or Inf/);
    expect(() => new KMeans({ k: 2 }).fit(tensor([1, 2, 3]))).toThrow(/frames must be \(N, D\), got \(3\)/);
    expect(() => new KMeans({ k: 2 }).predict(tensor([[1, 2]]))).toThrow(/not fitted/);
    const km = new KMeans({ k: 2, nInit: 1 }).fit(tensor([[0, 0], [1, 1], [5, 5]]));
    expect(() => km.predict(tensor([[1, 2, 3]]))).toThrow(/must have D = 2 columns/);
    expect(km.predict(tensor(new Float32Array(0), [0, 2])).length).toBe(0);
    expect(() => new KMeans({ k: 0 })).toThrow(/k must be an integer >= 1, got 0/);
    expect(() => new KMeans({ k: 3, algorithm: 'elkan' as never })).toThrow(/algorithm must be/);
  });
});

/** A KMeans with given centroids (through save/load's path: setCentroids is private). */
function KMeansFrom(c: Float32Array, k: number, d: number, chunkSize: number): KMeans {
  const km = new KMeans({ k, chunkSize });
  (km as unknown as { setCentroids(t: Tensor): void }).setCentroids(tensor(c, [k, d]));
  return km;
}

describeCuda('KMeans on cuda', () => {
  test('cpu and cuda agree: same seed, same labels and inertia (1M-scale path in blocks)', () => {
    const { x, labels, n } = blobs(11, 301, 17, 0.8, 6, 21);
    const run = (device: 'cpu' | 'cuda') => {
      const X = tensor(x, [n, 17], { device });
      const km = new KMeans({ k: 11, seed: 5, batchSize: 500, nInit: 3, chunkSize: 777 }).fit(X);
      return { pred: km.predict(X), inertia: km.inertia(X), c: km.centroids!.dataSync() };
    };
    const a = run('cpu'), b = run('cuda');
    expect(adjustedRand(a.pred, b.pred)).toBeGreaterThan(0.999);
    expect(adjustedRand(labels, b.pred)).toBeGreaterThan(0.99);
    expect(Math.abs(a.inertia - b.inertia) / a.inertia).toBeLessThan(1e-3);
  });
});
