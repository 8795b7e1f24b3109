/**
 * encoder.ts — encoder layers on (B, L, C) with lengths (right padding), and the Encoder stack.
 *
 *   TransformerEncoderLayer  torch.nn.TransformerEncoderLayer names (self_attn, linear1, linear2,
 *                            norm1, norm2), post-norm (default) or pre-norm (normFirst)
 *   MambaLayer               mamba-ssm Block: x + mixer(norm(x)) (names mixer.*, norm.*)
 *   ConformerLayer           torchaudio ConformerLayer names: ½FFN -> MHSA -> conv module
 *                            (pointwise -> GLU -> depthwise k -> norm -> SiLU -> pointwise) -> ½FFN -> LayerNorm
 *   ConBiMambaLayer          the same with BiMamba-outer (`bimamba`) in place of MHSA
 *   TransBiMambaLayer        post-norm Transformer layer with BiMamba (`bimamba`) in place of MHSA
 *   BiMambaLayer             the residual block of MambaLayer around a BiMamba mixer (outer or inner):
 *                            x + mixer(norm(x)) (names mixer.*, norm.*, as mamba-ssm Block)
 *   Encoder                  a stack; forward(x, lengths, { hiddenStates: true }) also returns
 *                            hs[0] = input to layer 1, hs[i] = output of layer i (S3PRL convention)
 * Padded steps are zeroed before every convolution and masked as keys in attention, so valid
 * outputs never depend on what the padding holds.
 */
