/**
 * reconstruction.ts — masked-spectrogram reconstruction on the shared encoder spec
 * (models.MaskedReconstruction), the task where the paper finds Mamba strong.
 *
 *   log-mel (B, T, F) -> normalize (global CMVN) = target -> time-span masks: masked frames
 *   replaced by the learned vector mask_emb (F); optional frequency masks: bins set to 0 (the
 *   normalised mean) on every valid frame -> in_proj Linear(F, C) -> positional encoding
 *   (attention stacks) -> encoder -> [after_norm, pre-norm stacks only] -> out_proj Linear(C, F)
 *
 * Glossary:
 *   maskProb, maskSpan  fairseq compute_mask_indices (models.computeMaskIndices) per utterance:
 *                       floor(p·L/span + u) spans (at least 1) of `maskSpan` frames, starts drawn
 *                       without replacement in [0, L - span), never past the valid length L; an
 *                       utterance too short for any span still gets one masked frame
 *   loss                L1 (or MSE) between prediction and the normalised input over the masked
 *                       frames of valid length only (every bin), averaged over masked frames × F
 *   maskedL1            the same L1 in the input's units (prediction de-normalised)
 *   lsd                 log-spectral distance over masked frames, in dB: mean over frames of
 *                       sqrt(mean_f (10/ln 10 · (x̂ - x))²) for natural-log power mels (fbank's
 *                       default log 'ln'); featureLog 'db' takes x in dB already (factor 1)
 *   masks' seeds        training mode: deriveSeed(seed, 'mask', step, b) with step the model's
 *                       random-stream counter (rngState); eval mode: deriveSeed(seed, 'eval', id),
 *                       so a validation set is masked the same way at every evaluation and in any
 *                       batching
 *   names               normalize.*, mask_emb, in_proj.*, encoder.layers.<i>.*, after_norm.*
 *                       (mamba / bimamba / pre-norm transformer), out_proj.*
 */
import { Rng } from '../audio/rng';
import { noGrad } from '../autograd/tape';
import { deriveSeed as dataSeed } from '../data/rng';
import { abs, add, mul, sqrt, sub } from '../ops/elementwise';
import { mean, sum } from '../ops/reduce';
import { reshape } from '../ops/shape';
import { Encoder } from '../nn/encoder';
import { PositionalEncoding } from '../nn/frontend';
import { deriveSeed, uniform } from '../nn/init';
import { Linear } from '../nn/layers';
import { LayerNorm } from '../nn/norm';
import { fromTypedArray } from '../tensor/creation';
import { getDefaultDevice } from '../tensor/device';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import type { ReconstructionBatch } from './collate';
import { checkFeatures, checkOptionKeys, eachBatch, fail, SpeechModel, withMode } from './common';
import { buildEncoder, EncoderSpec, endsUnnormalised, needsPositionalEncoding, ResolvedEncoderSpec, resolveEncoderSpec } from './encoder_spec';
import { GlobalNorm, NormStats } from './features';
import { computeMaskIndices } from './masking';
import type { HiddenStates, LossOutput, TaskModel } from './task';

/** Frequency masks: `masks` bands per utterance, each of width uniform in [0, width] bins. */
export interface FreqMaskConfig {
  masks: number;
  width: number;
}

/** Options of MaskedReconstruction (see the module glossary). */
export interface MaskedReconstructionOptions {
  /** F, the feature dim. */
  inputDim: number;
  encoder: EncoderSpec;
  /** fairseq mask_prob: expected share of frames starting... see the glossary (default 0.15). */
  maskProb?: number;
  /** Span length in frames (default 7). */
  maskSpan?: number;
  /** Frequency masks (default off). */
  freqMask?: FreqMaskConfig | false;
  /** 'l1' (default) or 'mse'. */
  loss?: 'l1' | 'mse';
  /** Units of the input for lsd: 'ln' natural-log power (default), 'db'. */
  featureLog?: 'ln' | 'db';
  /** Dropout of the positional encoding (default: the encoder's). */
  dropout?: number;
  seed?: number;
  device?: Device;
}

/** The masks of one batch: time (B·T) 1 = masked frame; freq (B·F) 1 = masked bin, or null. */
export interface ReconstructionMasks {
  time: Uint8Array;
  freq: Uint8Array | null;
  /** masked frames per item */
  counts: Int32Array;
}

/** forward's result: prediction (B, T, F) in normalised units, valid lengths, hidden states. */
export interface ReconstructionForward {
  prediction: Tensor;
  lengths: Int32Array;
  hiddenStates?: Tensor[];
}

const KEYS = ['task', 'inputDim', 'encoder', 'maskProb', 'maskSpan', 'freqMask', 'loss', 'featureLog', 'dropout', 'seed', 'device'];

