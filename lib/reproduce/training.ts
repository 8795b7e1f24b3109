/**
 * training.ts — stages 2 and 3 of the main job: one model per (task, encoder, seed), trained by
 * train.Trainer in its own folder, then evaluated on the test split, corpus-level and per
 * utterance (the per-utterance values feed the paired bootstrap of the verdict).
 *
 * Glossary:
 *   model dir    <stage>/<task>-<encoder>-s<seed>/: the trainer's logs, checkpoints and loss plot,
 *                model.safetensors (the best dev checkpoint's weights) and result.json (written
 *                last, atomically: a model whose result.json exists is finished and never retrained)
 *   headline     the metric the verdict compares: ctc → per (phone error rate, phone tokenizer:
 *                synth) or cer (character error rate, char tokenizer: LibriSpeech), lower is
 *                better; reconstruction → maskedL1 (L1 on masked frames in log-mel units, lower is
 *                better); enhancement → sisdr (dB, higher is better; enhancement_stage.ts)
 *   per-utterance  value and weight per test utterance such that Σ w·v / Σ w is the corpus value
 *                (per/cer: edits / ref length, weight ref length — characters counted as
 *                CtcAsr.evaluate counts them; maskedL1: the utterance's value, weight its masked
 *                frames; sisdr: the utterance's value, weight 1)
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer, TokenizerKind } from '../data/tokenizer';
import { CtcAsr } from '../models/ctc_asr';
import { AsrBatch, asrBatchSource, collateAsr, collateReconstruction, ReconstructionBatch, reconstructionBatchSource } from '../models/collate';
import type { EncoderSpec, EncoderType } from '../models/encoder_spec';
import { featureStats } from '../models/features';
import { errorRate } from '../models/metrics';
import { MaskedReconstruction } from '../models/reconstruction';
import type { BatchSource, TaskModel } from '../models/task';
import { AdamW } from '../optim/adam';
import { warmupCosine } from '../optim/schedule';
import { Device } from '../tensor/types';
import { writeFileAtomic } from '../train/atomic';
import { loadCheckpointModel } from '../train/checkpoint';
import { Trainer } from '../train/trainer';
import type { CorpusRecord, Utterance } from './corpus';
import type { PretrainRecord } from './hubert_stage';
import type { Preset, TrainSettings } from './presets';

export type TaskKind = 'reconstruction' | 'ctc' | 'enhancement' | 'hubert-ctc';
/** The tasks trained here on the cached log-mel features (enhancement reads waveforms; hubert-ctc
 *  is stage 4's, hubert_stage.ts). */
export type FeatureTask = 'reconstruction' | 'ctc';

/** What one trained model records (result.json). */
export interface ModelResult {
  name: string;
  task: TaskKind;
  encoder: EncoderType;
  seed: number;
  parameters: number;
  encoderParameters: number;
  dir: string;
  weights: string;
  steps: number;
  trainSeconds: number;
  lastLoss: number | null;
  bestDev: number | null;
  headline: string;
  test: Record<string, number>;
  perUtterance: { ids: string[]; values: number[]; weights: number[] };
  /** hubert-ctc: the pre-training of the fine-tuned model (hubert_stage.ts) */
  pretrain?: PretrainRecord;
}

/** Progress of one model's training, for the display. */
export type StepReport = (step: number, total: number, loss: number) => void;

/** The headline metric of `task` (see the glossary); CTC's depends on the corpus' tokenizer. */
export function headlineOf(task: TaskKind, tokenizer: TokenizerKind = 'phone'): string {
  if (task === 'ctc') return tokenizer === 'char' ? 'cer' : 'per';
  return task === 'enhancement' ? 'sisdr' : 'maskedL1';
}

export function modelName(task: TaskKind, encoder: EncoderType, seed: number): string {
  return `${task}-${encoder}-s${seed}`;
}

/** Builds the (untrained) model of `task` for `spec` with normalisation statistics from `train`. */
export function buildModel(task: FeatureTask, spec: EncoderSpec, preset: Preset, corpus: CorpusRecord, train: readonly Utterance[], seed: number, device: Device): TaskModel<AsrBatch> | TaskModel<ReconstructionBatch> {
  const stats = featureStats(train.map((u) => u.features));
  if (task === 'ctc') {
    const m = new CtcAsr({ inputDim: corpus.featureDim, tokenizer: Tokenizer.fromJSON(corpus.tokenizer), encoder: spec, frontend: preset.classification.frontend, seed, device });
    m.normalize.setStats(stats);
    return m;
  }
  const m = new MaskedReconstruction({ inputDim: corpus.featureDim, encoder: spec, maskProb: preset.reconstruction.maskProb, maskSpan: preset.reconstruction.maskSpan, seed, device });
  m.normalize.setStats(stats);
  return m;
}

/** The batches of `items` for `task` (shuffled per epoch for training, sorted for evaluation). */
export function sourceFor(task: FeatureTask, items: readonly Utterance[], corpus: CorpusRecord, s: TrainSettings, seed: number, shuffle: boolean, device: Device): BatchSource<AsrBatch> | BatchSource<ReconstructionBatch> {
  const opts = { maxFrames: s.maxFrames, seed, shuffle, device };
  if (task === 'ctc') return asrBatchSource(items.map((u) => ({ id: u.id, features: u.features, phones: u.phones, text: u.text })), Tokenizer.fromJSON(corpus.tokenizer), opts);
  if (task !== 'reconstruction') throw new Error(`[reproduce] sourceFor serves the feature tasks (ctc, reconstruction), not ${task}`);
  return reconstructionBatchSource(items.map((u) => ({ id: u.id, features: u.features })), opts);
}

