/**
 * Cepstral mean and variance normalisation (CMVN): per utterance, per batch item within its
 * valid length, or global with statistics accumulated over a dataset by `CmvnStats`.
 *
 * Glossary:
 *   dim        feature dimension D; features are time-major (frames, D) or (B, T, D)
 *   mean, M2   running per-dimension mean and sum of squared deviations, float64; batches merge
 *              by Chan et al.'s pairwise update (M2 += M2_b + delta^2 n n_b / (n + n_b)), which
 *              stays exact where sum(x^2) - n mean^2 would cancel (log-mels with mean ~ -10 over
 *              1e9 frames lose all digits the naive way)
 *   std        sqrt(max(variance, varFloor)); population variance (divide by n), as Kaldi
 */

import * as fs from 'fs';
import { checkFinite, checkNonNegativeInt, checkPositiveInt, fail, FloatArray, isFloat32Array, isInt32Array } from './check';

export interface CmvnOptions {
  /** Divide by the standard deviation as well. Default true. */
  normVars?: boolean;
  /** Floor on the variance before the square root. Default 1e-10. */
  varFloor?: number;
}

/** Per-utterance CMVN of features (frames, dim) -> (frames, dim). */
export function cmvn(features: FloatArray, frames: number, dim: number, opts: CmvnOptions = {}): Float32Array {
  const stats = new CmvnStats(dim);
  stats.accumulate(features, frames);
  return stats.apply(features, opts);
}

/** Per-item CMVN of a padded batch (B, T, dim) over each item's valid frames; padding frames
 *  are written as 0. Returns (B, T, dim). */
export function cmvnBatch(features: Float32Array, shape: readonly [number, number, number], lengths: Int32Array, opts: CmvnOptions = {}): Float32Array {
  const op = 'cmvnBatch';
  const [B, T, D] = shape;
  checkBatch(op, features, shape, lengths);
  const out = new Float32Array(B * T * D); // (B, T, D)
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    if (L === 0) continue;
    const item = features.subarray(b * T * D, (b * T + L) * D); // (L, D)
    out.set(cmvn(item, L, D, opts), b * T * D);
  }
  return out;
}

/** Streaming per-dimension mean/variance accumulator over a dataset, saved and loaded as JSON. */
export class CmvnStats {
  readonly dim: number;
  count = 0;
  private readonly mu: Float64Array; // (dim)
  private readonly m2: Float64Array; // (dim)