import { lt } from '../ops/elementwise';
import { reshape } from '../ops/shape';
import { tensor } from '../tensor/creation';
import { add, mul, relu, gelu, silu, glu } from '../ops/elementwise';
import { transpose } from '../ops/shape';
import { arange } from '../tensor/creation';
import { keep, tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { MultiHeadAttention } from './attention';
import { BiMamba, BiMambaInner, BiMambaOuter } from './bimamba';
import { Conv1d } from './conv';
import { deriveSeed } from './init';
import { LayerOptions, Linear } from './layers';
import { Mamba, MambaOptions } from './mamba';
import { Dropout } from './misc';
import { Module } from './module';
import { BatchNorm1d, GroupNorm, LayerNorm } from './norm';
import { Lengths } from './sequence';
import { lengthsArray } from '../ops/lengths';

/** A layer of an Encoder: (B, L, C) with lengths -> (B, L, C). */
export interface EncoderLayer extends Module {
  forward(x: Tensor, lengths?: Lengths | null): Tensor;
}

/** (B, L, 1) mask: 1 on valid steps, 0 on padding (null when every step is valid). */
export function paddingMask(x: Tensor, lengths: Lengths | null | undefined): Tensor | null {
  if (!lengths) return null;
  const L = x.shape[1];
  const lens = Array.from(lengthsArray('paddingMask', 'lengths', lengths, x.shape[0], L));
  if (lens.every((n) => n >= L)) return null;
  const t = arange(0, L, 1, { device: x.device, dtype: 'float32' });
  const l = tensor(Float32Array.from(lens), [lens.length, 1], { device: x.device });
  return reshape(lt(reshape(t, [1, L]), l), [lens.length, L, 1]).to(x.dtype);
}

function masked(x: Tensor, mask: Tensor | null): Tensor {
  return mask ? mul(x, mask) : x;
}

function act(name: 'relu' | 'gelu' | 'silu', x: Tensor): Tensor {
  return name === 'relu' ? relu(x) : name === 'gelu' ? gelu(x) : silu(x);
}

export interface TransformerLayerOptions extends LayerOptions {
  dModel: number;
  nHead: number;
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu';
  normFirst?: boolean;
  layerNormEps?: number;
}

export class TransformerEncoderLayer extends Module implements EncoderLayer {
  self_attn: MultiHeadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  constructor(readonly o: TransformerLayerOptions) {
    super();
    const s = o.seed ?? 0, dev = o.device, p = o.dropout ?? 0.1, C = o.dModel, F = o.dimFeedforward ?? 2048;
    this.self_attn = this.module('self_attn', new MultiHeadAttention(C, o.nHead, { seed: deriveSeed(s, 'self_attn'), device: dev, dropout: p }));
    this.linear1 = this.module('linear1', new Linear(C, F, { seed: deriveSeed(s, 'linear1'), device: dev }));
    this.dropout = this.module('dropout', new Dropout(p));
    this.linear2 = this.module('linear2', new Linear(F, C, { seed: deriveSeed(s, 'linear2'), device: dev }));
    this.norm1 = this.module('norm1', new LayerNorm(C, { device: dev, eps: o.layerNormEps ?? 1e-5 }));
    this.norm2 = this.module('norm2', new LayerNorm(C, { device: dev, eps: o.layerNormEps ?? 1e-5 }));
    this.dropout1 = this.module('dropout1', new Dropout(p));
    this.dropout2 = this.module('dropout2', new Dropout(p));
  }
  protected mix(x: Tensor, lengths: Lengths | null): Tensor {
    return this.self_attn.forward(x, { keyLengths: lengths });
  }
  private ff(x: Tensor): Tensor {
    return this.linear2.forward(this.dropout.forward(act(this.o.activation ?? 'relu', this.linear1.forward(x))));
  }
  /** x (B, L, C), lengths (B) -> (B, L, C) */
  forward(x: Tensor, lengths: Lengths | null = null): Tensor {
    return tidy(() => {
      if (this.o.normFirst) {
        const h = add(x, this.dropout1.forward(this.mix(this.norm1.forward(x), lengths)));
        return add(h, this.dropout2.forward(this.ff(this.norm2.forward(h))));
      }
      const h = this.norm1.forward(add(x, this.dropout1.forward(this.mix(x, lengths))));
      return this.norm2.forward(add(h, this.dropout2.forward(this.ff(h))));
    });
  }
}

/** Post-norm Transformer layer with an outer BiMamba (`bimamba`) in place of self-attention. */
export class TransBiMambaLayer extends TransformerEncoderLayer {
  bimamba: BiMambaOuter | BiMambaInner;
  constructor(o: Omit<TransformerLayerOptions, 'nHead'> & { nHead?: number; mamba?: Partial<MambaOptions> & { kind?: 'outer' | 'inner' } }) {
    super({ nHead: 1, ...o });
    // Replace the attention registered by the base class.
    this.module('self_attn', null);
    this.bimamba = this.module('bimamba', BiMamba({ dModel: o.dModel, ...o.mamba, seed: deriveSeed(o.seed ?? 0, 'bimamba'), device: o.device }));
  }
  protected override mix(x: Tensor, lengths: Lengths | null): Tensor {
    return this.bimamba.forward(x, lengths);
  }
}

/** mamba-ssm Block: out = x + mixer(norm(x)). */
export class MambaLayer extends Module implements EncoderLayer {
  mixer: Mamba;
  norm: LayerNorm;
  constructor(o: MambaOptions) {
    super();
    this.mixer = this.module('mixer', new Mamba({ ...o, seed: deriveSeed(o.seed ?? 0, 'mixer') }));
    this.norm = this.module('norm', new LayerNorm(o.dModel, { device: o.device }));
  }
  forward(x: Tensor, lengths: Lengths | null = null): Tensor {
    return tidy(() => add(x, this.mixer.forward(this.norm.forward(x), lengths)));
  }
}

/** The mamba-ssm Block residual around a bidirectional mixer: out = x + BiMamba(norm(x)).
 *  x (B, L, C), lengths (B) -> (B, L, C). kind 'outer' (ExtBiMamba, default) or 'inner'. */
export class BiMambaLayer extends Module implements EncoderLayer {
  mixer: BiMambaOuter | BiMambaInner;
  norm: LayerNorm;
  constructor(o: MambaOptions & { kind?: 'outer' | 'inner' }) {
    super();
    const { reverse: _unused, ...rest } = o;
    void _unused;
    this.mixer = this.module('mixer', BiMamba({ ...rest, seed: deriveSeed(o.seed ?? 0, 'mixer') }));
    this.norm = this.module('norm', new LayerNorm(o.dModel, { device: o.device }));
  }
  forward(x: Tensor, lengths: Lengths | null = null): Tensor {
    return tidy(() => add(x, this.mixer.forward(this.norm.forward(x), lengths)));
  }
}

/** torchaudio _FeedForwardModule: LayerNorm -> Linear(C, F) -> SiLU -> Dropout -> Linear(F, C) -> Dropout. */
class FeedForward extends Module {
  sequential: { ln: LayerNorm; l1: Linear; d1: Dropout; l2: Linear; d2: Dropout };
  constructor(C: number, F: number, p: number, seed: number, device: LayerOptions['device']) {
    super();
    const seq = new (class extends Module { forward(): never { throw new Error('unused'); } })();
    const ln = new LayerNorm(C, { device });
    const l1 = new Linear(C, F, { seed: deriveSeed(seed, 'l1'), device });
    const l2 = new Linear(F, C, { seed: deriveSeed(seed, 'l2'), device });
    // Registered under torchaudio's Sequential indices: 0 LayerNorm, 1 Linear, 4 Linear.
    (seq as unknown as { module: (n: string, m: Module) => void }).module('0', ln);
    (seq as unknown as { module: (n: string, m: Module) => void }).module('1', l1);
    (seq as unknown as { module: (n: string, m: Module) => void }).module('4', l2);
    this.module('sequential', seq);
    this.sequential = { ln, l1, d1: new Dropout(p), l2, d2: new Dropout(p) };
  }
  forward(x: Tensor): Tensor {
    const s = this.sequential;
    s.d1.training = s.d2.training = this.training;
    return s.d2.forward(s.l2.forward(s.d1.forward(silu(s.l1.forward(s.ln.forward(x))))));
  }
}

/** torchaudio _ConvolutionModule (names layer_norm, sequential.{0 pointwise, 2 depthwise, 3 norm, 5 pointwise}). */
class ConvModule extends Module {
  layer_norm: LayerNorm;
  pw1: Conv1d;
  dw: Conv1d;
  norm: BatchNorm1d | GroupNorm;
  pw2: Conv1d;
  drop: Dropout;
  constructor(C: number, k: number, p: number, useGroupNorm: boolean, seed: number, device: LayerOptions['device']) {
    super();
    this.layer_norm = this.module('layer_norm', new LayerNorm(C, { device }));
    const seq = new (class extends Module { forward(): never { throw new Error('unused'); } })();
    const reg = (n: string, m: Module) => (seq as unknown as { module: (n: string, m: Module) => void }).module(n, m);
    this.pw1 = new Conv1d(C, 2 * C, 1, { seed: deriveSeed(seed, 'pw1'), device });
    this.dw = new Conv1d(C, C, k, { seed: deriveSeed(seed, 'dw'), device, groups: C, padding: (k - 1) >> 1 });
    this.norm = useGroupNorm ? new GroupNorm(1, C, { device }) : new BatchNorm1d(C, { device });
    this.pw2 = new Conv1d(C, C, 1, { seed: deriveSeed(seed, 'pw2'), device });
    reg('0', this.pw1);
    reg('2', this.dw);
    reg('3', this.norm);
    reg('5', this.pw2);
    this.module('sequential', seq);
    this.drop = new Dropout(p);
  }
  /** x (B, L, C) -> (B, L, C); mask (B, L, 1) zeroes padding before each time conv. */
  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    this.drop.training = this.training;
    const h = transpose(masked(this.layer_norm.forward(x), mask), 1, 2); // (B, C, L)
    const g = glu(this.pw1.forward(h), 1); // (B, C, L)
    const m = mask ? transpose(mask, 1, 2) : null; // (B, 1, L)
    const d = this.norm.forward(this.dw.forward(masked(g, m)));
    const y = this.drop.forward(this.pw2.forward(silu(d)));
    return transpose(y, 1, 2); // (B, L, C)
  }
}