/** Per-utterance headline values on `test` (see the glossary), in the order of `test`. */
export async function perUtterance(task: FeatureTask, model: TaskModel<AsrBatch> | TaskModel<ReconstructionBatch>, test: readonly Utterance[], corpus: CorpusRecord, device: Device): Promise<ModelResult['perUtterance']> {
  const ids: string[] = [], values: number[] = [], weights: number[] = [];
  if (task === 'ctc') {
    const tok = Tokenizer.fromJSON(corpus.tokenizer);
    const asr = model as CtcAsr;
    const chunk = 16;
    for (let i = 0; i < test.length; i += chunk) {
      const part = test.slice(i, i + chunk);
      const batch = collateAsr(part.map((u) => ({ id: u.id, features: u.features, phones: u.phones, text: u.text })), tok, { device });
      try {
        const hyps = asr.decode(batch).tokens;
        // As CtcAsr.evaluate: characters of the decoded texts for a char tokenizer (whitespace
        // runs count once), token ids otherwise, so Σ edits / Σ length is its corpus value.
        const er = tok.kind === 'char'
          ? errorRate(batch.refs.map((r) => tok.decode(r)), hyps.map((h) => tok.decode(h)), { unit: 'char' })
          : errorRate(batch.refs.map((r) => Array.from(r)), hyps, { unit: 'token' });
        er.utterances.forEach((u, k) => {
          const len = u.ref.length;
          ids.push(part[k].id);
          values.push(len > 0 ? (u.substitutions + u.deletions + u.insertions) / len : 0);
          weights.push(len);
        });
      } finally {
        batch.dispose();
      }
    }
    return { ids, values, weights };
  }
  for (const u of test) {
    const batch = collateReconstruction([{ id: u.id, features: u.features }], { device });
    try {
      const m = await model.evaluate([batch as never]);
      ids.push(u.id);
      values.push(m.maskedL1);
      weights.push(m.maskedFrames ?? 1);
    } finally {
      batch.dispose();
    }
  }
  return { ids, values, weights };
}

/** Trains (or resumes, or returns the finished result of) one model in `dir`. */
export async function trainModel(o: {
  dir: string; task: FeatureTask; encoder: EncoderType; spec: EncoderSpec; encoderParameters: number; seed: number; preset: Preset;
  corpus: CorpusRecord; train: readonly Utterance[]; dev: readonly Utterance[]; test: readonly Utterance[]; device: Device; onStep?: StepReport;
  /** receives a function that stops this model's training after the current step (saving `last`) */
  onTrainer?: (stop: () => void) => void;
}): Promise<ModelResult> {
  const name = modelName(o.task, o.encoder, o.seed);
  const dir = path.join(o.dir, name);
  const resultFile = path.join(dir, 'result.json');
  if (fs.existsSync(resultFile)) return JSON.parse(fs.readFileSync(resultFile, 'utf8')) as ModelResult;
  fs.mkdirSync(dir, { recursive: true });
  const s = o.task === 'ctc' ? o.preset.classification.train : o.preset.reconstruction.train;
  const model = buildModel(o.task, o.spec, o.preset, o.corpus, o.train, o.seed, o.device);
  const headline = headlineOf(o.task, o.corpus.tokenizer.kind);
  const optimizer = new AdamW(model.parameters(), { lr: s.lr, weightDecay: 0.01 });
  const trainer = new Trainer({
    model: model as TaskModel<unknown>, optimizer, schedule: warmupCosine({ warmupSteps: s.warmup, totalSteps: s.steps, minFactor: 0.05 }),
    train: sourceFor(o.task, o.train, o.corpus, s, o.seed, true, o.device) as BatchSource<unknown>,
    dev: sourceFor(o.task, o.dev, o.corpus, s, o.seed, false, o.device) as BatchSource<unknown>,
    maxSteps: s.steps, evalEvery: s.evalEvery, monitor: headline, clipGradNorm: 5, outDir: dir, resume: true, logEvery: 10,
    checkpoint: { keepBest: 1 }, config: { task: o.task, encoder: o.spec, seed: o.seed, preset: o.preset.name },
    callbacks: { onStep: (i) => o.onStep?.(i.step, i.totalSteps ?? s.steps, i.loss) },
  });
  o.onTrainer?.(() => trainer.requestStop());
  const fit = await trainer.fit();
  if (fit.stopReason === 'requested' || fit.stopReason === 'signal') {
    model.parameters().forEach((p) => p.dispose());
    return { name, task: o.task, encoder: o.encoder, seed: o.seed, parameters: 0, encoderParameters: 0, dir, weights: '', steps: fit.step, trainSeconds: fit.elapsedSeconds, lastLoss: fit.lastLoss, bestDev: null, headline, test: {}, perUtterance: { ids: [], values: [], weights: [] } };
  }
  // The weights the verdict uses: the best dev checkpoint (the last one when there is none).
  const best = fit.checkpoints.best[0] ?? fit.checkpoints.last;
  if (best) loadCheckpointModel(best, model);
  const weights = path.join(dir, 'model.safetensors');
  model.save(weights);
  const test = await model.evaluate(sourceFor(o.task, o.test, o.corpus, s, o.seed, false, o.device).epoch(0) as Iterable<never>);
  const per = await perUtterance(o.task, model, o.test, o.corpus, o.device);
  const result: ModelResult = {
    name, task: o.task, encoder: o.encoder, seed: o.seed, parameters: model.numParameters(), encoderParameters: o.encoderParameters,
    dir, weights, steps: fit.step, trainSeconds: fit.elapsedSeconds, lastLoss: fit.lastLoss, bestDev: fit.best?.value ?? null,
    headline, test, perUtterance: per,
  };
  model.parameters().forEach((p) => p.dispose());
  writeFileAtomic(resultFile, JSON.stringify(result, null, 1) + '\n');
  return result;
}
