/**
 * calibrate.ts — the matched calibration: the analysis' own pipeline (PCA to k, standardisation,
 * noise σ, the same estimator, options and seeds) run on Gaussian frames of the same dimensions
 * and count whose mutual information is known exactly, at levels near the measured values.
 *
 * Glossary:
 *   dX, dT     dimensions of X and T before reduction; N frames
 *   λ_i        variance spectrum of both variables, λ_i = 1 / (1 + i): decaying like hidden
 *              states', so PCA keeps the leading (informative) coordinates
 *   coupling   u, v ~ N(0, I); X_i = √λ_i u_i; T_j = √λ_j (r u_j + √(1 − r²) v_j) for j < min(dX, dT),
 *              √λ_j v_j beyond; r is set so that the reduced quantity is near the level:
 *              k/2 · −ln(1 − r² / (1 + σ²)) = level
 *   truth      the exact MI of what the estimator sees, from the population covariances and the
 *              projections and scales the pipeline actually used:
 *              a = P_x X, b = P_t T + σ · diag(s) Z (s: the sample stds it standardised by),
 *              I(a; b) = ½ (ln det Σ_aa + ln det Σ_bb − ln det Σ)
 */
import { estimateMany, EstimateOptions, EstimateResult } from '../mi';
import { Rng, deriveSeed } from '../data/rng';
import { tensor } from '../tensor/creation';
import { Device } from '../tensor/types';
import { gaussianMi } from './linalg';
import { channelCapacity, Frames, Pca, reduceFrames } from './reduce';

export interface CalibrationOptions {
  dX: number;
  dT: number;
  n: number;
  /** MI levels (nats) of the reduced quantity to calibrate at. */
  levels: number[];
  /** PCA components (null: none), noise σ, the estimator options (seeds included) and the base seed. */
  k: number | null;
  sigma: number;
  estimator: EstimateOptions;
  seed?: number;
  device?: Device;
}

export interface CalibrationPoint {
  /** The level asked for, and the exact MI of the reduced variables actually estimated. */
  level: number;
  truth: number;
  nats: number;
  ci: [number, number] | null;
  perSeed: number[];
  /** (nats − truth) / truth. */
  relError: number;
}

export interface CalibrationResult {
  dX: number;
  dT: number;
  n: number;
  k: number | null;
  sigma: number;
  points: CalibrationPoint[];
  seconds: number;
}

const spectrum = (i: number): number => 1 / (1 + i);

/** One Gaussian (X, T) sample of n frames with per-coordinate correlation r (see the glossary). */
function gaussianPair(dX: number, dT: number, n: number, r: number, seed: number): { x: Frames; t: Frames } {
  const rng = new Rng(seed);
  const m = Math.min(dX, dT);
  const x = new Float32Array(n * dX);
  const t = new Float32Array(n * dT);
  const c = Math.sqrt(Math.max(0, 1 - r * r));
  const u = new Float64Array(dX);
  for (let i = 0; i < n; ++i) {
    for (let j = 0; j < dX; ++j) {
      u[j] = rng.normal();
      x[i * dX + j] = Math.sqrt(spectrum(j)) * u[j];
    }
    for (let j = 0; j < dT; ++j) {
      const v = rng.normal();
      t[i * dT + j] = Math.sqrt(spectrum(j)) * (j < m ? r * u[j] + c * v : v);
    }
  }
  return { x: { data: x, n, d: dX }, t: { data: t, n, d: dT } };
}

/** Rows of a projection (identity when no PCA was fitted). */
function projRows(p: Pca | null, d: number): { k: number; w: Float64Array } {
  if (p) return { k: p.k, w: p.components };
  const w = new Float64Array(d * d);
  for (let i = 0; i < d; ++i) w[i * d + i] = 1;
  return { k: d, w };
}

/** Exact I(P_x X; P_t T + σ diag(s) Z) for the coupling of gaussianPair. */
function reducedTruth(px: Pca | null, pt: Pca | null, dX: number, dT: number, r: number, sigma: number, stds: Float64Array): number {
  const a = projRows(px, dX);
  const b = projRows(pt, dT);
  const m = Math.min(dX, dT);
  const p = a.k;
  const q = b.k;
  const joint = new Float64Array((p + q) ** 2);
  const n = p + q;
  // Σ_aa = Px Λ Pxᵀ, Σ_bb = Pt Λ Ptᵀ + σ² diag(s²), Σ_ab = Px C Ptᵀ with C_jj = r λ_j (j < m).
  for (let i = 0; i < p; ++i) for (let j = 0; j < p; ++j) {
    let s = 0;
    for (let c = 0; c < dX; ++c) s += a.w[i * dX + c] * a.w[j * dX + c] * spectrum(c);
    joint[i * n + j] = s;
  }
  for (let i = 0; i < q; ++i) for (let j = 0; j < q; ++j) {
    let s = 0;
    for (let c = 0; c < dT; ++c) s += b.w[i * dT + c] * b.w[j * dT + c] * spectrum(c);
    if (i === j) s += sigma * sigma * stds[i] * stds[i];
    joint[(p + i) * n + p + j] = s;
  }
  for (let i = 0; i < p; ++i) for (let j = 0; j < q; ++j) {
    let s = 0;
    for (let c = 0; c < m; ++c) s += a.w[i * dX + c] * b.w[j * dT + c] * r * spectrum(c);
    joint[i * n + p + j] = joint[(p + j) * n + i] = s;
  }
  return gaussianMi(joint, p, q);
}

