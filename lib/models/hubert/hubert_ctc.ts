/**
 * hubert_ctc.ts — CTC fine-tuning of a pre-trained HuBERT (models.HubertCtc), as fairseq's
 * hubert_asr (HubertCtc / HubertEncoder):
 *
 *   backbone (backbone.ts; the CNN always frozen: feature_grad_mult 0) [masks, optional]
 *   -> x (B, T', d) -> dropout(finalDropout) -> ctc_proj Linear(d, V) -> log-softmax -> CTC
 *
 * Glossary:
 *   V                     vocabulary with the blank at 0 (data.Tokenizer: <blank> 0, <unk> 1)
 *   freezeEncoderUpdates  for the first N updates only ctc_proj trains: the whole backbone runs
 *                         without gradients (fairseq freeze_finetune_updates; 10000 in its
 *                         base_10h recipe, 0 here by default)
 *   numUpdates            counts training-mode loss() calls (one per optimizer step with the
 *                         Trainer's accumulate 1); saved in the state dict as `num_updates`, so a
 *                         resumed run keeps the encoder frozen only as long as it should
 *   applyMask             span masks in training mode, as in pre-training (fairseq apply_mask with
 *                         mask_prob 0.75 for base_10h; off by default here); the seed comes from the
 *                         global tensor generator as in Hubert
 *   loss                  ops.ctcLoss, zeroInfinity, reduction 'mean' (per-token, averaged over
 *                         utterances), as CtcAsr; utterances too short for their targets count as
 *                         metrics.infeasible
 *   names                 the backbone's (so Hubert's weights load by name) + ctc_proj.*, num_updates
 */
