/**
 * kmeans_ops.ts — the tensor kernels of k-means, on whatever device the frames live (cpu or
 * cuda): blocked nearest-centroid search, per-cluster sums, and greedy k-means++ seeding.
 *
 * Glossary:
 *   X          frames (N, D) float32
 *   C          centroids (K, D); cn2 = ||C_k||² (1, K)
 *   d(x, c)    ||x||² - 2 x·c + ||c||² (one GEMM per block), clamped at 0 (float32 cancellation
 *              can make a near-zero distance slightly negative)
 *   chunk      rows per block: the (chunk, K) distance block is the only N×K-shaped memory,
 *              2^24 values (64 MB) by default, so N never limits memory
 *   trials     k-means++ candidates per centroid: 2 + floor(ln K), as sklearn's greedy k-means++
 */
import '../../ops/methods'; // indexSelect calls x.contiguous(): installed by ops/methods
import { Rng } from '../../audio/rng';
import { noGrad } from '../../autograd/tape';
import { add, clamp, div, gt, maximum, minimum, mul, square, sub, where } from '../../ops/elementwise';
import { oneHot } from '../../ops/indexing';
import { matmul } from '../../ops/matmul';
import { argmin, min, sum } from '../../ops/reduce';
import { reshape, slice, transpose } from '../../ops/shape';
import { indexSelect } from '../../ops/indexing';
import { tensor } from '../../tensor/creation';
import { keep, tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';

/** Default rows per distance block for K centroids: 2^24 distances, at least 1 row. */
export function defaultChunk(K: number): number {
  return Math.max(1, Math.floor(2 ** 24 / Math.max(K, 1)));
}

/** ||C_k||² as (1, K). */
export function centroidNorms(C: Tensor): Tensor {
  return noGrad(() => tidy(() => reshape(sum(square(C), 1), [1, C.shape[0]])));
}

/** Squared distances of rows x (n, D) to centroids C (K, D) with cn2 (1, K) -> (n, K), >= 0. */
export function sqDistances(x: Tensor, C: Tensor, cn2: Tensor): Tensor {
  return tidy(() => {
    const xn2 = sum(square(x), 1, true); // (n, 1)
    const xc = matmul(x, transpose(C)); // (n, K)
    return clamp(add(sub(xn2, mul(xc, 2)), cn2), 0); // (n, K)
  });
}

/** Nearest centroid of each row of x (n, D): labels int32 (n) and squared distance (n). */
export function assign(x: Tensor, C: Tensor, cn2: Tensor): { labels: Tensor; dist: Tensor } {
  return tidy(() => {
    const d = sqDistances(x, C, cn2); // (n, K)
    return { labels: argmin(d, 1), dist: min(d, 1) }; // (n), (n)
  });
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
    return { sums: matmul(transpose(oh), x), counts: sum(oh, 0) }; // (K, D), (K)
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
export function inertiaOf(X: Tensor, C: Tensor, chunk = defaultChunk(C.shape[0])): number {
  return noGrad(() => {
    const cn2 = centroidNorms(C);
    let total = 0;
    for (let s = 0; s < X.shape[0]; s += chunk) {
      total += tidy(() => sum(assign(rows(X, s, Math.min(X.shape[0], s + chunk)), C, cn2).dist).item());
    }
    cn2.dispose();
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
      return clamp(add(sub(cn2, mul(matmul(c, transpose(X)), 2)), xn2), 0); // (t, n)
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
