/**
 * frontend.ts — the feature front ends of CtcAsr: (B, T, F) features -> (B, T', C) encoder input,
 * with the valid lengths carried through. Parameter names are ESPnet's (conv.0, conv.2, out.0).
 *
 * Glossary (T frames in, T' out, F feature bins, C = dModel):
 *   conv2d4   ESPnet Conv2dSubsampling (×4): Conv2d(1, K, 3, stride 2) ReLU, Conv2d(K, K, 3,
 *             stride 2) ReLU, Linear(K·F'', C); K = channels (default C, ESPnet's); T' = ((T - 1) // 2 - 1) // 2,
 *             F'' = ((F - 1) // 2 - 1) // 2. 40 ms frames from 10 ms features
 *   conv2d2   ESPnet Conv2dSubsampling2 (×2): Conv2d(1, K, 3, stride 2) ReLU, Conv2d(K, K, 3,
 *             stride 1) ReLU, Linear(K·F'', C); T' = (T - 1) // 2 - 2, F'' = (F - 1) // 2 - 2.
 *             One stride-2 convolution, so 20 ms frames; the stride-1 one widens the receptive
 *             field to 7 frames like conv2d4's
 *   linear    Linear(F, C) per frame; T' = T
 *   none      identity; needs F = C; T' = T
 * No convolution pads, so a valid output frame t' < T'(L) reads only valid input frames t < L:
 * the padding content never reaches a valid output.
 */
import { relu } from '../ops/elementwise';
import { reshape, transpose, unsqueeze } from '../ops/shape';
import { Conv2d } from '../nn/conv';
import { deriveSeed } from '../nn/init';
import { Linear } from '../nn/layers';
import { Module } from '../nn/module';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';

export const FRONTENDS = ['conv2d4', 'conv2d2', 'linear', 'none'] as const;
export type FrontEndKind = (typeof FRONTENDS)[number];

/** A front end: forward(x (B, T, F), lengths (B)) -> { out (B, T', C), lengths (B) of T'(L) }. */
export interface FrontEnd extends Module {
  readonly kind: FrontEndKind;
  /** T' per T for long inputs (4, 2 or 1): the time subsampling. */
  readonly subsampling: number;
  /** Fewest input frames that give one output frame. */
  readonly minFrames: number;
  outLength(n: number): number;
  forward(x: Tensor, lengths: Int32Array): { out: Tensor; lengths: Int32Array };
}

/** A container registered under ESPnet's Sequential indices ("0", "2"). */
class Indexed extends Module {
  constructor(entries: [string, Module][]) {
    super();
    for (const [n, m] of entries) this.module(n, m);
  }
  forward(): never {
    throw new Error('[Indexed] has no forward');
  }
}

/**
 * ESPnet Conv2dSubsampling (×4, `conv2d4`) or Conv2dSubsampling2 (×2, `conv2d2`): see the module
 * glossary. `channels` (default C, as ESPnet) sets the width of both convolutions: on a CPU the
 * second convolution costs 9·channels²·T'·F'' multiply-adds per utterance and dominates a small
 * model's step (d 144: ~75 % of a 4-layer step), so a narrower front end is the lever there.
 * x (B, T, F) -> (B, T', C).
 */