/**
 * One calibration pair: Gaussian frames (see the glossary) near `level` nats after the reduction,
 * put through the pipeline (PCA to k, standardisation, noise σ on T), and the exact MI of what
 * comes out. `r` is the per-coordinate correlation used.
 */
export function calibrationPair(o: { dX: number; dT: number; n: number; level: number; k: number | null; sigma: number; seed: number; device?: Device }): { x: Frames; t: Frames; truth: number; r: number } {
  const kEff = o.k === null ? Math.min(o.dX, o.dT) : Math.min(o.k, o.dX, o.dT);
  const target = Math.min(o.level, 0.95 * channelCapacity(kEff, o.sigma));
  const r = Math.sqrt(Math.min(0.9999, (1 + o.sigma * o.sigma) * -Math.expm1((-2 * target) / kEff)));
  const g = gaussianPair(o.dX, o.dT, o.n, r, o.seed);
  const xr = reduceFrames(g.x, { k: o.k, sigma: 0, seed: deriveSeed(o.seed, 'noise-x'), pcaSeed: deriveSeed(o.seed, 'pca-x'), device: o.device });
  const tr = reduceFrames(g.t, { k: o.k, sigma: o.sigma, seed: deriveSeed(o.seed, 'noise-t'), pcaSeed: deriveSeed(o.seed, 'pca-t'), device: o.device });
  return { x: xr.frames, t: tr.frames, truth: reducedTruth(xr.pca, tr.pca, o.dX, o.dT, r, o.sigma, tr.stds), r };
}

/**
 * Runs the matched calibration (see the module comment): one Gaussian pair per level, all
 * estimated together with `estimator` (as the layers were), each compared with its exact value.
 */
export async function calibrate(o: CalibrationOptions): Promise<CalibrationResult> {
  const t0 = Date.now();
  const { dX, dT, n, sigma } = o;
  const pairs = o.levels.map((level, li) => {
    if (!(level > 0)) throw new Error(`[analysis.calibrate] levels must be > 0 nats, got ${level}`);
    return calibrationPair({ dX, dT, n, level, k: o.k, sigma, seed: deriveSeed(o.seed ?? 0, 'calibration', li), device: o.device });
  });
  const tensors = pairs.map((p) => [tensor(p.x.data, [p.x.n, p.x.d], { device: o.device }), tensor(p.t.data, [p.t.n, p.t.d], { device: o.device })] as [ReturnType<typeof tensor>, ReturnType<typeof tensor>]);
  let rs: EstimateResult[];
  try {
    rs = await estimateMany(tensors, { ...o.estimator, device: o.device });
  } finally {
    for (const [a, b] of tensors) a.dispose(), b.dispose();
  }
  return {
    dX, dT, n, k: o.k, sigma,
    points: pairs.map((p, i) => ({
      level: o.levels[i], truth: p.truth, nats: rs[i].nats, ci: rs[i].ci ?? null, perSeed: rs[i].perSeed,
      relError: (rs[i].nats - p.truth) / p.truth,
    })),
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Up to `max` calibration levels spread over the measured values (min, median, max), each in [0.1, 0.95 · capacity]. */
export function levelsNear(values: number[], cap: number, max = 3): number[] {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return [1];
  const pick = [v[0], v[Math.floor((v.length - 1) / 2)], v[v.length - 1]].map((x) => Math.min(Math.max(x, 0.1), 0.95 * cap));
  const out: number[] = [];
  for (const x of pick) if (!out.some((y) => Math.abs(y - x) <= 0.15 * Math.max(x, y))) out.push(+x.toFixed(3));
  return out.slice(0, max);
}

/** Relative error of the calibration point nearest to `value` (log scale). */
export function nearestError(cal: CalibrationResult, value: number): CalibrationPoint | null {
  if (!cal.points.length || !Number.isFinite(value)) return null;
  const key = (x: number): number => Math.abs(Math.log(Math.max(x, 1e-3)) - Math.log(Math.max(value, 1e-3)));
  return cal.points.reduce((a, b) => (key(b.truth) < key(a.truth) ? b : a));
}