export interface ConformerLayerOptions extends LayerOptions {
  dModel: number;
  nHead?: number;
  ffnDim?: number;
  depthwiseKernel?: number;
  dropout?: number;
  useGroupNorm?: boolean;
  /** mixer options of ConBiMambaLayer; kind 'outer' (default, ExtBiMamba) or 'inner' */
  mamba?: Partial<MambaOptions> & { kind?: 'outer' | 'inner' };
}

export class ConformerLayer extends Module implements EncoderLayer {
  ffn1: FeedForward;
  self_attn_layer_norm: LayerNorm;
  self_attn: MultiHeadAttention | null;
  self_attn_dropout: Dropout;
  conv_module: ConvModule;
  ffn2: FeedForward;
  final_layer_norm: LayerNorm;
  constructor(readonly o: ConformerLayerOptions, withAttention = true) {
    super();
    const s = o.seed ?? 0, dev = o.device, C = o.dModel, p = o.dropout ?? 0.1, F = o.ffnDim ?? 4 * C;
    this.ffn1 = this.module('ffn1', new FeedForward(C, F, p, deriveSeed(s, 'ffn1'), dev));
    this.self_attn_layer_norm = this.module('self_attn_layer_norm', new LayerNorm(C, { device: dev }));
    this.self_attn = withAttention ? this.module('self_attn', new MultiHeadAttention(C, o.nHead ?? 4, { seed: deriveSeed(s, 'self_attn'), device: dev, dropout: p })) : null;
    this.self_attn_dropout = this.module('self_attn_dropout', new Dropout(p));
    this.conv_module = this.module('conv_module', new ConvModule(C, o.depthwiseKernel ?? 31, p, o.useGroupNorm ?? false, deriveSeed(s, 'conv'), dev));
    this.ffn2 = this.module('ffn2', new FeedForward(C, F, p, deriveSeed(s, 'ffn2'), dev));
    this.final_layer_norm = this.module('final_layer_norm', new LayerNorm(C, { device: dev }));
  }
  protected mix(x: Tensor, lengths: Lengths | null): Tensor {
    return this.self_attn!.forward(x, { keyLengths: lengths });
  }
  /** x (B, L, C), lengths (B) -> (B, L, C) */
  forward(x: Tensor, lengths: Lengths | null = null): Tensor {
    return tidy(() => {
      const mask = paddingMask(x, lengths);
      let h = add(x, mul(this.ffn1.forward(x), 0.5));
      h = add(h, this.self_attn_dropout.forward(this.mix(this.self_attn_layer_norm.forward(h), lengths)));
      h = add(h, this.conv_module.forward(h, mask));
      h = add(h, mul(this.ffn2.forward(h), 0.5));
      return this.final_layer_norm.forward(h);
    });
  }
}