export class ConvSubsampling extends Module implements FrontEnd {
  readonly subsampling: number;
  readonly minFrames = 7;
  readonly convs: [Conv2d, Conv2d];
  readonly linear: Linear;
  constructor(readonly kind: 'conv2d4' | 'conv2d2', readonly inFeatures: number, readonly dModel: number, o: { channels?: number; seed?: number; device?: Device } = {}) {
    super();
    const s = o.seed ?? 0, ch = o.channels ?? dModel, stride2 = kind === 'conv2d4' ? 2 : 1;
    this.subsampling = 2 * stride2;
    if (!Number.isInteger(ch) || ch < 1) throw new Error(`[ConvSubsampling] channels must be a positive integer, got ${ch}`);
    const fOut = kind === 'conv2d4' ? Math.floor((Math.floor((inFeatures - 1) / 2) - 1) / 2) : Math.floor((inFeatures - 1) / 2) - 2;
    if (fOut < 1) throw new Error(`[ConvSubsampling] ${kind} needs at least 7 feature bins, got ${inFeatures}`);
    const c0 = new Conv2d(1, ch, 3, { stride: 2, seed: deriveSeed(s, 'conv.0'), device: o.device });
    const c2 = new Conv2d(ch, ch, 3, { stride: stride2, seed: deriveSeed(s, 'conv.2'), device: o.device });
    this.linear = new Linear(ch * fOut, dModel, { seed: deriveSeed(s, 'out.0'), device: o.device });
    this.module('conv', new Indexed([['0', c0], ['2', c2]]));
    this.module('out', new Indexed([['0', this.linear]]));
    this.convs = [c0, c2];
  }
  outLength(n: number): number {
    const t = Math.floor((n - 1) / 2);
    return Math.max(0, this.kind === 'conv2d4' ? Math.floor((t - 1) / 2) : t - 2);
  }
  forward(x: Tensor, lengths: Int32Array): { out: Tensor; lengths: Int32Array } {
    const out = tidy(() => {
      const h = relu(this.convs[1].forward(relu(this.convs[0].forward(unsqueeze(x, 1))))); // (B, ch, T', F'')
      const [B, C, T, F] = h.shape;
      return this.linear.forward(reshape(transpose(h, 1, 2), [B, T, C * F])); // (B, T', C)
    });
    return { out, lengths: Int32Array.from(lengths, (n) => this.outLength(n)) };
  }
}

/** Linear(F, C) per frame (name `linear`). */
class LinearFrontEnd extends Module implements FrontEnd {
  readonly kind = 'linear' as const;
  readonly subsampling = 1;
  readonly minFrames = 1;
  readonly linear: Linear;
  constructor(inFeatures: number, dModel: number, o: { seed?: number; device?: Device }) {
    super();
    this.linear = this.module('linear', new Linear(inFeatures, dModel, { seed: deriveSeed(o.seed ?? 0, 'linear'), device: o.device }));
  }
  outLength(n: number): number {
    return n;
  }
  forward(x: Tensor, lengths: Int32Array): { out: Tensor; lengths: Int32Array } {
    return { out: this.linear.forward(x), lengths: Int32Array.from(lengths) };
  }
}

/** Identity (features already dModel wide). */
class NoFrontEnd extends Module implements FrontEnd {
  readonly kind = 'none' as const;
  readonly subsampling = 1;
  readonly minFrames = 1;
  outLength(n: number): number {
    return n;
  }
  forward(x: Tensor, lengths: Int32Array): { out: Tensor; lengths: Int32Array } {
    return { out: x, lengths: Int32Array.from(lengths) };
  }
}

/** Builds front end `kind` mapping F = inputDim features to dModel (`channels`: the conv front ends'
 *  width, default dModel); `where` names the model in errors. */
export function buildFrontEnd(kind: FrontEndKind, inputDim: number, dModel: number, o: { channels?: number; seed?: number; device?: Device; where?: string } = {}): FrontEnd {
  const where = o.where ?? 'buildFrontEnd';
  if (!FRONTENDS.includes(kind)) throw new Error(`[${where}] frontend must be one of ${FRONTENDS.join(', ')}, got ${JSON.stringify(kind)}`);
  if ((kind === 'conv2d4' || kind === 'conv2d2') && inputDim < 7) throw new Error(`[${where}] the ${kind} front end needs inputDim ≥ 7 feature bins, got ${inputDim}`);
  if (kind === 'none' && inputDim !== dModel) throw new Error(`[${where}] frontend 'none' needs inputDim = encoder.dModel, got ${inputDim} and ${dModel} (use 'linear')`);
  const opts = { seed: o.seed, device: o.device };
  switch (kind) {
    case 'conv2d4':
    case 'conv2d2': return new ConvSubsampling(kind, inputDim, dModel, { ...opts, channels: o.channels });
    case 'linear': return new LinearFrontEnd(inputDim, dModel, opts);
    case 'none': return new NoFrontEnd();
  }
}
