/**
 * frontend.ts — encoder front ends, with the names of the PyTorch modules users know.
 *
 *   sinusoidalPositions(L, C)        (L, C) table: [sin(p / 10000^(2i/C)), cos(...)] interleaved
 *   PositionalEncoding               ESPnet: x * sqrt(C) (optional) + table, dropout
 *   ConvPositionalEmbedding          wav2vec2/HuBERT (torchaudio names conv.weight_g/weight_v/bias):
 *                                    grouped Conv1d (kernel 128, 16 groups, weight norm over dim 2),
 *                                    drop the extra frame of the even kernel, GELU; x (B, L, C)
 *   Conv2dSubsampling                ESPnet x4 (conv.0, conv.2, out.0): (B, T, F) -> (B, T', C),
 *                                    T' = ((T - 1) // 2 - 1) // 2
 *   FeatureExtractor                 HuBERT/wav2vec2 CNN on waveforms (torchaudio names
 *                                    conv_layers.i.conv.weight, conv_layers.0.layer_norm): 512
 *                                    channels, kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2, GroupNorm
 *                                    in the first layer, GELU; (B, T) -> (B, frames, 512), 320x down
 */
import { add, gelu, mul, relu } from '../ops/elementwise';
import { reshape, slice, transpose, unsqueeze } from '../ops/shape';
import { tensor } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import { Conv1d, Conv2d } from './conv';
import { paddingMask } from './encoder';
import { deriveSeed } from './init';
import { LayerOptions, Linear } from './layers';
import { Dropout, WeightNorm } from './misc';
import { Module } from './module';
import { GroupNorm } from './norm';
import { Lengths } from './sequence';
import { lengthsArray } from '../ops/lengths';

/** The (L, C) sinusoidal table (float32) on `device`. */
export function sinusoidalPositions(L: number, C: number, device?: Device): Tensor {
  const t = new Float32Array(L * C);
  for (let p = 0; p < L; ++p) {
    for (let i = 0; i < C; i += 2) {
      const w = Math.exp((-Math.log(10000) * i) / C);
      t[p * C + i] = Math.sin(p * w);
      if (i + 1 < C) t[p * C + i + 1] = Math.cos(p * w);
    }
  }
  return tensor(t, [L, C], { device });
}

/** ESPnet PositionalEncoding: x * sqrt(C) + PE, then dropout. x (B, L, C). */
export class PositionalEncoding extends Module {
  dropout: Dropout;
  constructor(readonly dModel: number, readonly o: { dropout?: number; scale?: boolean } = {}) {
    super();
    this.dropout = this.module('dropout', new Dropout(o.dropout ?? 0.1));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const pe = sinusoidalPositions(x.shape[1], this.dModel, x.device);
      const scaled = this.o.scale === false ? x : mul(x, Math.sqrt(this.dModel));
      return this.dropout.forward(add(scaled, pe.to(x.dtype)));
    });
  }
}

/** wav2vec2/HuBERT convolutional positional embedding. x (B, L, C) -> (B, L, C) (to be added to x). */
export class ConvPositionalEmbedding extends Module {
  conv: WeightNorm<Conv1d>;
  constructor(readonly dModel: number, readonly o: LayerOptions & { kernel?: number; groups?: number } = {}) {
    super();
    const k = o.kernel ?? 128;
    const inner = new Conv1d(dModel, dModel, k, { padding: Math.floor(k / 2), groups: o.groups ?? 16, seed: deriveSeed(o.seed ?? 0, 'conv'), device: o.device });
    this.conv = this.module('conv', new WeightNorm(inner, 2));
  }
  forward(x: Tensor, lengths: Lengths | null = null): Tensor {
    return tidy(() => {
      const mask = paddingMask(x, lengths);
      const h = transpose(mask ? mul(x, mask) : x, 1, 2); // (B, C, L)
      let y = this.conv.forward(h) as Tensor; // (B, C, L + 1) for an even kernel
      const k = this.conv.inner.kernelSize;
      if (k % 2 === 0) y = slice(y, 2, 0, y.shape[2] - 1);
      return transpose(gelu(y), 1, 2); // (B, L, C)
    });
  }
}

