/**
 * kmeans_ops.ts — the tensor kernels of k-means, on whatever device the frames live (cpu or
 * cuda): blocked nearest-centroid search, per-cluster sums, and greedy k-means++ seeding.
 *
 * Glossary:
 *   X          frames (N, D) float32
 *   C          centroids (K, D), prepared as w = 2C, b = −||C_k||²
 *   d(x, c)    ||x||² - 2 x·c + ||c||²: the search maximises 2 x·c − ||c||² (one GEMM + bias per
 *              block) and adds ||x||² to the winner only; clamped at 0 (float32 cancellation can
 *              make a near-zero distance slightly negative)
 *   chunk      rows per block: the (chunk, K) score block is the only N×K-shaped memory,
 *              2^18 values on the CPU (cache-resident), 2^24 on CUDA, so N never limits memory
 *   trials     k-means++ candidates per centroid: 2 + floor(ln K), as sklearn's greedy k-means++
 */
import '../../ops/methods'; // indexSelect calls x.contiguous(): installed by ops/methods
import { Rng } from '../../audio/rng';
import { noGrad } from '../../autograd/tape';
import { autocast } from '../../autograd/autocast';
import { add, clamp, div, gt, maximum, minimum, mul, neg, square, sub, where } from '../../ops/elementwise';
import { gather, oneHot } from '../../ops/indexing';
import { matmul } from '../../ops/matmul';
import { argmax, max, sum } from '../../ops/reduce';
import { reshape, slice, transpose } from '../../ops/shape';
import { indexSelect } from '../../ops/indexing';
import { tensor } from '../../tensor/creation';
import { keep, tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';
import { Device } from '../../tensor/types';

/** Default rows per distance block for K centroids: 2^18 distances (1 MB, cache-resident) on the
 *  CPU, 2^24 (64 MB, enough work per kernel) on CUDA; at least 1 row. */
export function defaultChunk(K: number, device: Device = 'cpu'): number {
  return Math.max(1, Math.floor((device === 'cuda' ? 2 ** 24 : 2 ** 18) / Math.max(K, 1)));
}

/** a · bᵀ in float32 even under autocast (k-means distances must not round to bf16). */
function mmT(a: Tensor, b: Tensor): Tensor {
  return autocast('bfloat16', () => matmul(a, transpose(b)), { enabled: false });
}

/** Centroids as the nearest-centroid search uses them: w = 2C (K, D), b = −||C_k||² (K), so that
 *  x·wᵀ + b = 2 x·c − ||c||² = ||x||² − d(x, c): the largest score is the nearest centroid. */
export interface PreparedCentroids {
  w: Tensor;
  b: Tensor;
}

/** Prepares centroids C (K, D) for `assign` (two small tensors; dispose them after use). */
export function prepare(C: Tensor): PreparedCentroids {
  return noGrad(() => tidy(() => ({ w: mul(C, 2), b: neg(sum(square(C), 1)) })));
}

/** Frees prepared centroids. */
export function release(p: PreparedCentroids): void {
  p.w.dispose();
  p.b.dispose();
}

/** Nearest centroid of each row of x (n, D): labels int32 (n) and squared distance (n). One GEMM,
 *  one add and one row reduction over the (n, K) block (the best score is gathered at the argmax,
 *  not reduced again: a second pass over the block cost as much as the argmax); ||x||² only
 *  enters the (n) minimum. */
export function assign(x: Tensor, p: PreparedCentroids): { labels: Tensor; dist: Tensor } {
  return tidy(() => {
    const z = add(mmT(x, p.w), p.b); // (n, K) = ||x||² − d(x, c)
    const labels = argmax(z, 1, true); // (n, 1)
    const best = reshape(gather(z, 1, labels), [x.shape[0]]); // (n)
    return { labels: reshape(labels, [x.shape[0]]), dist: clamp(sub(sum(square(x), 1), best), 0) }; // (n), (n)
  });
}

/** Nearest centroid of each row of x (n, D), labels only (predict): one GEMM, one add, one argmax. */
export function nearest(x: Tensor, p: PreparedCentroids): Tensor {
  return tidy(() => argmax(add(mmT(x, p.w), p.b), 1)); // (n)
}

/** Rows [s, e) of X as a view (no copy). */
export function rows(X: Tensor, s: number, e: number): Tensor {
  return slice(X, 0, s, e);
}

/** An int32 index tensor (n) on `X`'s device. */
export function indexTensor(idx: ArrayLike<number>, like: Tensor): Tensor {
  return tensor(Int32Array.from(idx), [idx.length], { device: like.device, dtype: 'int32' });
}

/** Per-cluster sums (K, D) and counts (K) of rows x (n, D) with labels (n): one-hot(labels)ᵀ · x,
 *  a GEMM on either device (deterministic, unlike atomic scatter). */
export function clusterSums(x: Tensor, labels: Tensor, K: number): { sums: Tensor; counts: Tensor } {
  return tidy(() => {
    const oh = oneHot(labels, K); // (n, K)
    return { sums: autocast('bfloat16', () => matmul(transpose(oh), x), { enabled: false }), counts: sum(oh, 0) }; // (K, D), (K)
  });
}

/** Mean of each cluster where it has points, the old centroid where it has none: (K, D). */
export function meansOrOld(sums: Tensor, counts: Tensor, old: Tensor): Tensor {
  return tidy(() => {
    const c = reshape(counts, [counts.shape[0], 1]); // (K, 1)
    return where(gt(c, 0), div(sums, maximum(c, 1)), old); // (K, D)
  });
}

/** Sum over all rows of X of the squared distance to the nearest centroid (float64 total of
 *  per-block float32 sums), blocked by `chunk`. */
export function inertiaOf(X: Tensor, C: Tensor, chunk = defaultChunk(C.shape[0], X.device)): number {
  return noGrad(() => {
    const p = prepare(C);
    let total = 0;
    for (let s = 0; s < X.shape[0]; s += chunk) {
      total += tidy(() => sum(assign(rows(X, s, Math.min(X.shape[0], s + chunk)), p).dist).item());
    }
    release(p);
    return total;
  });
}

/** First index i with cum[i] >= r (numpy searchsorted side='left'), clipped to n - 1. */
function searchSorted(cum: Float64Array, r: number): number {
  let lo = 0, hi = cum.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] < r) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, cum.length - 1);
}

