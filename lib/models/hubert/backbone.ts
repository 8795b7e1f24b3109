/**
 * backbone.ts — the part of HuBERT that pre-training and fine-tuning share:
 *
 *   input -> [per-utterance normalisation] -> frontend (B, T', C) -> feature_projection
 *   (LayerNorm C, Linear C -> d) -> dropout_input -> [mask_embedding at masked frames]
 *   -> x + pos_conv_embed(x) -> layer_norm (post-norm stacks) -> dropout -> encoder (any spec
 *   type) -> [layer_norm (pre-norm stacks: mamba, bimamba, pre-norm transformer)]
 *
 * Glossary:
 *   input      cnn: waveform (B, S) or (B, S, 1) with valid samples per item; logmel: (B, T, nMels)
 *   T'         model frames; lengths' from FeatureExtractor.outLength / Conv2dSubsampling.outLength
 *   frameRate  model frames per second: sampleRate / 320 (cnn) or featureRate / 4 (logmel)
 *   names      feature_extractor.conv_layers.<i>.conv.weight (cnn) | subsampling.conv.0/2, out.0
 *              (logmel); feature_projection.layer_norm / .projection; mask_embedding (d);
 *              pos_conv_embed.conv.weight_g / weight_v / bias; layer_norm; encoder.layers.<i>.*
 *              — torchaudio's layout without its wav2vec2.encoder.transformer prefixes (interop.ts)
 * The layer_norm sits where torchaudio's Transformer puts it: before the layers for post-norm
 * stacks (layer_norm_first False, base), after them for stacks that end unnormalised.
 */