/** Masked-spectrogram reconstruction (see the module glossary). Implements TaskModel<ReconstructionBatch>. */
export class MaskedReconstruction extends SpeechModel implements TaskModel<ReconstructionBatch> {
  readonly task = 'reconstruction';
  readonly modelName = 'MaskedReconstruction';
  readonly encoderSpec: ResolvedEncoderSpec;
  readonly inputDim: number;
  readonly maskProb: number;
  readonly maskSpan: number;
  readonly freqMask: FreqMaskConfig | false;
  readonly lossKind: 'l1' | 'mse';
  readonly featureLog: 'ln' | 'db';
  readonly dropoutRate: number;
  normalize: GlobalNorm;
  mask_emb: Tensor;
  in_proj: Linear;
  pos: PositionalEncoding | null;
  encoder: Encoder;
  after_norm: LayerNorm | null;
  out_proj: Linear;

  constructor(o: MaskedReconstructionOptions) {
    if (o === null || typeof o !== 'object') throw new Error('[MaskedReconstruction] expected an options object { inputDim, encoder, ... }');
    checkOptionKeys('MaskedReconstruction', o as unknown as Record<string, unknown>, KEYS);
    const seed = o.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new Error(`[MaskedReconstruction] seed must be an integer, got ${JSON.stringify(o.seed)}`);
    super(seed, o.device ?? getDefaultDevice());
    const where = 'MaskedReconstruction';
    if (!Number.isInteger(o.inputDim) || o.inputDim < 1) fail(where, `inputDim must be a positive integer, got ${JSON.stringify(o.inputDim)}`);
    this.encoderSpec = resolveEncoderSpec(o.encoder, `${where}.encoder`);
    const p = o.maskProb ?? 0.15, span = o.maskSpan ?? 7;
    if (typeof p !== 'number' || !(p > 0 && p <= 1)) fail(where, `maskProb must be in (0, 1], got ${JSON.stringify(o.maskProb)}`);
    if (!Number.isInteger(span) || span < 1) fail(where, `maskSpan must be a positive integer (frames), got ${JSON.stringify(o.maskSpan)}`);
    const fm = o.freqMask ?? false;
    if (fm !== false) {
      if (fm === null || typeof fm !== 'object' || !Number.isInteger(fm.masks) || fm.masks < 0 || !Number.isInteger(fm.width) || fm.width < 0 || fm.width > o.inputDim) {
        fail(where, `freqMask must be false or { masks ≥ 0, width in [0, ${o.inputDim}] } (integers), got ${JSON.stringify(fm)}`);
      }
    }
    const lossKind = o.loss ?? 'l1';
    if (lossKind !== 'l1' && lossKind !== 'mse') fail(where, `loss must be 'l1' or 'mse', got ${JSON.stringify(o.loss)}`);
    const featureLog = o.featureLog ?? 'ln';
    if (featureLog !== 'ln' && featureLog !== 'db') fail(where, `featureLog must be 'ln' or 'db', got ${JSON.stringify(o.featureLog)}`);
    const drop = o.dropout ?? this.encoderSpec.dropout;
    if (typeof drop !== 'number' || !(drop >= 0 && drop < 1)) fail(where, `dropout must be in [0, 1), got ${JSON.stringify(o.dropout)}`);
    this.inputDim = o.inputDim;
    this.maskProb = p;
    this.maskSpan = span;
    this.freqMask = fm ? { masks: fm.masks, width: fm.width } : false;
    this.lossKind = lossKind;
    this.featureLog = featureLog;
    this.dropoutRate = drop;
    const F = o.inputDim, C = this.encoderSpec.dModel, device = this.device;
    this.normalize = this.module('normalize', new GlobalNorm(F, { device }));
    // fairseq/HuBERT initialise mask_emb with uniform_() (U[0, 1)).
    this.mask_emb = this.param('mask_emb', uniform([F], 0, 1, { seed: deriveSeed(seed, 'mask_emb'), device }));
    this.in_proj = this.module('in_proj', new Linear(F, C, { seed: deriveSeed(seed, 'in_proj'), device }));
    this.pos = this.module('pos', needsPositionalEncoding(this.encoderSpec) ? new PositionalEncoding(C, { dropout: drop }) : null);
    this.encoder = this.module('encoder', buildEncoder(this.encoderSpec, { seed: deriveSeed(seed, 'encoder'), device }));
    this.after_norm = this.module('after_norm', endsUnnormalised(this.encoderSpec) ? new LayerNorm(C, { device }) : null);
    this.out_proj = this.module('out_proj', new Linear(C, F, { seed: deriveSeed(seed, 'out_proj'), device }));
  }

