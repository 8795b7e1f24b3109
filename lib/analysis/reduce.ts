/**
 * reduce.ts — what happens to sampled frames before an MI estimator sees them: PCA to k
 * dimensions, per-component standardisation, and the noisy channel T + σZ.
 *
 * Glossary:
 *   A        centred frames (N, d)                 k      kept components (k <= d)
 *   P        projection (k, d): rows are the top-k principal directions of A
 *   σ        noise scale relative to each (standardised) component's std: T̃ = z(P t) + σ Z
 *   capacity k/2 · ln(1 + 1/σ²): no estimate of I(X; T̃) can truthfully exceed it (k parallel
 *            Gaussian channels with unit input power)
 *
 * PCA is a randomised SVD (Halko, Martinsson & Tropp 2011): Y = A Ω with Ω (d, k + 10)
 * Gaussian, 4 power iterations Y <- A (Aᵀ Y) orthonormalised each time, then the exact SVD of the
 * small (k + 10) x d matrix Qᵀ A. Cost ~ 10 · N · d · (k + 10) flops in device matmuls (0.8
 * GFLOP per pass at N = 20k, d = 768, k = 16) instead of an O(d³) eigendecomposition on the
 * host. The reported quantity is defined by the projection actually used, so an approximate
 * subspace changes what is measured (it is recorded), never its correctness.
 */