/**
 * Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, sklearn's `_kmeans_plusplus`): the first
 * centroid a uniform row of X (n, D); each next one the best of `trials` rows drawn with
 * probability ∝ D(x)² (squared distance to the nearest centroid so far), best = lowest total
 * potential. Potential 0 (every row already a centroid, e.g. constant frames) picks row 0 again:
 * duplicate centroids, never NaN. Returns the centroids (K, D) and their row indices.
 */
export function kmeansPlusPlus(X: Tensor, K: number, rng: Rng): { centroids: Tensor; indices: number[] } {
  return noGrad(() => {
    const n = X.shape[0];
    const trials = 2 + Math.floor(Math.log(K));
    const xn2 = keep(reshape(sum(square(X), 1), [1, n])); // (1, n)
    const ids = [Math.floor(rng.uniform() * n)];
    const distTo = (idx: number[]): Tensor => tidy(() => {
      const c = indexSelect(X, 0, indexTensor(idx, X)); // (t, D)
      const cn2 = sum(square(c), 1, true); // (t, 1)
      return clamp(add(sub(cn2, mul(mmT(c, X), 2)), xn2), 0); // (t, n)
    });
    let closest = keep(reshape(distTo(ids), [n])); // (n)
    let closestHost = closest.dataSync() as Float32Array;
    const cum = new Float64Array(n);
    for (let c = 1; c < K; ++c) {
      let acc = 0;
      for (let i = 0; i < n; ++i) cum[i] = acc += closestHost[i];
      const pot = acc; // float64 total of D(x)², the same numbers the search runs over
      const cand = Array.from({ length: trials }, () => searchSorted(cum, rng.uniform() * pot));
      const { best, row } = tidy(() => {
        const d = minimum(distTo(cand), reshape(closest, [1, n])); // (t, n)
        const pots = sum(d, 1).dataSync(); // (t)
        let b = 0;
        for (let t = 1; t < trials; ++t) if (pots[t] < pots[b]) b = t;
        return { best: b, row: keep(reshape(slice(d, 0, b, b + 1), [n])) };
      });
      closest.dispose();
      closest = row;
      closestHost = closest.dataSync() as Float32Array;
      ids.push(cand[best]);
    }
    closest.dispose();
    xn2.dispose();
    return { centroids: indexSelect(X, 0, indexTensor(ids, X)), indices: ids };
  });
}