import { Rng } from '../../audio/rng';
import { noGrad } from '../../autograd/tape';
import { deriveSeed as dataSeed } from '../../data/rng';
import { Tokenizer, TokenizerJSON } from '../../data/tokenizer';
import { native } from '../../native';
import { ctcLoss } from '../../ops/ctc';
import { logSoftmax } from '../../ops/reduce';
import { deriveSeed } from '../../nn/init';
import { Linear } from '../../nn/layers';
import { Dropout } from '../../nn/misc';
import { nextSeedOffset, tensor } from '../../tensor/creation';
import { tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';
import { Device } from '../../tensor/types';
import { greedyDecode } from '../decode';
import { computeMaskIndices } from '../masking';
import { ctcErrorRates } from '../metrics';
import type { HiddenStates, LossOutput, TaskModel } from '../task';
import { HubertBackbone } from './backbone';
import { BACKBONE_KEYS, HubertBackboneOptions, resolveBackbone, ResolvedBackbone } from './config';
import type { Hubert } from './hubert';

/** Options of HubertCtc: the backbone's plus the head (see the module glossary). */
export interface HubertCtcOptions extends HubertBackboneOptions {
  vocabSize?: number;
  tokenizer?: Tokenizer | TokenizerJSON | null;
  freezeEncoderUpdates?: number;
  finalDropout?: number;
  applyMask?: boolean;
}

/** What HubertCtc takes (models.collateAsr's AsrBatch fits: features (B, T, F) or waveforms as
 *  (B, S, 1), lengths, targets (B, S') int32 right-padded, targetLengths, refs). */
export interface HubertCtcBatch {
  ids?: string[];
  features: Tensor;
  lengths?: Int32Array | readonly number[] | null;
  targets: Tensor;
  targetLengths: Int32Array;
  refs?: Int32Array[];
  dispose?(): void;
}

const HEAD_KEYS = ['vocabSize', 'tokenizer', 'freezeEncoderUpdates', 'finalDropout', 'applyMask'] as const;

/** CTC fine-tuning model on the HuBERT backbone. Implements TaskModel<HubertCtcBatch>. */
export class HubertCtc extends HubertBackbone implements TaskModel<HubertCtcBatch> {
  readonly task = 'hubert-ctc';
  readonly modelName = 'HubertCtc';
  readonly vocabSize: number;
  readonly tokenizer: Tokenizer | null;
  readonly freezeEncoderUpdates: number;
  readonly finalDropout: number;
  readonly applyMask_: boolean;
  ctc_proj: Linear;
  num_updates: Tensor;
  private final_dropout: Dropout;
  /** Training-mode loss() calls so far (see the glossary). */
  numUpdates = 0;

  constructor(o: HubertCtcOptions & { device?: Device }) {
    if (o === null || typeof o !== 'object') throw new Error('[HubertCtc] expected options { encoder, vocabSize, ... }');
    for (const k of Object.keys(o)) {
      if (k !== 'device' && k !== 'task' && !([...BACKBONE_KEYS, ...HEAD_KEYS] as readonly string[]).includes(k)) {
        throw new Error(`[HubertCtc] unknown option '${k}' (known: ${[...BACKBONE_KEYS, ...HEAD_KEYS].join(', ')})`);
      }
    }
    // The CNN is frozen in fine-tuning (fairseq feature_grad_mult 0).
    const cfg: ResolvedBackbone = { ...resolveBackbone(o, 'HubertCtc'), featureGradMult: 0 };
    super(cfg, o.device);
    const tok = o.tokenizer ? (o.tokenizer instanceof Tokenizer ? o.tokenizer : Tokenizer.fromJSON(o.tokenizer)) : null;
    const V = o.vocabSize ?? tok?.size;
    if (!Number.isInteger(V) || (V as number) < 2) this.fail(`vocabSize must be an integer >= 2 (blank + a token), got ${JSON.stringify(o.vocabSize)}${tok ? '' : ' (or give a tokenizer)'}`);
    if (tok && tok.size !== V) this.fail(`vocabSize ${V} differs from the tokenizer's ${tok.size} tokens`);
    const n = o.freezeEncoderUpdates ?? 0;
    if (!Number.isInteger(n) || n < 0) this.fail(`freezeEncoderUpdates must be an integer >= 0, got ${JSON.stringify(o.freezeEncoderUpdates)}`);
    const p = o.finalDropout ?? 0;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) this.fail(`finalDropout must be in [0, 1), got ${JSON.stringify(o.finalDropout)}`);
    this.vocabSize = V as number;
    this.tokenizer = tok;
    this.freezeEncoderUpdates = n;
    this.finalDropout = p;
    this.applyMask_ = o.applyMask ?? false;
    this.final_dropout = this.module('final_dropout', new Dropout(p));
    this.ctc_proj = this.module('ctc_proj', new Linear(cfg.encoder.dModel, this.vocabSize, { seed: deriveSeed(cfg.seed, 'ctc_proj'), device: this.device }));
    this.num_updates = this.buffer('num_updates', tensor(Int32Array.of(0), [1], { device: 'cpu', dtype: 'int32' }));
  }

  /**
   * A HubertCtc on `pretrained`'s backbone: same architecture (its encoder, front end, masking
   * options), its weights copied (final_proj and label_embeddings are left behind, as fairseq's
   * remove_pretraining_modules), a fresh ctc_proj, on its device.
   */
  static fromPretrained(pretrained: Hubert, head: Omit<HubertCtcOptions, keyof HubertBackboneOptions> & Partial<Pick<HubertBackboneOptions, 'mask' | 'dropoutInput' | 'seed'>> = {}): HubertCtc {
    const c = pretrained.config;
    const backbone: HubertBackboneOptions = {
      encoder: c.encoder, frontend: c.frontend, extractorChannels: c.extractorChannels, nMels: c.nMels, sampleRate: c.sampleRate, featureRate: c.featureRate,
      normalizeInput: c.normalizeInput, dropoutInput: c.dropoutInput, activation: c.activation, posConvKernel: c.posConvKernel, posConvGroups: c.posConvGroups,
      mask: c.mask, seed: c.seed,
    };
    const m = new HubertCtc({ ...backbone, ...head, device: pretrained.device });
    const sd = pretrained.stateDict();
    const own = m.stateDict();
    const picked: Record<string, Tensor> = {};
    for (const k of Object.keys(own)) if (k in sd) picked[k] = sd[k];
    const { missing } = m.loadStateDict(picked, { strict: false });
    const unexpectedMissing = missing.filter((k) => !k.startsWith('ctc_proj.') && k !== 'num_updates');
    if (unexpectedMissing.length) m.fail(`the pre-trained model lacks ${unexpectedMissing.join(', ')}`);
    m.numUpdates = 0;
    return m;
  }

  /** Rebuilds a model from toConfig()'s JSON. */
  static fromConfig(config: Record<string, unknown>, opts: { device?: Device } = {}): HubertCtc {
    if (config.task !== undefined && config.task !== 'hubert-ctc') throw new Error(`[HubertCtc] config is for task '${String(config.task)}', not 'hubert-ctc'`);
    const { task: _t, ...rest } = config;
    void _t;
    return new HubertCtc({ ...(rest as unknown as HubertCtcOptions), device: opts.device });
  }

  /** The architecture as JSON: models.create(toConfig()) rebuilds it. */
  toConfig(): Record<string, unknown> {
    const { featureGradMult: _f, ...backbone } = JSON.parse(JSON.stringify(this.cfg)) as ResolvedBackbone;
    void _f;
    return {
      task: this.task, ...backbone, vocabSize: this.vocabSize, freezeEncoderUpdates: this.freezeEncoderUpdates, finalDropout: this.finalDropout,
      applyMask: this.applyMask_, ...(this.tokenizer ? { tokenizer: this.tokenizer.toJSON() } : {}),
    };
  }

  /** Sets the update counter (e.g. after loading weights from elsewhere). */
  setNumUpdates(n: number): void {
    if (!Number.isInteger(n) || n < 0) this.fail(`setNumUpdates expects an integer >= 0, got ${JSON.stringify(n)}`);
    this.numUpdates = n;
  }

  /** The state dict, with num_updates holding the counter. */
  override stateDict(): Record<string, Tensor> {
    tidy(() => native.copyInto(this.num_updates.handle('stateDict'), tensor(Int32Array.of(this.numUpdates), [1], { device: this.num_updates.device, dtype: 'int32' }).handle('stateDict')));
    return super.stateDict();
  }

  /** Module.loadStateDict, then the counter from num_updates. */
  override loadStateDict(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const r = super.loadStateDict(sd, opts);
    if ('num_updates' in sd) this.numUpdates = this.num_updates.dataSync()[0];
    return r;
  }

  /** Saves weights with the task and config in the metadata. */
  override save(file: string, metadata: Record<string, string> = {}): void {
    super.save(file, { ...metadata, 'mamba_speech.task': this.task, 'mamba_speech.model': this.modelName, 'mamba_speech.config': JSON.stringify(this.toConfig()), 'mamba_speech.format': '1' });
  }

  /** Whether the backbone is frozen now (training mode and fewer than freezeEncoderUpdates updates). */
  get encoderFrozen(): boolean {
    return this.training && this.numUpdates < this.freezeEncoderUpdates;
  }

  /** input + lengths -> { logits (B, T', V), lengths T' }, in the current mode (masks in training
   *  mode with applyMask; the backbone without gradients while frozen). */
  forward(features: Tensor, lengths?: Int32Array | readonly number[] | Tensor | null, opts: { hiddenStates?: boolean } = {}): { logits: Tensor; lengths: Int32Array; hiddenStates?: Tensor[] } {
    const inp = this.checkInput(features, lengths);
    const frozen = this.encoderFrozen;
    let outLens!: Int32Array;
    const body = (): { x: Tensor; hs?: Tensor[] } => tidy(() => {
      const { feats, lengths: lens } = this.extract(inp, true);
      outLens = lens;
      let x = this.project(feats); // (B, T', d)
      if (this.training && this.applyMask_) {
        const g = nextSeedOffset(4, 'HubertCtc.mask');
        const seed = dataSeed(this.cfg.seed, 'ft-mask', Number(g.seed & 0xffffffffn), Number(g.offset & 0xffffffffn), Number((g.offset >> 32n) & 0xffffffffn));
        const [B, T] = feats.shape;
        const m = computeMaskIndices([B, T], lens, { ...this.cfg.mask, rng: new Rng(seed) });
        if (m.counts.some((c) => c > 0)) x = this.applyMask(x, m);
      }
      const enc = this.encode(x, lens, !!opts.hiddenStates);
      return { x: enc.out, hs: enc.hiddenStates };
    });
    const r = frozen ? noGrad(body) : body();
    const logits = tidy(() => this.ctc_proj.forward(this.final_dropout.forward(r.x))); // (B, T', V)
    if (!r.hs?.includes(r.x)) r.x.dispose();
    return opts.hiddenStates ? { logits, lengths: outLens, hiddenStates: r.hs } : { logits, lengths: outLens };
  }

  /** Checks targets against the vocabulary; returns them per item (host). */
  private checkTargets(batch: HubertCtcBatch, B: number): Int32Array[] {
    if (!(batch.targets instanceof Tensor) || batch.targets.dtype !== 'int32' || batch.targets.ndim !== 2 || batch.targets.shape[0] !== B) {
      this.fail(`batch.targets must be an int32 Tensor (B = ${B}, S), got ${batch.targets instanceof Tensor ? `${batch.targets.dtype} (${batch.targets.shape.join(', ')})` : typeof batch.targets}`);
    }
    const S = batch.targets.shape[1], tl = batch.targetLengths;
    if (!tl || tl.length !== B) this.fail(`batch.targetLengths must have B = ${B} entries`);
    let refs = batch.refs;
    if (!refs || refs.length !== B) {
      const t = batch.targets.dataSync() as Int32Array;
      refs = Array.from({ length: B }, (_, b) => t.slice(b * S, b * S + tl[b]));
    }
    for (let b = 0; b < B; ++b) {
      if (!Number.isInteger(tl[b]) || tl[b] < 0 || tl[b] > S || refs[b].length !== tl[b]) this.fail(`targetLengths[${b}] = ${tl[b]} is outside [0, S = ${S}] or disagrees with the batch's refs`);
      refs[b].forEach((id, k) => {
        if (id === 0) this.fail(`targets[${b}][${k}] is the blank (0); targets hold tokens 1..${this.vocabSize - 1}`);
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) this.fail(`targets[${b}][${k}] = ${id} is outside the vocabulary [1, ${this.vocabSize})`);
      });
    }
    return refs;
  }

  /** CTC loss in the current mode; training-mode calls count updates. Metrics { ctc, infeasible,
   *  frozen }, count B. */
  loss(batch: HubertCtcBatch): LossOutput {
    if (!batch || typeof batch !== 'object') this.fail('loss expects a batch { features, lengths, targets, targetLengths } (models.collateAsr)');
    const B = batch.features instanceof Tensor ? batch.features.shape[0] : 0;
    const refs = this.checkTargets(batch, B);
    const frozen = this.encoderFrozen;
    let infeasible = 0;
    const loss = tidy(() => {
      const out = this.forward(batch.features, batch.lengths);
      out.lengths.forEach((n, b) => {
        let need = refs[b].length;
        for (let k = 1; k < refs[b].length; ++k) if (refs[b][k] === refs[b][k - 1]) ++need;
        if (n < need) ++infeasible;
      });
      const lp = logSoftmax(out.logits.dtype === 'float32' ? out.logits : out.logits.to('float32'), -1); // (B, T', V)
      return ctcLoss(lp, batch.targets, out.lengths, batch.targetLengths, { blank: 0, reduction: 'mean', zeroInfinity: true });
    });
    if (this.training) ++this.numUpdates;
    return { loss, metrics: { ctc: loss.item(), infeasible, frozen: frozen ? 1 : 0 }, count: B };
  }

  /** Greedy CTC decoding in eval mode: token ids per utterance (and text with a tokenizer). */
  decode(batch: { features: Tensor; lengths?: Int32Array | readonly number[] | null }): { tokens: number[][]; texts?: string[] } {
    const prev = this.training;
    this.train(false);
    try {
      const tokens = noGrad(() => {
        const out = this.forward(batch.features, batch.lengths);
        const lp = tidy(() => logSoftmax(out.logits.to('float32'), -1));
        out.logits.dispose();
        try {
          return greedyDecode(lp, out.lengths, { blank: 0 });
        } finally {
          lp.dispose();
        }
      });
      return this.tokenizer ? { tokens, texts: tokens.map((t) => this.tokenizer!.decode(t)) } : { tokens };
    } finally {
      this.train(prev);
    }
  }

  /** Eval mode, no gradients: { loss, per (phone tokenizer) | cer + wer (char) | ter (none),
   *  utterances, refTokens, infeasible }, error rates corpus-level over greedy decoding. */
  async evaluate(batches: Iterable<HubertCtcBatch> | AsyncIterable<HubertCtcBatch>): Promise<Record<string, number>> {
    if (!batches || (typeof (batches as Iterable<HubertCtcBatch>)[Symbol.iterator] !== 'function' && typeof (batches as AsyncIterable<HubertCtcBatch>)[Symbol.asyncIterator] !== 'function')) {
      this.fail('evaluate expects an iterable of batches');
    }
    const prev = this.training;
    this.train(false);
    const refs: number[][] = [], hyps: number[][] = [];
    let lossSum = 0, n = 0, infeasible = 0;
    try {
      for await (const batch of batches as AsyncIterable<HubertCtcBatch>) {
        const r = noGrad(() => this.loss(batch));
        lossSum += r.metrics.ctc * r.count;
        infeasible += r.metrics.infeasible;
        n += r.count;
        r.loss.dispose();
        hyps.push(...this.decode(batch).tokens);
        refs.push(...this.checkTargets(batch, r.count).map((t) => Array.from(t)));
      }
    } finally {
      this.train(prev);
    }
    if (n === 0) this.fail('evaluate: no batches');
    const out: Record<string, number> = { loss: lossSum / n, utterances: n, refTokens: refs.reduce((s, r) => s + r.length, 0), infeasible };
    return { ...out, ...ctcErrorRates(refs, hyps, this.tokenizer) };
  }

  /** Hidden states (eval mode, no gradients, no masks), as Hubert.hiddenStates. */
  hiddenStates(batch: { features: Tensor; lengths?: Int32Array | readonly number[] | null }): HiddenStates {
    const prev = this.training;
    this.train(false);
    try {
      return noGrad(() => {
        const out = this.forward(batch.features, batch.lengths, { hiddenStates: true });
        out.logits.dispose();
        const inp = this.checkInput(batch.features, batch.lengths);
        const inputs = this.analysisInputs(inp);
        return { states: out.hiddenStates!, lengths: out.lengths, subsampling: this.subsamplingFactor, inputs, inputLengths: inputs ? inp.lengths : null };
      });
    } finally {
      this.train(prev);
    }
  }
}
