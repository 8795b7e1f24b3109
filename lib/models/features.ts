/**
 * features.ts — feature items as the models take them, and the global mean/variance normalisation
 * that is the first step of every feature model's front end.
 *
 * Glossary:
 *   FeatureItem   { data (numFrames, dim) row-major Float32Array, numFrames, dim }: what
 *                 audio.fbankArray / mfccArray / kaldi*Array and the batcher's cache return
 *   F             feature dim (dim of the items, inputDim of the model)
 *   global CMVN   x' = (x - mean) / std per feature bin, mean and std over every valid frame of the
 *                 training set (population variance, Chan's pairwise merge in audio.CmvnStats),
 *                 computed once and stored with the model as buffers normalize.mean (F),
 *                 normalize.std (F), normalize.count () — saved and loaded with the weights
 *   varFloor      std = sqrt(max(var, 1e-6)): a bin that never moves (a log floor) stays at 0
 *                 instead of being blown up; log-mel bins have std ≈ 1–5, so 1e-3 never bites
 */
import { CmvnStats } from '../audio/cmvn';
import type { FeatureItem } from '../audio/mel';
import { noGrad } from '../autograd/tape';
import { native } from '../native';
import { div, sub } from '../ops/elementwise';
import { Module } from '../nn/module';
import { full, tensor, zeros } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';

export type { FeatureItem } from '../audio/mel';

/** Variance floor of the global normalisation (see the glossary). */
export const VAR_FLOOR = 1e-6;

/**
 * A FeatureItem from either form the library produces: a FeatureItem itself (checked) or a 2-D
 * float Tensor (numFrames, dim) such as audio.fbank's (read back to the host). Throws
 * `[where] ...` for anything else, naming what came.
 */
export function toFeatureItem(x: FeatureItem | Tensor, where = 'toFeatureItem'): FeatureItem {
  if (x instanceof Tensor) {
    if (x.ndim !== 2) throw new Error(`[${where}] a feature Tensor must be (numFrames, dim), got (${x.shape.join(', ')})`);
    if (x.dtype === 'int32') throw new Error(`[${where}] a feature Tensor must be float32, got int32`);
    return { data: x.dataSync() as Float32Array, numFrames: x.shape[0], dim: x.shape[1] };
  }
  const o = x as Partial<FeatureItem> & { frames?: unknown };
  if (o === null || typeof o !== 'object' || !ArrayBuffer.isView(o.data) || !Number.isInteger(o.numFrames) || !Number.isInteger(o.dim)) {
    const got = o === null || typeof o !== 'object' ? JSON.stringify(o) : ArrayBuffer.isView(o) ? `a bare ${o.constructor.name}` : `{ ${Object.keys(o).join(', ')} }`;
    throw new Error(`[${where}] expected a FeatureItem { data: Float32Array, numFrames, dim } or a (numFrames, dim) Tensor, got ${got}`);
  }
  const item = o as FeatureItem;
  if (item.numFrames < 0 || item.dim < 1) throw new Error(`[${where}] numFrames = ${item.numFrames}, dim = ${item.dim}: expected ≥ 0 and ≥ 1`);
  if (item.data.length !== item.numFrames * item.dim) {
    throw new Error(`[${where}] data has ${item.data.length} values, expected numFrames × dim = ${item.numFrames} × ${item.dim}`);
  }
  return item;
}

/** Global per-bin statistics over every frame of `items` (FeatureItems or (numFrames, dim)
 *  Tensors), as an audio.CmvnStats (mean, variance, count; JSON-serialisable). */
export function featureStats(items: Iterable<FeatureItem | Tensor>): CmvnStats {
  let stats: CmvnStats | null = null;
  let i = 0;
  for (const x of items) {
    const f = toFeatureItem(x, 'featureStats');
    stats ??= new CmvnStats(f.dim);
    if (f.dim !== stats.dim) throw new Error(`[featureStats] item ${i} has dim ${f.dim}, item 0 has ${stats.dim}`);
    stats.accumulate(f.data, f.numFrames);
    ++i;
  }
  if (!stats || stats.count === 0) throw new Error('[featureStats] no frames: give at least one non-empty item');
  return stats;
}

/** Statistics as setStats takes them: an audio.CmvnStats, or per-bin mean and std arrays. */
export type NormStats = CmvnStats | { mean: ArrayLike<number>; std: ArrayLike<number>; count?: number };

/**
 * Global mean/variance normalisation x (B, T, F) -> (x - mean) / std, with mean, std (F) and the
 * frame count they came from as persistent buffers (normalize.mean / .std / .count in a model's
 * state dict). Identity (mean 0, std 1, count 0) until setStats is called.
 */
export class GlobalNorm extends Module {
  mean: Tensor;
  std: Tensor;
  count: Tensor;
  constructor(readonly dim: number, opts: { device?: Device } = {}) {
    super();
    this.mean = this.buffer('mean', zeros([dim], { device: opts.device }));
    this.std = this.buffer('std', full([dim], 1, { device: opts.device }));
    this.count = this.buffer('count', zeros([], { device: opts.device, dtype: 'int32' }));
  }

  /** Sets the statistics in place (every value checked first: nothing changes on a bad input). */
  setStats(stats: NormStats, where = 'GlobalNorm'): void {
    let mean: ArrayLike<number>, std: ArrayLike<number>, count: number;
    if (stats instanceof CmvnStats) {
      if (stats.count === 0) throw new Error(`[${where}] the statistics hold no frames`);
      mean = stats.mean();
      std = stats.std(VAR_FLOOR);
      count = Math.min(stats.count, 2 ** 31 - 1); // an int32 buffer: informational past 2^31 frames (~6800 h at 10 ms)
    } else if (stats && typeof stats === 'object' && stats.mean && stats.std) {
      mean = stats.mean;
      std = stats.std;
      count = stats.count ?? 1;
    } else {
      throw new Error(`[${where}] normalisation statistics must be an audio.CmvnStats or { mean, std }, got ${JSON.stringify(stats)}`);
    }
    if (mean.length !== this.dim || std.length !== this.dim) throw new Error(`[${where}] statistics have dim ${mean.length}/${std.length}, the model's features have ${this.dim}`);
    for (let d = 0; d < this.dim; ++d) {
      if (!Number.isFinite(mean[d]) || !(std[d] > 0) || !Number.isFinite(std[d])) throw new Error(`[${where}] statistics of bin ${d} are not usable: mean ${mean[d]}, std ${std[d]}`);
    }
    if (!Number.isInteger(count) || count < 0 || count > 2 ** 31 - 1) throw new Error(`[${where}] count must be an integer in [0, 2^31), got ${count}`);
    noGrad(() => {
      for (const [dst, v] of [[this.mean, mean], [this.std, std]] as const) {
        const src = tensor(Float32Array.from(v), [this.dim], { device: dst.device });
        native.copyInto(dst.handle(where), src.handle(where));
        src.dispose();
      }
      const c = tensor(Int32Array.of(count), [], { device: this.count.device, dtype: 'int32' });
      native.copyInto(this.count.handle(where), c.handle(where));
      c.dispose();
    });
  }

  /** Whether statistics were set (count > 0). Reads one int back (a sync on cuda). */
  get fitted(): boolean {
    return (this.count.dataSync() as Int32Array)[0] > 0;
  }

  /** x (B, T, F) -> (B, T, F) normalised. Padding frames are normalised too; every model reads
   *  only valid frames downstream. */
  forward(x: Tensor): Tensor {
    return tidy(() => div(sub(x, this.mean), this.std));
  }
}