  /** Rebuilds a model from toConfig()'s JSON (weights come from load). */
  static fromConfig(config: Record<string, unknown>, opts: { device?: Device } = {}): MaskedReconstruction {
    if (config.task !== undefined && config.task !== 'reconstruction') fail('MaskedReconstruction', `config is for task '${String(config.task)}', not 'reconstruction'`);
    const { task: _t, ...rest } = config;
    void _t;
    return new MaskedReconstruction({ ...(rest as unknown as MaskedReconstructionOptions), device: opts.device ?? (rest.device as Device | undefined) });
  }

  toConfig(): Record<string, unknown> {
    return {
      task: this.task, inputDim: this.inputDim, encoder: { ...this.encoderSpec }, maskProb: this.maskProb, maskSpan: this.maskSpan,
      freqMask: this.freqMask, loss: this.lossKind, featureLog: this.featureLog, dropout: this.dropoutRate, seed: this.seed,
    };
  }

  /** Sets the global feature normalisation (see CtcAsr.setNormalization). */
  setNormalization(stats: NormStats): this {
    this.normalize.setStats(stats, 'MaskedReconstruction');
    return this;
  }

  private checkInput(features: unknown, lengths: unknown): Int32Array {
    const lens = checkFeatures('MaskedReconstruction', features, lengths, this.inputDim);
    const x = features as Tensor;
    if (x.device !== this.device) fail('MaskedReconstruction', `features are on ${x.device}, the model is on ${this.device} (collate with { device: '${this.device}' } or model.to('${x.device}'))`);
    return lens;
  }

  /**
   * Draws the masks of a (B, T) batch with valid `lengths`: per item b from seed `seeds[b]` (see the
   * glossary for the seeds loss() uses). At least one masked frame per item; never in padding.
   */
  drawMasks(T: number, lengths: Int32Array, seeds: readonly number[]): ReconstructionMasks {
    const B = lengths.length, F = this.inputDim;
    const time = new Uint8Array(B * T), counts = new Int32Array(B);
    const freq = this.freqMask ? new Uint8Array(B * F) : null;
    for (let b = 0; b < B; ++b) {
      const L = lengths[b];
      const m = computeMaskIndices([1, L], null, { maskProb: this.maskProb, maskLength: this.maskSpan, minMasks: 1, sameCount: false, seed: seeds[b] });
      let c = m.counts[0];
      time.set(m.mask, b * T);
      const rng = new Rng(dataSeed(seeds[b], 'extra'));
      if (c === 0 && L > 0) {
        time[b * T + Math.min(L - 1, Math.floor(rng.uniform() * L))] = 1; // a 1-frame utterance: fairseq's start range can miss it
        c = 1;
      }
      counts[b] = c;
      if (freq && this.freqMask) {
        for (let k = 0; k < this.freqMask.masks; ++k) {
          const w = rng.int(0, this.freqMask.width), s0 = rng.int(0, F - w);
          freq.fill(1, b * F + s0, b * F + s0 + w);
        }
      }
    }
    return { time, freq, counts };
  }

  /**
   * features (B, T, F) + lengths -> { prediction (B, T, F) in normalised units, lengths,
   * hiddenStates? [encoder input, layer 1..L] }. With `masks` the masked frames are replaced by
   * mask_emb (and masked bins zeroed) before the encoder; without, the input is seen whole.
   */
  forward(features: Tensor, lengths?: Int32Array | readonly number[] | Tensor | null, opts: { masks?: ReconstructionMasks; hiddenStates?: boolean } = {}): ReconstructionForward {
    const lens = this.checkInput(features, lengths);
    const [B, T] = features.shape;
    if (opts.masks && (opts.masks.time.length !== B * T || (opts.masks.freq && opts.masks.freq.length !== B * this.inputDim))) {
      fail('MaskedReconstruction', `masks must cover (B, T) = (${B}, ${T}) frames and (B, F) bins`);
    }
    const r = this.run(features, lens, opts.masks ?? null, !!opts.hiddenStates);
    r.target.dispose();
    r.timeMask?.dispose();
    return r.out;
  }