import { noGrad } from '../autograd/tape';
import { Rng } from '../data/rng';
import { square, sub } from '../ops/elementwise';
import { matmul } from '../ops/matmul';
import { mean, sum } from '../ops/reduce';
import { transpose } from '../ops/shape';
import { tensor } from '../tensor/creation';
import { keep, tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import { orthonormalizeColumns, symEig } from './linalg';

/** Host frames: row-major (n, d). */
export interface Frames {
  data: Float32Array;
  n: number;
  d: number;
}

/** A fitted PCA: mean (d), components (k, d) row-major, their variances (k), and the share of the total variance they keep. */
export interface Pca {
  d: number;
  k: number;
  mean: Float64Array;
  components: Float64Array;
  variances: Float64Array;
  explained: number;
}

/** The frames on the device, centred: (N, d) float32, the column means (d) and the mean squared norm. */
function centredOnDevice(f: Frames, dev: Device | undefined): { A: Tensor; mean: Float64Array; total: number } {
  const { data, n, d } = f;
  return tidy(() => {
    const X = tensor(data, [n, d], { device: dev });
    const m = mean(X, 0);                                   // (d), accumulated in double
    const A = sub(X, m);
    const total = n > 0 ? sum(square(A)).item() / n : 0;
    return { A: keep(A), mean: Float64Array.from(m.dataSync()), total };
  });
}

function checkK(k: number, d: number): void {
  if (!(Number.isInteger(k) && k >= 1 && k <= d)) throw new Error(`[analysis.pca] k must be an integer in [1, ${d}], got ${k}`);
}

/** Top-k principal directions of the frames (see the module comment). */
export function fitPca(f: Frames, k: number, opts: { seed?: number; device?: Device } = {}): Pca {
  checkK(k, f.d);
  const c = centredOnDevice(f, opts.device);
  try {
    return pcaOf(c.A, c.mean, c.total, k, opts.seed ?? 0);
  } finally {
    c.A.dispose();
  }
}

/** fitPca on frames already centred on the device: A (n, d), on A's device. */
function pcaOf(A: Tensor, mean: Float64Array, total: number, k: number, seed: number): Pca {
  const [n, d] = A.shape;
  const l = Math.min(d, k + 10, n);
  const rng = new Rng(seed);
  const omega = new Float32Array(d * l);
  for (let i = 0; i < omega.length; ++i) omega[i] = rng.normal();
  const dev = A.device;
  const q = noGrad(() => tidy(() => {
    const toHost = (t: ReturnType<typeof matmul>): Float64Array => Float64Array.from(t.dataSync());
    let y = toHost(matmul(A, tensor(omega, [d, l], { device: dev })));    // (N, l)
    for (let it = 0; it < 4; ++it) {
      orthonormalizeColumns(y, n, l);
      const z = matmul(transpose(A), tensor(Float32Array.from(y), [n, l], { device: dev })); // (d, l)
      const zh = toHost(z);
      orthonormalizeColumns(zh, d, l);
      y = toHost(matmul(A, tensor(Float32Array.from(zh), [d, l], { device: dev })));        // (N, l)
    }
    orthonormalizeColumns(y, n, l);
    return toHost(matmul(transpose(tensor(Float32Array.from(y), [n, l], { device: dev })), A)); // B = Qᵀ A (l, d)
  }));
  // Right singular vectors of B from the eigenvectors of B Bᵀ (l x l): v_i = Bᵀ u_i / s_i.
  const bbt = new Float64Array(l * l);
  for (let i = 0; i < l; ++i) {
    for (let j = i; j < l; ++j) {
      let s = 0;
      for (let c = 0; c < d; ++c) s += q[i * d + c] * q[j * d + c];
      bbt[i * l + j] = bbt[j * l + i] = s;
    }
  }
  const { values, vectors } = symEig(bbt, l);
  const components = new Float64Array(k * d);
  const variances = new Float64Array(k);
  for (let r = 0; r < k; ++r) {
    const s = Math.sqrt(Math.max(values[r], 0));
    variances[r] = (s * s) / n;
    if (s === 0) continue;
    for (let c = 0; c < d; ++c) {
      let v = 0;
      for (let i = 0; i < l; ++i) v += q[i * d + c] * vectors[i * l + r];
      components[r * d + c] = v / s;
    }
  }
  const kept = variances.reduce((x, y) => x + y, 0);
  return { d, k, mean, components, variances, explained: total > 0 ? kept / total : 1 };
}

/** Frames projected on a PCA: (n, k) = (x − mean) Pᵀ, centred and multiplied on the device. */
export function project(f: Frames, p: Pca, device?: Device): Frames {
  return noGrad(() => tidy(() => {
    const X = tensor(f.data, [f.n, f.d], { device });
    return projectCentred(sub(X, tensor(Float32Array.from(p.mean), [p.d], { device })), p, f.n);
  }));
}

/** (n, k) = A Pᵀ for frames A (n, d) already centred on the PCA's mean. */
function projectCentred(A: Tensor, p: Pca, n: number): Frames {
  const { d, k } = p;
  const pt = new Float32Array(d * k);
  for (let r = 0; r < k; ++r) for (let c = 0; c < d; ++c) pt[c * k + r] = p.components[r * d + c];
  const out = noGrad(() => tidy(() => Float32Array.from(matmul(A, tensor(pt, [d, k], { device: A.device })).dataSync() as Float32Array)));
  return { data: out, n, d: k };
}

/** Per-column z-score in place; returns the stds used (constant columns: only centred, std reported as 0). */
export function standardize(f: Frames): Float64Array {
  const { data, n, d } = f;
  const stds = new Float64Array(d);
  for (let j = 0; j < d; ++j) {
    let s = 0;
    for (let i = 0; i < n; ++i) s += data[i * d + j];
    const m = s / n;
    let v = 0;
    for (let i = 0; i < n; ++i) v += (data[i * d + j] - m) ** 2;
    const sd = Math.sqrt(v / n);
    stds[j] = sd;
    const inv = sd > 0 ? 1 / sd : 1;
    for (let i = 0; i < n; ++i) data[i * d + j] = (data[i * d + j] - m) * inv;
  }
  return stds;
}

/** Adds σ·std_j·Z to column j in place (Z ~ N(0, 1), seeded); `stds` are the columns' stds (1 after standardize). */
export function addNoise(f: Frames, sigma: number, stds: ArrayLike<number>, seed: number): void {
  if (sigma === 0) return;
  const rng = new Rng(seed);
  const { data, n, d } = f;
  for (let i = 0; i < n; ++i) for (let j = 0; j < d; ++j) data[i * d + j] += sigma * stds[j] * rng.normal();
}

/** k/2 · ln(1 + 1/σ²): the most I(X; T̃) can be with k standardised components and noise σ. */
export function channelCapacity(k: number, sigma: number): number {
  return sigma > 0 ? (k / 2) * Math.log1p(1 / (sigma * sigma)) : Infinity;
}

/**
 * The frames an estimator sees for one variable: PCA to `k` (when k < d), standardised, plus
 * σZ noise when `sigma` > 0. Returns the frames and what was done (for the report and the
 * matched calibration).
 */
export function reduceFrames(f: Frames, o: { k: number | null; sigma: number; seed: number; pcaSeed: number; device?: Device }): { frames: Frames; pca: Pca | null; stds: Float64Array } {
  let pca: Pca | null = null;
  let frames: Frames;
  if (o.k !== null && o.k < f.d) {
    checkK(o.k, f.d);
    // one upload: the centred frames serve the fit and the projection
    const c = centredOnDevice(f, o.device);
    try {
      pca = pcaOf(c.A, c.mean, c.total, o.k, o.pcaSeed);
      frames = projectCentred(c.A, pca, f.n);
    } finally {
      c.A.dispose();
    }
  } else frames = { data: Float32Array.from(f.data), n: f.n, d: f.d };
  const stds = standardize(frames);
  // Constant components get no noise: σ relative to a zero std is zero (they carry nothing).
  addNoise(frames, o.sigma, Array.from(stds, (s) => (s > 0 ? 1 : 0)), o.seed);
  return { frames, pca, stds };
}