/** Conformer with an outer BiMamba (`bimamba`) in place of multi-head self-attention. */
export class ConBiMambaLayer extends ConformerLayer {
  bimamba: BiMambaOuter | BiMambaInner;
  constructor(o: ConformerLayerOptions) {
    super(o, false);
    this.bimamba = this.module('bimamba', BiMamba({ dModel: o.dModel, ...o.mamba, seed: deriveSeed(o.seed ?? 0, 'bimamba'), device: o.device }));
  }
  protected override mix(x: Tensor, lengths: Lengths | null): Tensor {
    return this.bimamba.forward(x, lengths);
  }
}

export interface EncoderOutput {
  out: Tensor;
  /** hs[0] = input to layer 1, hs[i] = output of layer i; present only when asked for. */
  hiddenStates?: Tensor[];
}

/** A stack of encoder layers (names layers.0, layers.1, ...). */
export class Encoder extends Module {
  readonly layers: EncoderLayer[];
  constructor(layers: EncoderLayer[]) {
    super();
    const list = new (class extends Module { forward(): never { throw new Error('unused'); } })();
    layers.forEach((l, i) => (list as unknown as { module: (n: string, m: Module) => void }).module(String(i), l));
    this.module('layers', list);
    this.layers = layers;
  }
  /** x (B, L, C), lengths (B) -> { out (B, L, C), hiddenStates? (L + 1 tensors) } */
  forward(x: Tensor, lengths: Lengths | null = null, opts: { hiddenStates?: boolean } = {}): EncoderOutput {
    const hs: Tensor[] | undefined = opts.hiddenStates ? [x] : undefined;
    let h = x;
    for (const layer of this.layers) {
      const next = layer.forward(h, lengths);
      // Intermediate outputs are freed as soon as the next layer has run, unless kept for hs.
      if (h !== x && !hs) h.dispose();
      h = next;
      if (hs) hs.push(h);
    }
    if (hs) hs.forEach((t) => t !== x && keep(t));
    return hs ? { out: h, hiddenStates: hs } : { out: h };
  }
}