  private run(features: Tensor, lens: Int32Array, masks: ReconstructionMasks | null, hs: boolean): { out: ReconstructionForward; target: Tensor; timeMask: Tensor | null } {
    const [B, T, F] = features.shape;
    const r = tidy(() => {
      const target = this.normalize.forward(features); // (B, T, F)
      let x = target;
      let tm: Tensor | null = null;
      if (masks) {
        tm = fromTypedArray(Float32Array.from(masks.time), [B, T, 1], { device: this.device }); // (B, T, 1)
        if (masks.freq) {
          const keepBins = fromTypedArray(Float32Array.from(masks.freq, (v) => 1 - v), [B, 1, F], { device: this.device }); // (B, 1, F)
          x = mul(x, keepBins);
        }
        // x·(1 - m) + m·mask_emb: masked frames become the learned vector (B, T, F)
        x = add(sub(x, mul(x, tm)), mul(tm, reshape(this.mask_emb, [1, 1, F])));
      }
      let h = this.in_proj.forward(x); // (B, T, C)
      if (this.pos) h = this.pos.forward(h);
      const enc = this.encoder.forward(h, lens, { hiddenStates: hs });
      const y = this.after_norm ? this.after_norm.forward(enc.out) : enc.out;
      const prediction = this.out_proj.forward(y); // (B, T, F)
      return { prediction: prediction.dtype === 'float32' ? prediction : prediction.to('float32'), hiddenStates: enc.hiddenStates, target, tm };
    });
    const out: ReconstructionForward = hs ? { prediction: r.prediction, lengths: lens, hiddenStates: r.hiddenStates } : { prediction: r.prediction, lengths: lens };
    return { out, target: r.target, timeMask: r.tm };
  }

  /** The seeds of a batch's masks in the current mode (see the glossary). */
  private maskSeeds(batch: ReconstructionBatch, B: number): number[] {
    if (this.training) return Array.from({ length: B }, (_, b) => dataSeed(this.seed, 'mask', this.rngStep, b));
    const ids = batch.ids && batch.ids.length === B ? batch.ids : Array.from({ length: B }, (_, b) => String(b));
    return ids.map((id) => dataSeed(this.seed, 'eval', id));
  }

  /**
   * Masked reconstruction loss of a batch in the current mode (masks drawn as the glossary says;
   * a training-mode call advances the random stream): metrics { loss, maskedL1, lsd, maskedFrames },
   * count = masked frames.
   */
  loss(batch: ReconstructionBatch): LossOutput {
    if (!batch || typeof batch !== 'object') fail('MaskedReconstruction', 'loss expects a ReconstructionBatch (models.collateReconstruction)');
    const lens = this.checkInput(batch.features, batch.lengths);
    const [B, T, F] = batch.features.shape;
    const masks = this.drawMasks(T, lens, this.maskSeeds(batch, B));
    const n = masks.counts.reduce((s, c) => s + c, 0);
    let l1 = 0, lsd = 0;
    const loss = tidy(() => {
      const { out, target, timeMask } = this.run(batch.features, lens, masks, false);
      const diff = sub(out.prediction, target); // (B, T, F)
      const per = this.lossKind === 'l1' ? abs(diff) : mul(diff, diff);
      const value = mul(sum(mul(per, timeMask!)), 1 / (n * F));
      noGrad(() => {
        const raw = mul(diff, this.normalize.std); // (B, T, F) error in input units
        l1 = mul(sum(mul(abs(raw), timeMask!)), 1 / (n * F)).item();
        const scale = this.featureLog === 'ln' ? 10 / Math.LN10 : 1;
        const frameDist = sqrt(mean(mul(raw, raw), -1, true)); // (B, T, 1)
        lsd = (scale * sum(mul(frameDist, timeMask!)).item()) / n;
      });
      return value;
    });
    if (this.training) ++this.rngStep; // only a step that ran advances the stream
    return { loss, metrics: { loss: loss.item(), maskedL1: l1, lsd, maskedFrames: n }, count: n };
  }

  /** Eval mode, no gradients, over every batch (eval masks seeded by utterance id): { loss,
   *  maskedL1, lsd } averaged over masked frames, maskedFrames, utterances. */
  async evaluate(batches: Iterable<ReconstructionBatch> | AsyncIterable<ReconstructionBatch>): Promise<Record<string, number>> {
    let n = 0, loss = 0, l1 = 0, lsd = 0, utts = 0;
    await eachBatch(this, batches, (batch) => {
      const r = this.loss(batch);
      r.loss.dispose();
      loss += r.metrics.loss * r.count;
      l1 += r.metrics.maskedL1 * r.count;
      lsd += r.metrics.lsd * r.count;
      n += r.count;
      utts += batch.lengths.length;
    });
    if (n === 0) fail('MaskedReconstruction', 'evaluate: no batches');
    return { loss: loss / n, maskedL1: l1 / n, lsd: lsd / n, maskedFrames: n, utterances: utts };
  }

  /** Hidden states of a batch (eval mode, no gradients, no masks): hs[0] = encoder input (in_proj
   *  + positional encoding), hs[l] = layer l; inputs = the normalised features. */
  hiddenStates(batch: ReconstructionBatch | { features: Tensor; lengths: Int32Array }): HiddenStates {
    return withMode(this, false, () => noGrad(() => {
      const lens = this.checkInput(batch.features, batch.lengths);
      const { out, target } = this.run(batch.features, lens, null, true);
      out.prediction.dispose();
      return { states: out.hiddenStates!, lengths: lens, subsampling: 1, inputs: target, inputLengths: lens };
    }));
  }
}