/** ESPnet Conv2dSubsampling (x4). x (B, T, F) -> (B, ((T - 1) // 2 - 1) // 2, C); returns new lengths too. */
export class Conv2dSubsampling extends Module {
  readonly convs: [Conv2d, Conv2d];
  readonly linear: Linear;
  constructor(readonly inFeatures: number, readonly dModel: number, o: LayerOptions = {}) {
    super();
    const s = o.seed ?? 0;
    const c0 = new Conv2d(1, dModel, 3, { stride: 2, seed: deriveSeed(s, 'conv.0'), device: o.device });
    const c2 = new Conv2d(dModel, dModel, 3, { stride: 2, seed: deriveSeed(s, 'conv.2'), device: o.device });
    const conv = new (class extends Module { forward(): never { throw new Error('unused'); } })();
    (conv as unknown as { module: (n: string, m: Module) => void }).module('0', c0);
    (conv as unknown as { module: (n: string, m: Module) => void }).module('2', c2);
    this.module('conv', conv);
    const fOut = Math.floor((Math.floor((inFeatures - 1) / 2) - 1) / 2);
    this.linear = new Linear(dModel * fOut, dModel, { seed: deriveSeed(s, 'out.0'), device: o.device });
    const out = new (class extends Module { forward(): never { throw new Error('unused'); } })();
    (out as unknown as { module: (n: string, m: Module) => void }).module('0', this.linear);
    this.module('out', out);
    this.convs = [c0, c2];
  }
  /** Output length for an input length. */
  static outLength(n: number): number {
    return Math.max(0, Math.floor((Math.floor((n - 1) / 2) - 1) / 2));
  }
  forward(x: Tensor, lengths: Lengths | null = null): { out: Tensor; lengths: Int32Array | null } {
    const out = tidy(() => {
      const h = relu(this.convs[1].forward(relu(this.convs[0].forward(unsqueeze(x, 1))))); // (B, C, T', F')
      const [B, C, T, F] = h.shape;
      return this.linear.forward(reshape(transpose(h, 1, 2), [B, T, C * F])); // (B, T', C)
    });
    const lens = lengths ? lengthsArray('Conv2dSubsampling', 'lengths', lengths, x.shape[0], x.shape[1], 'T').map(Conv2dSubsampling.outLength) : null;
    return { out, lengths: lens };
  }
}

/** HuBERT/wav2vec2 CNN feature extractor ("group_norm" mode, no conv bias). */
export class FeatureExtractor extends Module {
  readonly layers: { conv: Conv1d; norm: GroupNorm | null }[];
  static readonly SPEC: readonly [number, number][] = [[10, 5], [3, 2], [3, 2], [3, 2], [3, 2], [2, 2], [2, 2]];
  constructor(o: LayerOptions & { channels?: number } = {}) {
    super();
    const C = o.channels ?? 512;
    const list = new (class extends Module { forward(): never { throw new Error('unused'); } })();
    this.layers = FeatureExtractor.SPEC.map(([k, s], i) => {
      const block = new (class extends Module { forward(): never { throw new Error('unused'); } })();
      const reg = (n: string, m: Module) => (block as unknown as { module: (n: string, m: Module) => void }).module(n, m);
      const conv = new Conv1d(i === 0 ? 1 : C, C, k, { stride: s, bias: false, seed: deriveSeed(o.seed ?? 0, `conv${i}`), device: o.device });
      reg('conv', conv);
      const norm = i === 0 ? new GroupNorm(C, C, { device: o.device }) : null;
      if (norm) reg('layer_norm', norm);
      (list as unknown as { module: (n: string, m: Module) => void }).module(String(i), block);
      return { conv, norm };
    });
    this.module('conv_layers', list);
  }
  /** Frames for a waveform of n samples. */
  static outLength(n: number): number {
    let L = n;
    for (const [k, s] of FeatureExtractor.SPEC) L = L < k ? 0 : Math.floor((L - k) / s) + 1;
    return L;
  }
  /** wave (B, T) -> { out (B, frames, C), lengths } */
  forward(wave: Tensor, lengths: Lengths | null = null): { out: Tensor; lengths: Int32Array | null } {
    const out = tidy(() => {
      let h = unsqueeze(wave, 1); // (B, 1, T)
      for (const { conv, norm } of this.layers) {
        h = conv.forward(h);
        if (norm) h = norm.forward(h);
        h = gelu(h);
      }
      return transpose(h, 1, 2); // (B, frames, C)
    });
    const lens = lengths ? lengthsArray('FeatureExtractor', 'lengths', lengths, wave.shape[0], wave.shape[1], 'T').map(FeatureExtractor.outLength) : null;
    return { out, lengths: lens };
  }
}