  constructor(dim: number) {
    checkPositiveInt('CmvnStats', 'dim', dim);
    this.dim = dim;
    this.mu = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  /** Adds `frames` rows of features (frames, dim); frames defaults to length / dim. */
  accumulate(features: FloatArray, frames = features.length / this.dim): this {
    const op = 'CmvnStats.accumulate';
    const D = this.dim;
    if (!Number.isInteger(frames) || frames < 0 || frames * D > features.length) {
      fail(op, `features has ${features.length} values, not ${frames} frames of dim ${D}`);
    }
    if (frames === 0) return this;
    const bm = new Float64Array(D); // (D) batch mean, two-pass for accuracy
    for (let t = 0; t < frames; t++) for (let d = 0; d < D; d++) bm[d] += features[t * D + d];
    for (let d = 0; d < D; d++) bm[d] /= frames;
    const bm2 = new Float64Array(D); // (D)
    for (let t = 0; t < frames; t++) {
      for (let d = 0; d < D; d++) {
        const v = features[t * D + d];
        if (!Number.isFinite(v)) fail(op, `features[${t * D + d}] = ${v} is not finite`);
        const e = v - bm[d];
        bm2[d] += e * e;
      }
    }
    this.mergeMoments(frames, bm, bm2);
    return this;
  }

  /** Adds the valid frames of a padded batch (B, T, dim). */
  accumulateBatch(features: Float32Array, shape: readonly [number, number, number], lengths: Int32Array): this {
    checkBatch('CmvnStats.accumulateBatch', features, shape, lengths);
    const [B, T, D] = shape;
    if (D !== this.dim) fail('CmvnStats.accumulateBatch', `feature dim ${D} differs from the stats' dim ${this.dim}`);
    for (let b = 0; b < B; b++) this.accumulate(features.subarray(b * T * D, (b * T + lengths[b]) * D), lengths[b]);
    return this;
  }

  /** Folds another accumulator (e.g. from another worker) into this one. */
  merge(other: CmvnStats): this {
    if (other.dim !== this.dim) fail('CmvnStats.merge', `dims differ: ${this.dim} and ${other.dim}`);
    if (other.count > 0) this.mergeMoments(other.count, other.mu, other.m2);
    return this;
  }

  private mergeMoments(n: number, mean: Float64Array, m2: Float64Array): void {
    const n0 = this.count;
    const total = n0 + n;
    for (let d = 0; d < this.dim; d++) {
      const delta = mean[d] - this.mu[d];
      this.mu[d] += (delta * n) / total;
      this.m2[d] += m2[d] + (delta * delta * n0 * n) / total;
    }
    this.count = total;
  }

  /** Per-dimension mean. Shape: (dim). */
  mean(): Float64Array {
    return this.mu.slice();
  }

  /** Per-dimension population variance (divide by count). Shape: (dim). */
  variance(): Float64Array {
    const v = new Float64Array(this.dim);
    for (let d = 0; d < this.dim; d++) v[d] = this.count > 0 ? this.m2[d] / this.count : 0;
    return v;
  }

  /** sqrt(max(variance, varFloor)). Shape: (dim). */
  std(varFloor = 1e-10): Float64Array {
    return this.variance().map((v) => Math.sqrt(Math.max(v, varFloor)));
  }

  /** (x - mean) / std (or x - mean without normVars) of features (frames, dim) -> (frames, dim). */
  apply(features: FloatArray, opts: CmvnOptions = {}): Float32Array {
    const op = 'CmvnStats.apply';
    if (this.count === 0) fail(op, 'no frames accumulated');
    if (features.length % this.dim !== 0) fail(op, `features has ${features.length} values, not a multiple of dim ${this.dim}`);
    const varFloor = opts.varFloor ?? 1e-10;
    checkFinite(op, 'varFloor', varFloor, 0);
    const normVars = opts.normVars ?? true;
    const inv = this.std(varFloor).map((s) => (normVars ? 1 / s : 1)); // (dim)
    const out = new Float32Array(features.length);
    for (let i = 0; i < features.length; i++) {
      const d = i % this.dim;
      out[i] = (features[i] - this.mu[d]) * inv[d];
    }
    return out;
  }

  /** Plain-object form {dim, count, mean, m2} (what save() writes). */
  toJSON(): { dim: number; count: number; mean: number[]; m2: number[] } {
    return { dim: this.dim, count: this.count, mean: Array.from(this.mu), m2: Array.from(this.m2) };
  }

  /** Rebuilds statistics from toJSON()'s object, checking every field. */
  static fromJSON(obj: unknown): CmvnStats {
    const op = 'CmvnStats.fromJSON';
    const o = obj as { dim?: unknown; count?: unknown; mean?: unknown; m2?: unknown };
    if (typeof o !== 'object' || o === null) fail(op, 'expected an object {dim, count, mean, m2}');
    checkPositiveInt(op, 'dim', o.dim);
    checkNonNegativeInt(op, 'count', o.count);
    const dim = o.dim;
    for (const key of ['mean', 'm2'] as const) {
      const a = o[key];
      if (!Array.isArray(a) || a.length !== dim || !a.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        fail(op, `${key} must be an array of ${dim} finite numbers`);
      }
    }
    const s = new CmvnStats(dim);
    s.count = o.count;
    s.mu.set(o.mean as number[]);
    s.m2.set(o.m2 as number[]);
    return s;
  }

  /** Writes the statistics as JSON (float64 values survive: JSON numbers round-trip exactly). */
  save(path: string): void {
    fs.writeFileSync(path, JSON.stringify(this.toJSON()));
  }

  /** Reads statistics written by save(). */
  static load(path: string): CmvnStats {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      return fail('CmvnStats.load', `cannot read ${path}: ${(e as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      return fail('CmvnStats.load', `${path} is not valid JSON: ${(e as Error).message}`);
    }
    return CmvnStats.fromJSON(obj);
  }
}

function checkBatch(op: string, features: Float32Array, shape: readonly [number, number, number], lengths: Int32Array): void {
  const [B, T, D] = shape;
  checkPositiveInt(op, 'B', B);
  checkNonNegativeInt(op, 'T', T);
  checkPositiveInt(op, 'dim', D);
  if (!isFloat32Array(features) || features.length !== B * T * D) {
    fail(op, `features must be a Float32Array of B*T*dim = ${B * T * D} values`);
  }
  if (!isInt32Array(lengths) || lengths.length !== B) fail(op, `lengths must be an Int32Array of ${B} values`);
  for (let b = 0; b < B; b++) if (lengths[b] < 0 || lengths[b] > T) fail(op, `lengths[${b}] = ${lengths[b]} is outside [0, ${T}]`);
}
