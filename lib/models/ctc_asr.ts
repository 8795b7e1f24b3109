/**
 * ctc_asr.ts — CTC speech recognition on the shared encoder spec (models.CtcAsr).
 *
 *   features (B, T, F) -> normalize (global CMVN, buffers) -> [SpecAugment, training only]
 *   -> front end (conv2d4 | conv2d2 | linear | none) (B, T', C) -> positional encoding (attention
 *   stacks) -> encoder (B, T', C) -> after_norm LayerNorm -> ctc_lo Linear (B, T', V)
 *
 * Glossary:
 *   V        vocabulary size with the blank at 0 (data.Tokenizer's convention: <blank> 0, <unk> 1)
 *   T'       frames after the front end; lengths' = frontend.outLength(lengths)
 *   loss     ops.ctcLoss with zeroInfinity, reduction 'mean' as torch: each utterance's negative
 *            log-likelihood divided by its target length, averaged over the batch (a per-token
 *            loss, comparable across utterance lengths). An utterance whose T' is too short for
 *            its targets (T' < S + repeated neighbours) contributes 0 and is counted in
 *            metrics.infeasible
 *   names    normalize.{mean,std,count}, frontend.* (ESPnet conv.0/conv.2/out.0 or linear),
 *            encoder.layers.<i>.* (PyTorch names), after_norm.*, ctc_lo.*
 * SpecAugment draws from deriveSeed(seed, 'specaugment', step) (see common.ts: rngState).
 */
import { specAugment, SpecAugmentOptions } from '../audio/specaugment';
import { noGrad } from '../autograd/tape';
import { deriveSeed as dataSeed } from '../data/rng';
import { Tokenizer, TokenizerJSON } from '../data/tokenizer';
import { ctcLoss } from '../ops/ctc';
import { mul } from '../ops/elementwise';
import { logSoftmax } from '../ops/reduce';
import { deriveSeed } from '../nn/init';
import { Encoder } from '../nn/encoder';
import { PositionalEncoding } from '../nn/frontend';
import { Linear } from '../nn/layers';
import { LayerNorm } from '../nn/norm';
import { fromTypedArray } from '../tensor/creation';
import { getDefaultDevice } from '../tensor/device';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import type { AsrBatch } from './collate';
import { checkFeatures, checkOptionKeys, eachBatch, fail, SpeechModel, withMode } from './common';
import { beamSearch, BeamSearchOptions, greedyDecode } from './decode';
import { buildEncoder, EncoderSpec, needsPositionalEncoding, ResolvedEncoderSpec, resolveEncoderSpec } from './encoder_spec';
import { GlobalNorm, NormStats } from './features';
import { buildFrontEnd, FrontEnd, FrontEndKind, FRONTENDS } from './frontend';
import { ctcErrorRates } from './metrics';
import type { HiddenStates, LossOutput, TaskModel } from './task';

/** SpecAugment settings of CtcAsr (audio.specAugment's options; the seed comes from the model). */
export type SpecAugmentConfig = Omit<SpecAugmentOptions, 'seed' | 'inPlace'>;

/** Options of CtcAsr (see the module glossary). */
export interface CtcAsrOptions {
  /** F, the feature dim (80 for fbank's default). */
  inputDim: number;
  /** V with the blank at 0; taken from `tokenizer` when omitted. */
  vocabSize?: number;
  /** Saved with the model (toConfig) so that evaluate/decode can report cer/wer or per and text. */
  tokenizer?: Tokenizer | TokenizerJSON | null;
  encoder: EncoderSpec;
  /** Default 'conv2d4'. */
  frontend?: FrontEndKind;
  /** Width of the conv front ends (default encoder.dModel, as ESPnet). On a CPU the second conv
   *  dominates a small model's step; 32–64 channels make it cheap (see bench/models.js). */
  frontendChannels?: number;
  /** SpecAugment in training mode (false: off, the default). */
  specAugment?: SpecAugmentConfig | false;
  /** Dropout of the positional encoding (default: the encoder's dropout). */
  dropout?: number;
  /** Seed of the weight init and the random stream (default 0). */
  seed?: number;
  device?: Device;
}

/** forward's result: logits (B, T', V), valid T' per item, hidden states when asked for. */
export interface CtcForward {
  logits: Tensor;
  lengths: Int32Array;
  hiddenStates?: Tensor[];
}

/** decode's result: token ids per utterance and, with a tokenizer, the text. */
export interface CtcDecoded {
  tokens: number[][];
  texts?: string[];
}