import { noGrad, record } from '../../autograd/tape';
import { add, div, mul, sqrt, square, sub } from '../../ops/elementwise';
import { sum } from '../../ops/reduce';
import { reshape, squeeze, unsqueeze } from '../../ops/shape';
import { Encoder, TransformerEncoderLayer, paddingMask } from '../../nn/encoder';
import { Conv2dSubsampling, ConvPositionalEmbedding, FeatureExtractor } from '../../nn/frontend';
import { deriveSeed, uniform } from '../../nn/init';
import { Linear } from '../../nn/layers';
import { Dropout } from '../../nn/misc';
import { Module } from '../../nn/module';
import { LayerNorm } from '../../nn/norm';
import { fromTypedArray } from '../../tensor/creation';
import { getDefaultDevice } from '../../tensor/device';
import { tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';
import { Device, DType } from '../../tensor/types';
import { buildEncoder, endsUnnormalised } from '../encoder_spec';
import { SpanMask } from '../masking';
import { ResolvedBackbone } from './config';

/** y = x forward; dL/dx = scale · dL/dy (fairseq's GradMultiply). */
export function gradScale(x: Tensor, scale: number): Tensor {
  const out = x.detach();
  record('gradScale', [x], [out], [], ([g]) => [g ? mul(g, scale) : null]);
  return out;
}

/**
 * Per-utterance normalisation over valid steps: x (B, T, F) -> (x − mean_b) / sqrt(var_b + 1e-5)
 * per feature, zero on padding (fairseq's `normalize`, a layer norm of each waveform).
 */
export function utteranceNorm(x: Tensor, lengths: Int32Array): Tensor {
  return tidy(() => {
    const [B, T] = x.shape;
    const m = paddingMask(x, lengths) ?? fromTypedArray(new Float32Array(B * T).fill(1), [B, T, 1], { device: x.device }); // (B, T, 1)
    const n = fromTypedArray(Float32Array.from(lengths, (v) => Math.max(v, 1)), [B, 1, 1], { device: x.device }); // (B, 1, 1)
    const mean = div(sum(mul(x, m), 1, true), n); // (B, 1, F)
    const c = mul(sub(x, mean), m); // (B, T, F)
    const v = div(sum(square(c), 1, true), n); // (B, 1, F)
    return div(c, sqrt(add(v, 1e-5))); // (B, T, F)
  });
}

/** torchaudio FeatureProjection: LayerNorm(C) then Linear(C, d) (dropout lives in the backbone). */
class FeatureProjection extends Module {
  layer_norm: LayerNorm;
  projection: Linear;
  constructor(C: number, d: number, seed: number, device: Device) {
    super();
    this.layer_norm = this.module('layer_norm', new LayerNorm(C, { device }));
    this.projection = this.module('projection', new Linear(C, d, { seed: deriveSeed(seed, 'projection'), device }));
  }
  forward(x: Tensor): Tensor {
    return this.projection.forward(this.layer_norm.forward(x));
  }
}

/** Checked model input: the tensor as the front end takes it and valid lengths. */
export interface BackboneInput {
  x: Tensor;
  lengths: Int32Array;
}

/** The shared HuBERT encoder (see the module header); Hubert and HubertCtc extend it. */
export abstract class HubertBackbone extends Module {
  readonly cfg: ResolvedBackbone;
  device: Device;
  feature_extractor: FeatureExtractor | null = null;
  subsampling: Conv2dSubsampling | null = null;
  feature_projection: FeatureProjection;
  mask_embedding: Tensor;
  pos_conv_embed: ConvPositionalEmbedding;
  layer_norm: LayerNorm;
  encoder: Encoder;
  protected dropout_input: Dropout;
  protected dropout: Dropout;
  abstract readonly modelName: string;

  protected constructor(cfg: ResolvedBackbone, device: Device | undefined) {
    super();
    this.cfg = cfg;
    const dev = device ?? getDefaultDevice();
    this.device = dev;
    const { seed, encoder: spec } = cfg, d = spec.dModel, C = cfg.extractorChannels;
    if (cfg.frontend === 'cnn') {
      this.feature_extractor = this.module('feature_extractor', new FeatureExtractor({ channels: C, seed: deriveSeed(seed, 'feature_extractor'), device: dev }));
    } else {
      this.subsampling = this.module('subsampling', new Conv2dSubsampling(cfg.nMels, C, { seed: deriveSeed(seed, 'subsampling'), device: dev }));
    }
    this.feature_projection = this.module('feature_projection', new FeatureProjection(C, d, deriveSeed(seed, 'feature_projection'), dev));
    // fairseq / torchaudio: mask_emb ~ U[0, 1)
    this.mask_embedding = this.param('mask_embedding', uniform([d], 0, 1, { seed: deriveSeed(seed, 'mask_embedding'), device: dev }));
    this.pos_conv_embed = this.module('pos_conv_embed', new ConvPositionalEmbedding(d, { kernel: cfg.posConvKernel, groups: cfg.posConvGroups, seed: deriveSeed(seed, 'pos_conv_embed'), device: dev }));
    this.layer_norm = this.module('layer_norm', new LayerNorm(d, { device: dev }));
    this.encoder = this.module('encoder', buildEncoder(spec, { seed: deriveSeed(seed, 'encoder'), device: dev }));
    for (const layer of this.encoder.layers) if (layer instanceof TransformerEncoderLayer) layer.o.activation = cfg.activation;
    this.dropout_input = this.module('dropout_input', new Dropout(cfg.dropoutInput));
    this.dropout = this.module('dropout', new Dropout(spec.dropout));
  }

  /** Model frames per second (50 for the CNN at 16 kHz, 25 for log-mel at 100 Hz). */
  get frameRate(): number {
    return this.cfg.frontend === 'cnn' ? this.cfg.sampleRate / 320 : this.cfg.featureRate / 4;
  }

  /** Input steps (samples or feature frames) per model frame: 320 or 4. */
  get subsamplingFactor(): number {
    return this.cfg.frontend === 'cnn' ? 320 : 4;
  }

  /** Input steps per second (sampleRate or featureRate). */
  get inputRate(): number {
    return this.cfg.frontend === 'cnn' ? this.cfg.sampleRate : this.cfg.featureRate;
  }

  /** Model frames for `n` input steps. */
  outLength(n: number): number {
    return this.cfg.frontend === 'cnn' ? FeatureExtractor.outLength(n) : Conv2dSubsampling.outLength(n);
  }

  protected fail(msg: string): never {
    throw new Error(`[${this.modelName}] ${msg}`);
  }

  /** Checks the input against the front end (shape, dtype, device, lengths, at least one model
   *  frame per item) and returns it as the front end takes it. */
  protected checkInput(features: unknown, lengths: unknown): BackboneInput {
    const cnn = this.cfg.frontend === 'cnn';
    const want = cnn ? '(B, S) or (B, S, 1) waveform' : `(B, T, ${this.cfg.nMels}) log-mel features`;
    if (!(features instanceof Tensor)) this.fail(`features must be a float Tensor ${want}, got ${features === null ? 'null' : typeof features}`);
    if (features.dtype === 'int32') this.fail(`features must be float32, got int32`);
    let x = features;
    const s = x.shape;
    if (cnn) {
      if (!(x.ndim === 2 || (x.ndim === 3 && s[2] === 1))) this.fail(`features must be a ${want} for the cnn front end, got (${s.join(', ')})`);
    } else if (x.ndim !== 3 || s[2] !== this.cfg.nMels) {
      const hint = x.ndim === 3 && s[1] === this.cfg.nMels ? ': this looks like (B, F, T); transpose it to (B, T, F)' : '';
      this.fail(`features must be ${want}, got (${s.join(', ')})${hint}`);
    }
    if (x.device !== this.device) this.fail(`features are on ${x.device}, the model is on ${this.device}`);
    const [B, T] = s;
    if (B === 0 || T === 0) this.fail(`empty input (${s.join(', ')})`);
    let lens: Int32Array;
    if (lengths === null || lengths === undefined) lens = new Int32Array(B).fill(T);
    else {
      const v = lengths instanceof Tensor ? lengths.dataSync() : (lengths as ArrayLike<number>);
      if (!v || v.length !== B) this.fail(`lengths must have B = ${B} entries, got ${v ? v.length : String(v)}`);
      lens = Int32Array.from(v);
      lens.forEach((n, b) => {
        if (!Number.isInteger(v[b]) || n < 1 || n > T) this.fail(`lengths[${b}] = ${v[b]} is outside [1, ${T}]`);
      });
    }
    const minIn = cnn ? 400 : 7;
    lens.forEach((n, b) => {
      if (this.outLength(n) < 1) this.fail(`item ${b} has ${n} ${cnn ? 'samples' : 'frames'}; the ${this.cfg.frontend} front end needs at least ${minIn} for one frame`);
    });
    if (cnn && x.ndim === 3) x = squeeze(x, 2);
    return { x, lengths: lens };
  }

  /** Front end: (B, S) or (B, T, F) -> features (B, T', C) and lengths'. The CNN runs without
   *  gradients when `frozen` or featureGradMult is 0, else its gradient is scaled by the mult. */
  protected extract(inp: BackboneInput, frozen = false): { feats: Tensor; lengths: Int32Array } {
    const run = (): { out: Tensor; lengths: Int32Array | null } => tidy(() => {
      if (this.feature_extractor) {
        const w = this.cfg.normalizeInput ? squeeze(utteranceNorm(unsqueeze(inp.x, 2), inp.lengths), 2) : inp.x; // (B, S)
        return this.feature_extractor.forward(w, inp.lengths);
      }
      const f = this.cfg.normalizeInput ? utteranceNorm(inp.x, inp.lengths) : inp.x; // (B, T, F)
      return this.subsampling!.forward(f, inp.lengths);
    });
    const mult = this.cfg.featureGradMult;
    const r = frozen || mult === 0 ? noGrad(run) : run();
    const feats = !frozen && mult > 0 && mult < 1 ? gradScale(r.out, mult) : r.out;
    return { feats, lengths: r.lengths! };
  }

  /** The model input as the analysis sees it (HiddenStates.inputs): log-mel features normalised
   *  as the front end saw them, in a new tensor the caller may dispose; null for waveforms. */
  protected analysisInputs(inp: BackboneInput): Tensor | null {
    if (this.cfg.frontend !== 'logmel') return null;
    return this.cfg.normalizeInput ? utteranceNorm(inp.x, inp.lengths) : mul(inp.x, 1);
  }

  /** feature_projection then dropout_input: (B, T', C) -> (B, T', d). */
  protected project(feats: Tensor): Tensor {
    return this.dropout_input.forward(this.feature_projection.forward(feats));
  }

  /** x (B, T', d) with the mask embedding at the masked frames of `mask` (B, T'). */
  protected applyMask(x: Tensor, mask: SpanMask): Tensor {
    return tidy(() => {
      const [B, T] = mask.shape;
      const m = fromTypedArray(Float32Array.from(mask.mask), [B, T, 1], { device: x.device }); // (B, T', 1)
      const emb = reshape(this.mask_embedding, [1, 1, this.mask_embedding.shape[0]]); // (1, 1, d)
      return add(mul(x, sub(1, m)), mul(m, emb)); // (B, T', d)
    });
  }

  /** Positional conv, layer norm and the layer stack: x (B, T', d) -> { out (B, T', d), hs? }. */
  protected encode(x: Tensor, lengths: Int32Array, hiddenStates = false): { out: Tensor; hiddenStates?: Tensor[] } {
    const pre = !endsUnnormalised(this.cfg.encoder);
    const h0 = tidy(() => {
      const h = add(x, this.pos_conv_embed.forward(x, lengths)); // (B, T', d)
      return this.dropout.forward(pre ? this.layer_norm.forward(h) : h);
    });
    const enc = this.encoder.forward(h0, lengths, { hiddenStates });
    if (pre) return enc;
    const out = this.layer_norm.forward(enc.out);
    if (!hiddenStates) enc.out.dispose();
    return { out, hiddenStates: enc.hiddenStates };
  }

  /** Moves parameters and buffers (Module.to) and records the device. */
  override to(target: Device | DType | { device?: Device; dtype?: DType }): this {
    super.to(target);
    const d = typeof target === 'string' ? (target === 'cpu' || target === 'cuda' ? target : undefined) : target.device;
    if (d) this.device = d;
    return this;
  }
}
