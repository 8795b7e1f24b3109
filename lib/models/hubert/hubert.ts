/**
 * hubert.ts — HuBERT masked pre-training (models.Hubert) with any encoder type of the spec
 * (Hsu et al. 2021; the paper's TransBiMamba / ConBiMamba HuBERTs swap the Transformer layers).
 *
 *   backbone (backbone.ts) with span masks -> x (B, T', d) -> final_proj Linear(d, finalDim)
 *   -> logits_k = cos(proj, label_embeddings_k) / logitTemp (B, T', K)
 *   -> loss = (wm · Σ_masked CE + wu · Σ_unmasked CE) / (masked [+ unmasked when wu > 0])
 *            + featurePenalty · mean(features²)
 *
 * Glossary:
 *   labels      one Int32Array of cluster ids per utterance at labelRate (targets.ts), brought to
 *               the model's frames by resampleLabels (frame i -> label floor(i · r)); frames past
 *               the labels get no target and no mask. A label file whose length is off by more
 *               than labelTolerance seconds for its audio is an error naming the utterance
 *   masks       computeMaskIndices on the frames with targets (fairseq: mask_prob 0.65, span 10,
 *               min_masks 2, same count per row). Training draws the mask seed from the global
 *               tensor generator (manualSeed / getRngState, like dropout), so a resumed Trainer
 *               run draws the same masks; evaluate masks each batch from (seed, its ids): the same
 *               masks at every evaluation
 *   logits      fairseq / torchaudio score the target first and the other K − 1 classes after it;
 *               a softmax over K classes in id order is the same distribution
 *   acc_m/acc_u argmax accuracy on masked / unmasked frames (fairseq's correct_m / count_m)
 *   names       backbone names + final_proj.*, label_embeddings (K, finalDim) ~ U[0, 1)
 * A batch with no masked frame (every item empty, maskProb 0) and unmaskedWeight 0 throws.
 */