/** decode options: greedy by default; `beam` > 1 (or beam-search options) runs prefix beam search. */
export interface CtcDecodeOptions extends Omit<BeamSearchOptions, 'beamWidth' | 'blank' | 'nBest'> {
  beam?: number;
}

const KEYS = ['task', 'inputDim', 'vocabSize', 'tokenizer', 'encoder', 'frontend', 'frontendChannels', 'specAugment', 'dropout', 'seed', 'device'];

/** CTC speech recognition (see the module glossary). Implements TaskModel<AsrBatch>. */
export class CtcAsr extends SpeechModel implements TaskModel<AsrBatch> {
  readonly task = 'ctc';
  readonly modelName = 'CtcAsr';
  readonly encoderSpec: ResolvedEncoderSpec;
  readonly inputDim: number;
  readonly vocabSize: number;
  readonly tokenizer: Tokenizer | null;
  readonly frontendKind: FrontEndKind;
  readonly frontendChannels: number;
  readonly specAugmentConfig: SpecAugmentConfig | false;
  readonly dropoutRate: number;
  normalize: GlobalNorm;
  frontend: FrontEnd;
  pos: PositionalEncoding | null;
  encoder: Encoder;
  after_norm: LayerNorm;
  ctc_lo: Linear;

  constructor(o: CtcAsrOptions) {
    if (o === null || typeof o !== 'object') throw new Error('[CtcAsr] expected an options object { inputDim, vocabSize, encoder, ... }');
    checkOptionKeys('CtcAsr', o as unknown as Record<string, unknown>, KEYS);
    const seed = o.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new Error(`[CtcAsr] seed must be an integer, got ${JSON.stringify(o.seed)}`);
    super(seed, o.device ?? getDefaultDevice());
    const where = 'CtcAsr';
    if (!Number.isInteger(o.inputDim) || o.inputDim < 1) fail(where, `inputDim must be a positive integer, got ${JSON.stringify(o.inputDim)}`);
    const tok = o.tokenizer ? (o.tokenizer instanceof Tokenizer ? o.tokenizer : Tokenizer.fromJSON(o.tokenizer)) : null;
    const V = o.vocabSize ?? tok?.size;
    if (!Number.isInteger(V) || (V as number) < 2) fail(where, `vocabSize must be an integer ≥ 2 (blank + a token), got ${JSON.stringify(o.vocabSize)}${tok ? '' : ' (or give a tokenizer)'}`);
    if (tok && tok.size !== V) fail(where, `vocabSize ${V} differs from the tokenizer's ${tok.size} tokens`);
    this.encoderSpec = resolveEncoderSpec(o.encoder, 'CtcAsr.encoder');
    const fe = o.frontend ?? 'conv2d4';
    if (!FRONTENDS.includes(fe)) fail(where, `frontend must be one of ${FRONTENDS.join(', ')}, got ${JSON.stringify(o.frontend)}`);
    const ch = o.frontendChannels ?? this.encoderSpec.dModel;
    if (!Number.isInteger(ch) || ch < 1) fail(where, `frontendChannels must be a positive integer, got ${JSON.stringify(o.frontendChannels)}`);
    const sa = o.specAugment ?? false;
    if (sa !== false && (sa === null || typeof sa !== 'object')) fail(where, `specAugment must be false or an options object, got ${JSON.stringify(sa)}`);
    if (sa) specAugment(new Float32Array(1), [1, 1, 1], Int32Array.of(1), sa); // checks every option now, not at the first step
    const p = o.dropout ?? this.encoderSpec.dropout;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) fail(where, `dropout must be in [0, 1), got ${JSON.stringify(o.dropout)}`);
    this.inputDim = o.inputDim;
    this.vocabSize = V as number;
    this.tokenizer = tok;
    this.frontendKind = fe;
    this.frontendChannels = ch;
    this.specAugmentConfig = sa ? { ...sa } : false;
    this.dropoutRate = p;
    const C = this.encoderSpec.dModel, device = this.device;
    this.normalize = this.module('normalize', new GlobalNorm(o.inputDim, { device }));
    this.frontend = this.module('frontend', buildFrontEnd(fe, o.inputDim, C, { channels: ch, seed: deriveSeed(seed, 'frontend'), device, where }));
    this.pos = this.module('pos', needsPositionalEncoding(this.encoderSpec) ? new PositionalEncoding(C, { dropout: p }) : null);
    this.encoder = this.module('encoder', buildEncoder(this.encoderSpec, { seed: deriveSeed(seed, 'encoder'), device }));
    this.after_norm = this.module('after_norm', new LayerNorm(C, { device }));
    this.ctc_lo = this.module('ctc_lo', new Linear(C, V as number, { seed: deriveSeed(seed, 'ctc_lo'), device }));
  }

  /** Rebuilds a model from toConfig()'s JSON (weights come from load). */
  static fromConfig(config: Record<string, unknown>, opts: { device?: Device } = {}): CtcAsr {
    if (config.task !== undefined && config.task !== 'ctc') fail('CtcAsr', `config is for task '${String(config.task)}', not 'ctc'`);
    const { task: _t, ...rest } = config;
    void _t;
    return new CtcAsr({ ...(rest as unknown as CtcAsrOptions), device: opts.device ?? (rest.device as Device | undefined) });
  }

  /** The architecture as JSON (task, sizes, resolved encoder spec, front end, SpecAugment, tokenizer). */
  toConfig(): Record<string, unknown> {
    return {
      task: this.task, inputDim: this.inputDim, vocabSize: this.vocabSize, encoder: { ...this.encoderSpec }, frontend: this.frontendKind, frontendChannels: this.frontendChannels,
      specAugment: this.specAugmentConfig, dropout: this.dropoutRate, seed: this.seed, ...(this.tokenizer ? { tokenizer: this.tokenizer.toJSON() } : {}),
    };
  }

  /** Sets the global feature normalisation (an audio.CmvnStats from models.featureStats over the
   *  training set, or { mean, std }); stored in the state dict. */
  setNormalization(stats: NormStats): this {
    this.normalize.setStats(stats, 'CtcAsr');
    return this;
  }

  /** Checks features (B, T, F) + lengths at the boundary; returns the lengths. */
  private checkInput(features: unknown, lengths: unknown): Int32Array {
    const lens = checkFeatures('CtcAsr', features, lengths, this.inputDim);
    const x = features as Tensor;
    if (x.device !== this.device) fail('CtcAsr', `features are on ${x.device}, the model is on ${this.device} (collate with { device: '${this.device}' } or model.to('${x.device}'))`);
    const T = x.shape[1], m = this.frontend.minFrames;
    if (T < m) fail('CtcAsr', `features have T = ${T} frames; the ${this.frontendKind} front end needs at least ${m} to give one output frame`);
    return lens;
  }

  /**
   * features (B, T, F) + lengths (B; default all T) -> { logits (B, T', V), lengths T' (B),
   * hiddenStates? [encoder input, layer 1, ..., layer L] (B, T', C) }. Runs in the current mode
   * (dropout in training); SpecAugment is not applied here (loss() does, in training mode).
   */
  forward(features: Tensor, lengths?: Int32Array | readonly number[] | Tensor | null, opts: { hiddenStates?: boolean } = {}): CtcForward {
    const lens = this.checkInput(features, lengths);
    return this.run(features, lens, null, !!opts.hiddenStates);
  }

  private run(features: Tensor, lens: Int32Array, augment: Tensor | null, hs: boolean): CtcForward {
    let outLens = lens;
    const r = tidy(() => {
      let x = this.normalize.forward(features); // (B, T, F)
      if (augment) x = mul(x, augment);
      const fe = this.frontend.forward(x, lens); // (B, T', C)
      outLens = fe.lengths;
      const h = this.pos ? this.pos.forward(fe.out) : fe.out;
      const enc = this.encoder.forward(h, outLens, { hiddenStates: hs });
      const logits = this.ctc_lo.forward(this.after_norm.forward(enc.out)); // (B, T', V)
      return { logits, hiddenStates: enc.hiddenStates };
    });
    return hs ? { logits: r.logits, lengths: outLens, hiddenStates: r.hiddenStates } : { logits: r.logits, lengths: outLens };
  }

  /** The SpecAugment multiplier (B, T, F) of this step: 1 where kept, 0 where masked (drawn on the
   *  host from the step's seed, applied on the device). Time warp moves frames, which a multiplier
   *  cannot express, so with timeWarp > 0 the normalised features take a host round trip instead. */
  private specAugmentMask(x: Tensor, lens: Int32Array, seed: number): Tensor {
    const [B, T, F] = x.shape;
    const ones = new Float32Array(B * T * F).fill(1);
    specAugment(ones, [B, T, F], lens, { ...(this.specAugmentConfig as SpecAugmentConfig), timeWarp: 0, maskValue: 0, seed, inPlace: true });
    return fromTypedArray(ones, [B, T, F], { device: x.device });
  }

  /** Checks a batch's targets against the vocabulary; returns the host targets per item. */
  private checkTargets(batch: AsrBatch, B: number): Int32Array[] {
    const where = 'CtcAsr';
    if (!(batch.targets instanceof Tensor) || batch.targets.dtype !== 'int32' || batch.targets.ndim !== 2 || batch.targets.shape[0] !== B) {
      fail(where, `batch.targets must be an int32 Tensor (B = ${B}, S), got ${batch.targets instanceof Tensor ? `${batch.targets.dtype} (${batch.targets.shape.join(', ')})` : typeof batch.targets}`);
    }
    const S = batch.targets.shape[1];
    const tl = batch.targetLengths;
    if (!tl || tl.length !== B) fail(where, `batch.targetLengths must have B = ${B} entries`);
    let refs = batch.refs;
    if (!refs || refs.length !== B) {
      const t = batch.targets.dataSync() as Int32Array;
      refs = Array.from({ length: B }, (_, b) => t.slice(b * S, b * S + tl[b]));
    }
    for (let b = 0; b < B; ++b) {
      if (!Number.isInteger(tl[b]) || tl[b] < 0 || tl[b] > S || refs[b].length !== tl[b]) fail(where, `targetLengths[${b}] = ${tl[b]} is outside [0, S = ${S}] or disagrees with the batch's refs`);
      refs[b].forEach((id, k) => {
        if (id === 0) fail(where, `targets[${b}][${k}] is the blank (0); targets hold tokens 1..${this.vocabSize - 1}`);
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) fail(where, `targets[${b}][${k}] = ${id} is outside the vocabulary [1, ${this.vocabSize})`);
      });
    }
    return refs;
  }

  /** Utterances whose T' cannot hold their targets: T' < S + repeated neighbours (CTC needs a
   *  blank between two equal tokens), so their loss is infinite (0 with zeroInfinity). */
  private static infeasible(refs: Int32Array[], outLengths: Int32Array): number {
    let n = 0;
    outLengths.forEach((t, b) => {
      let need = refs[b].length;
      for (let k = 1; k < refs[b].length; ++k) if (refs[b][k] === refs[b][k - 1]) ++need;
      if (t < need) ++n;
    });
    return n;
  }

  /** CTC loss of a batch in the current mode (see the glossary): metrics { ctc, infeasible }, count B. */
  loss(batch: AsrBatch): LossOutput {
    if (!batch || typeof batch !== 'object') fail('CtcAsr', 'loss expects an AsrBatch (models.collateAsr)');
    const lens = this.checkInput(batch.features, batch.lengths);
    const B = lens.length;
    const refs = this.checkTargets(batch, B);
    const augmenting = this.training && this.specAugmentConfig !== false;
    const seed = augmenting ? dataSeed(this.seed, 'specaugment', this.rngStep) : 0;
    let infeasible = 0;
    const loss = tidy(() => {
      let augment: Tensor | null = null;
      let features = batch.features;
      if (augmenting) {
        const sa = this.specAugmentConfig as SpecAugmentConfig;
        if ((sa.timeWarp ?? 0) > 0) {
          const xn = noGrad(() => this.normalize.forward(batch.features)).dataSync() as Float32Array;
          specAugment(xn, batch.features.shape as [number, number, number], lens, { ...sa, seed, inPlace: true });
          // Undo the normalisation on the host so run() can apply it again on the device.
          const mean = this.normalize.mean.dataSync(), std = this.normalize.std.dataSync(), F = this.inputDim;
          for (let i = 0; i < xn.length; ++i) xn[i] = xn[i] * std[i % F] + mean[i % F];
          features = fromTypedArray(xn, batch.features.shape, { device: this.device });
        } else augment = this.specAugmentMask(batch.features, lens, seed);
      }
      const out = this.run(features, lens, augment, false);
      infeasible = CtcAsr.infeasible(refs, out.lengths);
      const lp = logSoftmax(out.logits.dtype === 'float32' ? out.logits : out.logits.to('float32'), -1); // (B, T', V)
      return ctcLoss(lp, batch.targets, out.lengths, batch.targetLengths, { blank: 0, reduction: 'mean', zeroInfinity: true });
    });
    if (augmenting) ++this.rngStep;
    return { loss, metrics: { ctc: loss.item(), infeasible }, count: B };
  }

  /** log-softmax outputs (B, T', V) and T' of a batch in eval mode, without gradients. */
  private logProbs(features: Tensor, lengths: Int32Array | readonly number[] | Tensor | null | undefined): { lp: Tensor; lengths: Int32Array } {
    return withMode(this, false, () => noGrad(() => {
      const out = this.forward(features, lengths);
      const lp = tidy(() => logSoftmax(out.logits.to('float32'), -1));
      out.logits.dispose();
      return { lp, lengths: out.lengths };
    }));
  }

  /**
   * Decodes a batch (or features + lengths) in eval mode: greedy best path by default, CTC prefix
   * beam search with `beam` > 1 (optionally with an LM: see models.beamSearch). Returns token ids
   * per utterance and the text when the model has a tokenizer.
   */
  decode(batch: AsrBatch | { features: Tensor; lengths?: Int32Array | readonly number[] | null }, opts: CtcDecodeOptions = {}): CtcDecoded {
    const { beam } = opts;
    if (beam !== undefined && (!Number.isInteger(beam) || beam < 1)) fail('CtcAsr', `decode: beam must be an integer ≥ 1, got ${JSON.stringify(beam)}`);
    const { lp, lengths } = this.logProbs(batch.features, batch.lengths);
    try {
      const tokens = this.decodeLogProbs(lp, lengths, opts);
      return this.tokenizer ? { tokens, texts: tokens.map((t) => this.tokenizer!.decode(t)) } : { tokens };
    } finally {
      lp.dispose();
    }
  }

  /** Greedy, or prefix beam search with opts.beam > 1, over log-probabilities (B, T', V). */
  private decodeLogProbs(lp: Tensor, lengths: Int32Array, opts: CtcDecodeOptions): number[][] {
    const { beam, ...rest } = opts;
    if (beam !== undefined && beam > 1) return beamSearch(lp, lengths, { ...rest, beamWidth: beam, blank: 0, nBest: 1 }).map((h) => h[0]?.tokens ?? []);
    return greedyDecode(lp, lengths, { blank: 0 });
  }

  /**
   * Eval mode, no gradients, over every batch: { loss (per-token CTC averaged over utterances),
   * the corpus-level error rate(s) of greedy decoding — cer and wer for a 'char' tokenizer, per for
   * a 'phone' one, ter (token error rate) without a tokenizer — utterances, refTokens, infeasible }.
   * Restores the previous mode.
   */
  async evaluate(batches: Iterable<AsrBatch> | AsyncIterable<AsrBatch>, opts: CtcDecodeOptions = {}): Promise<Record<string, number>> {
    const refs: number[][] = [], hyps: number[][] = [];
    let lossSum = 0, n = 0, infeasible = 0;
    await eachBatch(this, batches, (batch) => {
      // One forward per batch: the loss and the decoding read the same log-probabilities.
      const lens = this.checkInput(batch.features, batch.lengths);
      const r = this.checkTargets(batch, lens.length);
      tidy(() => {
        const out = this.run(batch.features, lens, null, false);
        const lp = logSoftmax(out.logits.to('float32'), -1); // (B, T', V)
        lossSum += ctcLoss(lp, batch.targets, out.lengths, batch.targetLengths, { blank: 0, reduction: 'mean', zeroInfinity: true }).item() * lens.length;
        infeasible += CtcAsr.infeasible(r, out.lengths);
        hyps.push(...this.decodeLogProbs(lp, out.lengths, opts));
      });
      refs.push(...r.map((t) => Array.from(t)));
      n += lens.length;
    });
    if (n === 0) fail('CtcAsr', 'evaluate: no batches');
    const out: Record<string, number> = { loss: lossSum / n, utterances: n, refTokens: refs.reduce((s, r) => s + r.length, 0), infeasible };
    return { ...out, ...ctcErrorRates(refs, hyps, this.tokenizer) };
  }

  /** Hidden states of a batch (eval mode, no gradients): hs[0] = encoder input (front end +
   *  positional encoding), hs[l] = layer l, at T' frames; inputs = the normalised features. */
  hiddenStates(batch: AsrBatch | { features: Tensor; lengths: Int32Array }): HiddenStates {
    return withMode(this, false, () => noGrad(() => {
      const lens = this.checkInput(batch.features, batch.lengths);
      const out = this.run(batch.features, lens, null, true);
      out.logits.dispose();
      return { states: out.hiddenStates!, lengths: out.lengths, subsampling: this.frontend.subsampling, inputs: this.normalize.forward(batch.features), inputLengths: lens };
    }));
  }
}
