/**
 * misc.ts — Dropout, Embedding and the weight-norm wrapper (weight = g * v / ||v||, names
 * weight_g / weight_v as fairseq's wav2vec2/HuBERT checkpoints store the conv positional
 * embedding).
 */
import { native } from '../native';
import { slice } from '../ops/shape';
import { zeros } from '../tensor/creation';
import { dropout } from '../ops/dropout';
import { div, mul, sqrt } from '../ops/elementwise';
import { embedding } from '../ops/indexing';
import { sum } from '../ops/reduce';
import { normal } from './init';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { deriveSeed } from './init';
import { LayerOptions } from './layers';
import { Module } from './module';

/** Zeroes elements with probability p in training mode (scaled by 1/(1-p)); identity in eval. */
export class Dropout extends Module {
  constructor(readonly p = 0.1) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`[Dropout] p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p, { training: true }) : x;
  }
}

/** Lookup table weight (num, dim) ~ N(0, 1) as torch.nn.Embedding; paddingIdx row zeroed and frozen. */
export class Embedding extends Module {
  weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, readonly o: LayerOptions & { paddingIdx?: number } = {}) {
    super();
    const w = normal([numEmbeddings, embeddingDim], 0, 1, { seed: deriveSeed(o.seed ?? 0, 'weight'), device: o.device });
    if (o.paddingIdx !== undefined) {
      const row = o.paddingIdx < 0 ? o.paddingIdx + numEmbeddings : o.paddingIdx;
      tidy(() => native.copyInto(slice(w, 0, row, row + 1).handle('Embedding'), zeros([1, embeddingDim], { device: o.device }).handle('Embedding')));
    }
    this.weight = this.param('weight', w);
  }
  /** indices int32 (...) -> (..., dim) */
  forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, { paddingIdx: this.o.paddingIdx ?? null });
  }
}

/**
 * Weight normalisation of a module's `weight` (torch.nn.utils.weight_norm): parameters
 * weight_g (norm over every dim but `dim`) and weight_v; the weight is recomputed each forward.
 * Wraps modules whose forward reads `this.weight` (Conv1d, Linear).
 */
export class WeightNorm<M extends Module & { weight: Tensor }> extends Module {
  weight_g: Tensor;
  weight_v: Tensor;
  constructor(readonly inner: M, readonly dim = 0) {
    super();
    const w = inner.weight;
    const nd = w.ndim;
    const d = dim < 0 ? dim + nd : dim;
    const others = Array.from({ length: nd }, (_, i) => i).filter((i) => i !== d);
    this.weight_g = this.param('weight_g', tidy(() => sqrt(sum(mul(w, w), others, true))).detach());
    this.weight_v = this.param('weight_v', w.detach());
    // The wrapped module keeps its other parameters (bias) under its own names, here at top level.
    for (const [n, p] of inner.namedParameters('', false)) if (n !== 'weight') this.param(n, p);
    this.others = others;
  }
  private others: number[];
  /** to() replaced a parameter this module shares with the wrapped one (its bias): the wrapped
   *  module must read the new tensor too, not the disposed old one. */
  protected override onReplace(name: string, t: Tensor): void {
    super.onReplace(name, t);
    if (name === 'weight_g' || name === 'weight_v') return;
    const inner = this.inner as unknown as Record<string, unknown> & { _params?: Map<string, Tensor | null> };
    if (name in inner) inner[name] = t;
    if (inner._params?.has(name)) inner._params.set(name, t);
  }
  /** Runs the wrapped module with weight = g * v / ||v||. */
  forward(...args: unknown[]): unknown {
    const v = this.weight_v;
    const w = div(mul(this.weight_g, v), sqrt(sum(mul(v, v), this.others, true)));
    const saved = this.inner.weight;
    this.inner.weight = w;
    try {
      return (this.inner.forward as (...a: unknown[]) => unknown).apply(this.inner, args);
    } finally {
      this.inner.weight = saved;
      w.dispose();
    }
  }
}