import { Rng } from '../../audio/rng';
import { noGrad } from '../../autograd/tape';
import { deriveSeed as dataSeed } from '../../data/rng';
import { add, div, maximum, mul, sqrt, square } from '../../ops/elementwise';
import { crossEntropy } from '../../ops/loss';
import { matmul } from '../../ops/matmul';
import { argmax, mean, sum } from '../../ops/reduce';
import { reshape, transpose } from '../../ops/shape';
import { autocast } from '../../autograd/autocast';
import { deriveSeed, uniform } from '../../nn/init';
import { Linear } from '../../nn/layers';
import { fromTypedArray, nextSeedOffset } from '../../tensor/creation';
import { tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';
import { Device } from '../../tensor/types';
import { computeMaskIndices, SpanMask } from '../masking';
import type { HiddenStates, LossOutput, TaskModel } from '../task';
import { HubertBackbone } from './backbone';
import { HUBERT_KEYS, HubertOptions, resolveHubert, ResolvedHubert } from './config';
import { checkLabelLength, resampleLabels } from './targets';

/** What Hubert takes: model input, valid lengths, and (for loss / evaluate) labels per item. */
export interface HubertBatch {
  ids?: string[];
  /** (B, S) / (B, S, 1) waveform (cnn) or (B, T, nMels) features (logmel), right-padded */
  features: Tensor;
  /** (B) valid samples / frames (default: all) */
  lengths?: Int32Array | readonly number[] | null;
  /** cluster ids per item at labelRate */
  labels?: readonly ArrayLike<number>[];
  dispose?(): void;
}

/** forward's result: logits (B, T', K) float32, targets/mask per frame, encoder output, features.
 *  The three tensors belong to the caller (dispose them, or call forward inside tidy). */
export interface HubertForward {
  logits: Tensor;
  /** (B · T') cluster id per frame, −1 where the frame has no target */
  targets: Int32Array;
  /** the span mask used (B, T') */
  mask: SpanMask;
  /** valid model frames (B) and frames with a target (B) */
  lengths: Int32Array;
  labelled: Int32Array;
  /** encoder output (B, T', d) and front-end features (B, T', C) */
  out: Tensor;
  features: Tensor;
}

/** HuBERT pre-training model (see the module header). Implements TaskModel<HubertBatch>. */
export class Hubert extends HubertBackbone implements TaskModel<HubertBatch> {
  readonly task = 'hubert';
  readonly modelName = 'Hubert';
  readonly config: ResolvedHubert;
  final_proj: Linear;
  label_embeddings: Tensor;

  constructor(o: HubertOptions & { device?: Device }) {
    if (o === null || typeof o !== 'object') throw new Error('[Hubert] expected options { encoder, numClasses, ... }');
    for (const k of Object.keys(o)) {
      if (k !== 'device' && k !== 'task' && !(HUBERT_KEYS as readonly string[]).includes(k)) throw new Error(`[Hubert] unknown option '${k}' (known: ${HUBERT_KEYS.join(', ')})`);
    }
    const cfg = resolveHubert(o);
    super(cfg, o.device);
    this.config = cfg;
    const d = cfg.encoder.dModel;
    this.final_proj = this.module('final_proj', new Linear(d, cfg.finalDim, { seed: deriveSeed(cfg.seed, 'final_proj'), device: this.device }));
    this.label_embeddings = this.param('label_embeddings', uniform([cfg.numClasses, cfg.finalDim], 0, 1, { seed: deriveSeed(cfg.seed, 'label_embeddings'), device: this.device }));
  }

  /** Rebuilds a model from toConfig()'s JSON (fresh weights; load them with load()). */
  static fromConfig(config: Record<string, unknown>, opts: { device?: Device } = {}): Hubert {
    if (config.task !== undefined && config.task !== 'hubert') throw new Error(`[Hubert] config is for task '${String(config.task)}', not 'hubert'`);
    const { task: _t, ...rest } = config;
    void _t;
    return new Hubert({ ...(rest as unknown as HubertOptions), device: opts.device });
  }

  /** The architecture as JSON (every option resolved): models.create(toConfig()) rebuilds it. */
  toConfig(): Record<string, unknown> {
    return { task: this.task, ...JSON.parse(JSON.stringify(this.config)) };
  }

  /** Saves weights (safetensors, atomically) with the task and config in the metadata. */
  override save(file: string, metadata: Record<string, string> = {}): void {
    super.save(file, { ...metadata, 'mamba_speech.task': this.task, 'mamba_speech.model': this.modelName, 'mamba_speech.config': JSON.stringify(this.toConfig()), 'mamba_speech.format': '1' });
  }

  /** Labels of each item at model frames (−1 = no target) and the count of labelled frames. */
  private targetsOf(batch: HubertBatch, inLens: Int32Array, lens: Int32Array, T: number): { targets: Int32Array; labelled: Int32Array } {
    const B = lens.length, cfg = this.config;
    const labels = batch.labels;
    if (!Array.isArray(labels) || labels.length !== B) this.fail(`batch.labels must hold B = ${B} label arrays (cluster ids at ${cfg.labelRate} Hz), got ${Array.isArray(labels) ? labels.length : typeof labels}`);
    const targets = new Int32Array(B * T).fill(-1), labelled = new Int32Array(B);
    for (let b = 0; b < B; ++b) {
      const l = labels[b];
      const id = batch.ids?.[b] ?? `item ${b}`;
      checkLabelLength(l.length, inLens[b] / this.inputRate, cfg.labelRate, { tolerance: cfg.labelTolerance, id, where: 'Hubert' });
      const r = resampleLabels(l, cfg.labelRate, this.frameRate, lens[b]);
      r.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v >= cfg.numClasses) this.fail(`labels of "${id}" hold ${v}, outside the K = ${cfg.numClasses} classes`);
        targets[b * T + i] = v;
      });
      labelled[b] = r.length;
    }
    return { targets, labelled };
  }

  /** Cosine logits (rows, K) / logitTemp in float32 of projected frames x (rows, finalDim). */
  private cosineLogits(x: Tensor): Tensor {
    return autocast('bfloat16', () => tidy(() => {
      const p = x.dtype === 'float32' ? x : x.to('float32');
      const e = this.label_embeddings; // (K, F)
      // torch.cosine_similarity: x·y / (max(||x||, eps) · max(||y||, eps)), eps 1e-8
      const pn = div(p, maximum(sqrt(sum(square(p), -1, true)), 1e-8)); // (rows, F)
      const en = div(e, maximum(sqrt(sum(square(e), -1, true)), 1e-8)); // (K, F)
      return div(matmul(pn, transpose(en)), this.config.logitTemp); // (rows, K)
    }), { enabled: false });
  }

  /**
   * One forward pass: input + labels -> logits (B, T', K) and what they are scored against.
   * `mask`: the span mask to use (B, T') — by default drawn in training mode, none in eval mode;
   * `maskSeed` draws one from that seed instead. Runs in the current mode.
   */
  forward(batch: HubertBatch, opts: { mask?: SpanMask | null; maskSeed?: number } = {}): HubertForward {
    const inp = this.checkInput(batch.features, batch.lengths);
    let out!: HubertForward;
    tidy(() => {
      const { feats, lengths } = this.extract(inp);
      const [B, T] = feats.shape;
      const { targets, labelled } = this.targetsOf(batch, inp.lengths, lengths, T);
      let mask = opts.mask ?? null;
      if (mask && (mask.shape[0] !== B || mask.shape[1] !== T)) this.fail(`mask must be (B, T') = (${B}, ${T}), got (${mask.shape.join(', ')})`);
      if (!mask && (opts.maskSeed !== undefined || (this.training && opts.mask === undefined))) {
        let seed = opts.maskSeed;
        if (seed === undefined) {
          const g = nextSeedOffset(4, 'Hubert.mask'); // advances the global generator by one block
          seed = dataSeed(this.cfg.seed, 'mask', Number(g.seed & 0xffffffffn), Number(g.offset & 0xffffffffn), Number((g.offset >> 32n) & 0xffffffffn));
        }
        mask = computeMaskIndices([B, T], labelled, { ...this.cfg.mask, rng: new Rng(seed) });
      }
      mask ??= { mask: new Uint8Array(B * T), counts: new Int32Array(B), shape: [B, T] };
      let x = this.project(feats); // (B, T', d)
      if (mask.counts.some((c) => c > 0)) x = this.applyMask(x, mask);
      const enc = this.encode(x, lengths).out; // (B, T', d)
      const logits = reshape(this.cosineLogits(reshape(this.final_proj.forward(enc), [B * T, -1])), [B, T, -1]); // (B, T', K)
      out = { logits, targets, mask, lengths, labelled, out: enc, features: feats };
      return [logits, enc, feats];
    });
    return out;
  }

  /** Pre-training loss of a batch in the current mode (see the module header). Metrics: loss,
   *  loss_m, loss_u, acc_m, acc_u, features_pen, masked, unmasked; count = masked frames. */
  loss(batch: HubertBatch, opts: { maskSeed?: number } = {}): LossOutput {
    if (!batch || typeof batch !== 'object') this.fail('loss expects a HubertBatch { features, lengths, labels }');
    const cfg = this.config;
    const f = this.forward(batch, opts);
    const [B, T, K] = f.logits.shape;
    const tm = new Int32Array(B * T).fill(-100), tu = new Int32Array(B * T).fill(-100);
    let nm = 0, nu = 0;
    for (let i = 0; i < B * T; ++i) {
      if (f.targets[i] < 0) continue;
      if (f.mask.mask[i]) { tm[i] = f.targets[i]; ++nm; } else { tu[i] = f.targets[i]; ++nu; }
    }
    if (nm === 0 && cfg.unmaskedWeight === 0) {
      [f.logits, f.out, f.features].forEach((t) => t.dispose());
      this.fail(`no masked frame in this batch (frames with targets per item: ${Array.from(f.labelled).join(', ')}); every item needs frames and maskProb > 0 or minMasks > 0 (or set unmaskedWeight > 0)`);
    }
    const dev = this.device;
    let lm = 0, lu = 0, pen = 0, pred!: Int32Array;
    const loss = tidy(() => {
      const flat = reshape(f.logits, [B * T, K]); // (B·T', K)
      const ce = (t: Int32Array): Tensor => crossEntropy(flat, fromTypedArray(t, [B * T], { device: dev }), { ignoreIndex: -100, reduction: 'sum' });
      const lossM = nm > 0 ? ce(tm) : null;
      const lossU = nu > 0 ? (cfg.unmaskedWeight > 0 ? ce(tu) : noGrad(() => ce(tu))) : null;
      const penT = mean(square(f.features.dtype === 'float32' ? f.features : f.features.to('float32')));
      lm = lossM ? lossM.item() / nm : 0;
      lu = lossU ? lossU.item() / nu : 0;
      pen = penT.item();
      pred = noGrad(() => argmax(flat, -1).dataSync()) as Int32Array;
      const denom = (cfg.maskedWeight > 0 ? nm : 0) + (cfg.unmaskedWeight > 0 ? nu : 0);
      let l: Tensor | null = null;
      if (lossM && cfg.maskedWeight > 0) l = mul(lossM, cfg.maskedWeight);
      if (lossU && cfg.unmaskedWeight > 0) l = l ? add(l, mul(lossU, cfg.unmaskedWeight)) : mul(lossU, cfg.unmaskedWeight);
      l = div(l!, Math.max(denom, 1));
      return cfg.featurePenalty > 0 ? add(l, mul(penT, cfg.featurePenalty)) : l;
    });
    let cm = 0, cu = 0;
    for (let i = 0; i < B * T; ++i) {
      if (tm[i] >= 0 && pred[i] === tm[i]) ++cm;
      if (tu[i] >= 0 && pred[i] === tu[i]) ++cu;
    }
    const metrics = { loss: loss.item(), loss_m: lm, loss_u: lu, acc_m: nm ? cm / nm : 0, acc_u: nu ? cu / nu : 0, features_pen: pen, masked: nm, unmasked: nu };
    [f.logits, f.out, f.features].forEach((t) => t.dispose());
    return { loss, metrics, count: Math.max(nm, 1) };
  }

  /** Eval mode, no gradients, masks seeded from (seed, batch ids): frame-weighted loss, loss_m,
   *  loss_u, acc_m, acc_u over the set, plus masked / unmasked frame totals. */
  async evaluate(batches: Iterable<HubertBatch> | AsyncIterable<HubertBatch>): Promise<Record<string, number>> {
    if (!batches || (typeof (batches as Iterable<HubertBatch>)[Symbol.iterator] !== 'function' && typeof (batches as AsyncIterable<HubertBatch>)[Symbol.asyncIterator] !== 'function')) {
      this.fail('evaluate expects an iterable of batches');
    }
    const prev = this.training;
    this.train(false);
    const s = { loss: 0, lm: 0, lu: 0, cm: 0, cu: 0, nm: 0, nu: 0, pen: 0, n: 0 };
    let index = 0;
    try {
      for await (const batch of batches as AsyncIterable<HubertBatch>) {
        const seed = dataSeed(this.cfg.seed, 'eval', (batch.ids ?? [String(index)]).join('\u0000'));
        const r = noGrad(() => this.loss(batch, { maskSeed: seed }));
        r.loss.dispose();
        const m = r.metrics;
        s.loss += m.loss * r.count; s.n += r.count; s.pen += m.features_pen * r.count;
        s.lm += m.loss_m * m.masked; s.lu += m.loss_u * m.unmasked;
        s.cm += m.acc_m * m.masked; s.cu += m.acc_u * m.unmasked; s.nm += m.masked; s.nu += m.unmasked;
        ++index;
      }
    } finally {
      this.train(prev);
    }
    if (index === 0) this.fail('evaluate: no batches');
    return { loss: s.loss / s.n, loss_m: s.lm / Math.max(s.nm, 1), loss_u: s.lu / Math.max(s.nu, 1), acc_m: s.cm / Math.max(s.nm, 1), acc_u: s.cu / Math.max(s.nu, 1), features_pen: s.pen / s.n, masked: s.nm, unmasked: s.nu, batches: index };
  }

  /** Hidden states (eval mode, no gradients, no mask): hs[0] = encoder input (after the
   *  positional conv and, for post-norm stacks, the layer norm), hs[l] = layer l, at T' frames;
   *  subsampling = input steps per frame (320 samples or 4 feature frames). */
  hiddenStates(batch: HubertBatch): HiddenStates {
    const prev = this.training;
    this.train(false);
    try {
      return noGrad(() => {
        const inp = this.checkInput(batch.features, batch.lengths);
        return tidy(() => {
          const { feats, lengths } = this.extract(inp, true);
          const enc = this.encode(this.project(feats), lengths, true);
          if (!enc.hiddenStates!.includes(enc.out)) enc.out.dispose(); // pre-norm stacks: the final layer norm's output
          const inputs = this.analysisInputs(inp);
          return { states: enc.hiddenStates!, lengths, subsampling: this.subsamplingFactor, inputs, inputLengths: inputs ? inp.lengths : null };
        });
      });
    } finally {
      this.train(prev);
    }
  }
}
