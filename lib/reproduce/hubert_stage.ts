/**
 * hubert_stage.ts — stage 4 of the main job (presets small and paper): the paper's HuBERT
 * comparison. Iteration-1 MFCC k-means targets (hubert_data.ts), then per (encoder, seed) a
 * models.Hubert pre-trained by train.Trainer, a models.HubertCtc fine-tuned from it for phone
 * (synth) or character (LibriSpeech) recognition, and its test error per utterance — the same
 * ModelResult as the other stages (task 'hubert-ctc'), so the verdict's paired bootstrap, the
 * report and the MI analysis take it as they take the CTC models of stage 3.
 *
 * Glossary:
 *   encoders     preset.hubert.encoders (Transformer, TransBiMamba, ConBiMamba), equal depth and
 *                width (preset.hubert.model, else preset.model), parameter-matched by
 *                encoders.matchEncoders (TransBiMamba's knob is its FFN width, as the Transformer's)
 *   front end    'cnn': HuBERT's waveform CNN (7 convs, 320× down: 50 Hz; extractorChannels 512 in
 *                paper), input from the wave cache; 'logmel': the cached 80-d log-mel of stage 1 ->
 *                Conv2dSubsampling (4× down: 25 Hz), the cheap option of preset small (no
 *                waveform CNN to run over 16 kHz audio: ~5× fewer front-end FLOPs per second of
 *                audio at C = d / 2 = 128)
 *   time scales  masks span 200 ms (fairseq: 10 frames at 50 Hz; 5 at 25 Hz), the positional
 *                conv 2.56 s (128 / 64 frames), as HuBERT base
 *   batches      preset maxFrames counts 10 ms frames as every stage does: a CNN batch holds at
 *                most maxFrames × 160 samples (padding included)
 *   model dir    <stage>/hubert-ctc-<encoder>-s<seed>/: pretrain/ (trainer folder, hubert.safetensors,
 *                pretrain.json written last), finetune/ (trainer folder), model.safetensors (the
 *                fine-tuned best dev checkpoint) and result.json (written last: finished)
 *   fine-tuning  fairseq hubert_asr: CNN frozen, encoder frozen for the first 10 % of the updates
 *                (only ctc_proj trains), span masks with p = FINETUNE_MASK_PROB as regularisation
 *   trainSeconds pre-training + fine-tuning seconds of the model (result.pretrain.seconds is the
 *                first part)
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FeatureItem } from '../audio/mel';
import type { XFn } from '../analysis/frames';
import { deriveSeed } from '../data/rng';
import type { SplitName } from '../data/corpus';
import { Tokenizer } from '../data/tokenizer';
import { AsrBatch, collateAsr, makeBatchSource } from '../models/collate';
import type { EncoderSpec } from '../models/encoder_spec';
import { collateHubert, OwnedHubertBatch } from '../models/hubert/batch';
import type { HubertOptions } from '../models/hubert/config';
import { Hubert } from '../models/hubert/hubert';
import { HubertCtc } from '../models/hubert/hubert_ctc';
import { loadModel } from '../models/registry';
import type { BatchSource, TaskModel } from '../models/task';
import { Conv2dSubsampling, FeatureExtractor } from '../nn/frontend';
import { AdamW } from '../optim/adam';
import { warmupCosine } from '../optim/schedule';
import { fromTypedArray, manualSeed } from '../tensor/creation';
import { Device } from '../tensor/types';
import { writeFileAtomic } from '../train/atomic';
import { loadCheckpointModel } from '../train/checkpoint';
import { Trainer } from '../train/trainer';
import { CorpusRecord, SAMPLE_RATE, Utterance } from './corpus';
import { matchEncoders, MatchedEncoder } from './encoders';
import { cacheWaves, HubertTargetsRecord, hubertTargets, readWave, splitEntries, targetLabels, WaveEntry, waveIndex } from './hubert_data';
import type { Preset, TrainSettings } from './presets';
import { headlineOf, modelName, ModelResult, perUtterance, StepReport } from './training';

export type HubertSettings = NonNullable<Preset['hubert']>;

/** Span-mask probability while fine-tuning (fairseq's 100 h recipe: 0.65 over 80k updates; a
 *  lighter 0.3 keeps masking a regulariser at the ~1000 updates of preset small). */
export const FINETUNE_MASK_PROB = 0.3;
/** Share of the fine-tuning updates with the encoder frozen (fairseq base_10h: 10k of 25k; 0.1
 *  lets the fresh ctc_proj settle first without spending much of a short run). */
export const FREEZE_SHARE = 0.1;
/** Seed of the k-means targets (shared by every model of the stage). */
export const TARGET_SEED = 0;
/** Samples per 10 ms frame at 16 kHz (the unit of the presets' maxFrames). */
const HOP = SAMPLE_RATE / 100;

/** What stage 4 records (done.json's result). */
export interface HubertStageRecord {
  frontend: HubertSettings['frontend'];
  targets: HubertTargetsRecord;
  encoders: MatchedEncoder[];
  results: ModelResult[];
}

/** Progress hooks of the stage (index.ts turns them into ReproduceEvents). */
export interface HubertHooks {
  /** a model starts (`cached`: finished earlier, its result is reused) and ends */
  onModel?(name: string, cached: boolean): void;
  onModelDone?(result: ModelResult): void;
  onStep?(name: string, step: number, total: number, loss: number): void;
  onProgress?(what: string, done: number, total: number): void;
  /** receives a function that stops the current training after its step (saving `last`) */
  onTrainer?(stop: () => void): void;
  /** throws when the run was asked to stop (called between models) */
  checkStop?(): void;
}

/** The HuBERT settings of `preset`, or an error naming the preset. */
export function hubertSettings(preset: Preset): HubertSettings {
  if (!preset.hubert) throw new Error(`[reproduce] preset ${preset.name} has no self-supervised (HuBERT) stage`);
  return preset.hubert;
}

/** The parameter-matched encoders of the stage (see the glossary). */
export function hubertEncoders(preset: Preset): MatchedEncoder[] {
  const h = hubertSettings(preset);
  return matchEncoders(h.encoders, h.model ?? preset.model);
}

/** Model frames per second of a front end (16 kHz audio, 10 ms features). */
export function frameRateOf(frontend: HubertSettings['frontend']): number {
  return frontend === 'cnn' ? SAMPLE_RATE / 320 : 100 / 4;
}

/** Model frames of an input of `n` steps (samples for 'cnn', feature frames for 'logmel'). */
function outLength(frontend: HubertSettings['frontend'], n: number): number {
  return frontend === 'cnn' ? FeatureExtractor.outLength(n) : Conv2dSubsampling.outLength(n);
}

/** The models.Hubert options of the stage for one encoder spec (see the glossary for the time
 *  scales); K = `numClasses`, 80-d log-mel at 100 Hz or 16 kHz waveforms. */
export function hubertOptions(h: HubertSettings, spec: EncoderSpec, numClasses: number, seed: number): HubertOptions {
  const rate = frameRateOf(h.frontend);
  const d = spec.dModel;
  // the largest group count ≤ 16 (HuBERT base) that divides d
  let groups = 16;
  while (d % groups !== 0) --groups;
  return {
    encoder: spec, frontend: h.frontend, extractorChannels: h.extractorChannels, nMels: 80, sampleRate: SAMPLE_RATE, featureRate: 100,
    numClasses, labelRate: 100, finalDim: Math.min(256, d), posConvKernel: 2 * Math.round(1.28 * rate), posConvGroups: groups,
    mask: { maskProb: 0.65, maskLength: Math.max(1, Math.round(0.2 * rate)), minMasks: 2 }, seed,
  };
}

/** One split as the front end reads it: ids, input steps per utterance and a loader. */
export interface InputSet {
  split: SplitName;
  utts: readonly Utterance[];
  /** samples ('cnn') or feature frames ('logmel') per utterance */
  steps: number[];
  load(i: number): FeatureItem;
}

/** The inputs of `utts` (a split or part of one) for `frontend`: the cached log-mel frames, or
 *  waveforms from the wave cache in `waveDir` (FeatureItems of dim 1, read when a batch is made). */
export function inputSet(frontend: HubertSettings['frontend'], split: SplitName, utts: readonly Utterance[], waveDir: string | null): InputSet {
  if (frontend === 'logmel') return { split, utts, steps: utts.map((u) => u.features.numFrames), load: (i) => utts[i].features };
  const index = waveDir ? waveIndex(waveDir, split) : null;
  const byId = new Map((index ?? []).map((w) => [w.id, w]));
  const waves = utts.map((u) => byId.get(u.id));
  const missing = waves.findIndex((w) => !w);
  if (!index || missing >= 0) {
    throw new Error(`[reproduce] HuBERT: the wave cache ${waveDir} lacks ${index ? `${split} utterance ${utts[missing].id}` : `the ${split} split`}; delete it and rerun stage 4`);
  }
  return { split, utts, steps: waves.map((w) => w!.numSamples), load: (i) => waveItem(waveDir!, waves[i]!) };
}

function waveItem(waveDir: string, w: WaveEntry): FeatureItem {
  const data = readWave(waveDir, w);
  return { data, numFrames: data.length, dim: 1 };
}

/** Input steps per batch for a preset's maxFrames (10 ms frames; see the glossary). */
function budget(frontend: HubertSettings['frontend'], maxFrames: number): number {
  return frontend === 'cnn' ? maxFrames * HOP : maxFrames;
}

/** Pre-training batches (input + cluster labels) of the utterances with more than one mask span
 *  of model frames (a shorter one would cut every row's mask: fairseq's require_same_masks). */
export function pretrainSource(frontend: HubertSettings['frontend'], inp: InputSet, labels: readonly Int32Array[], maxFrames: number, seed: number, shuffle: boolean, device: Device): BatchSource<OwnedHubertBatch> {
  const minFrames = Math.max(1, Math.round(0.2 * frameRateOf(frontend))) + 1;
  if (labels.length !== inp.utts.length) throw new Error(`[reproduce] HuBERT: ${labels.length} label sequences for ${inp.utts.length} ${inp.split} utterances`);
  const keep = inp.steps.map((_, i) => i).filter((i) => outLength(frontend, inp.steps[i]) >= minFrames && labels[i].length > 0);
  if (keep.length === 0) throw new Error(`[reproduce] HuBERT: no ${inp.split} utterance is long enough to pre-train on (${minFrames} model frames at ${frameRateOf(frontend)} Hz)`);
  return makeBatchSource(keep, keep.map((i) => inp.steps[i]), (idx) => collateHubert(idx.map((i) => ({ id: inp.utts[i].id, input: inp.load(i), labels: labels[i] })), { device }),
    { maxFrames: budget(frontend, maxFrames), seed, shuffle, device });
}

/** CTC batches (input + phone / character targets) of the utterances with at least one model
 *  frame (all of them unless `filter` is false: the test set is never thinned). */
export function ctcSource(frontend: HubertSettings['frontend'], inp: InputSet, corpus: CorpusRecord, maxFrames: number, seed: number, shuffle: boolean, device: Device, filter = true): BatchSource<AsrBatch> {
  const tok = Tokenizer.fromJSON(corpus.tokenizer);
  const keep = inp.steps.map((_, i) => i).filter((i) => !filter || outLength(frontend, inp.steps[i]) >= 1);
  if (keep.length === 0) throw new Error(`[reproduce] HuBERT: no ${inp.split} utterance gives a model frame`);
  return makeBatchSource(keep, keep.map((i) => inp.steps[i]), (idx) => collateAsr(idx.map((i) => {
    const u = inp.utts[i];
    return { id: u.id, features: inp.load(i), phones: u.phones, text: u.text };
  }), tok, { device }), { maxFrames: budget(frontend, maxFrames), seed, shuffle, device });
}

/** The data of the stage's models: inputs and labels per split. */
export interface HubertData {
  train: InputSet;
  dev: InputSet;
  test: InputSet;
  labels: { train: Int32Array[]; dev: Int32Array[] };
}

/** What a model records of its pre-training (ModelResult.pretrain). */
export interface PretrainRecord {
  steps: number;
  seconds: number;
  parameters: number;
  weights: string;
  /** Hubert.evaluate on the dev split: loss, loss_m, acc_m (masked accuracy), acc_u, ... */
  dev: Record<string, number>;
  /** the targets' chance level (HubertTargetsRecord.chance) */
  chance: number;
}

function stopped(name: string, o: { encoder: MatchedEncoder; seed: number; dir: string }, headline: string, fit: { step: number; elapsedSeconds: number; lastLoss: number | null }): ModelResult {
  return { name, task: 'hubert-ctc', encoder: o.encoder.type, seed: o.seed, parameters: 0, encoderParameters: 0, dir: o.dir, weights: '', steps: fit.step, trainSeconds: fit.elapsedSeconds, lastLoss: fit.lastLoss, bestDev: null, headline, test: {}, perUtterance: { ids: [], values: [], weights: [] } };
}

const freeParams = (m: TaskModel<unknown>) => m.parameters().forEach((p) => p.dispose());
const hasLast = (dir: string) => fs.existsSync(path.join(dir, 'checkpoints', 'last.safetensors'));

/**
 * Pre-trains (or resumes, or reloads) the Hubert of one (encoder, seed) in `<dir>/pretrain/`;
 * returns the model and its record, or null when the trainer was stopped.
 */
async function pretrain(o: HubertModelOptions, dir: string, name: string): Promise<{ model: Hubert; rec: PretrainRecord } | { stoppedAt: { step: number; elapsedSeconds: number; lastLoss: number | null } }> {
  const h = hubertSettings(o.preset), s = h.pretrain;
  const recFile = path.join(dir, 'pretrain.json');
  const weights = path.join(dir, 'hubert.safetensors');
  if (fs.existsSync(recFile) && fs.existsSync(weights)) {
    return { model: loadModel(weights, { device: o.device }) as unknown as Hubert, rec: JSON.parse(fs.readFileSync(recFile, 'utf8')) as PretrainRecord };
  }
  fs.mkdirSync(dir, { recursive: true });
  // masks and dropout draw from the global generator: seed it per model (a resumed run restores
  // the generator from its checkpoint instead), so a model does not depend on what ran before it
  if (!hasLast(dir)) manualSeed(deriveSeed(o.seed, 'hubert-pretrain', o.encoder.type));
  const model = new Hubert({ ...hubertOptions(h, o.encoder.spec, o.targets.k, o.seed), device: o.device });
  try {
    const dev = () => pretrainSource(h.frontend, o.data.dev, o.data.labels.dev, s.maxFrames, o.seed, false, o.device);
    const trainer = new Trainer({
      model: model as TaskModel<unknown>, optimizer: new AdamW(model.parameters(), { lr: s.lr, weightDecay: 0.01 }),
      schedule: warmupCosine({ warmupSteps: s.warmup, totalSteps: s.steps, minFactor: 0.05 }),
      train: pretrainSource(h.frontend, o.data.train, o.data.labels.train, s.maxFrames, o.seed, true, o.device) as BatchSource<unknown>, dev: dev() as BatchSource<unknown>,
      maxSteps: s.steps, evalEvery: s.evalEvery, monitor: 'acc_m', clipGradNorm: 10, outDir: dir, resume: true, logEvery: 10,
      // HuBERT fine-tunes from the last pre-training checkpoint; no best-k copies
      checkpoint: { keepBest: 0 }, config: { task: 'hubert', encoder: o.encoder.spec, seed: o.seed, preset: o.preset.name },
      callbacks: { onStep: (i) => o.hooks?.onStep?.(`${name} (pre-training)`, i.step, i.totalSteps ?? s.steps, i.loss) },
    });
    o.hooks?.onTrainer?.(() => trainer.requestStop());
    const fit = await trainer.fit();
    if (fit.stopReason === 'requested' || fit.stopReason === 'signal') {
      freeParams(model as TaskModel<unknown>);
      return { stoppedAt: fit };
    }
    const devMetrics = await model.evaluate(dev().epoch(0));
    model.save(weights);
    const rec: PretrainRecord = { steps: fit.step, seconds: fit.elapsedSeconds, parameters: model.numParameters(), weights, dev: devMetrics, chance: o.targets.chance };
    writeFileAtomic(recFile, JSON.stringify(rec, null, 1) + '\n');
    // hubert.safetensors holds the weights; the trainer's `last` (weights + AdamW moments: ~1.1 GB
    // for HuBERT base) is no longer needed once pretrain.json exists
    fs.rmSync(path.join(dir, 'checkpoints'), { recursive: true, force: true });
    return { model, rec };
  } catch (e) {
    freeParams(model as TaskModel<unknown>);
    throw e;
  }
}

/** Options of trainHubertModel. */
export interface HubertModelOptions {
  /** the stage folder: the model works in <dir>/hubert-ctc-<encoder>-s<seed>/ */
  dir: string;
  encoder: MatchedEncoder;
  seed: number;
  preset: Preset;
  corpus: CorpusRecord;
  targets: HubertTargetsRecord;
  data: HubertData;
  device: Device;
  hooks?: HubertHooks;
}

/**
 * Pre-trains, fine-tunes and tests one (encoder, seed) (see the glossary), resuming whatever an
 * interrupted attempt left; returns its ModelResult (task 'hubert-ctc', headline per or cer).
 * A finished model (result.json) is returned without work; a stopped one returns a result with
 * empty test values (not written).
 */
export async function trainHubertModel(o: HubertModelOptions): Promise<ModelResult> {
  const name = modelName('hubert-ctc', o.encoder.type, o.seed);
  const dir = path.join(o.dir, name);
  const resultFile = path.join(dir, 'result.json');
  if (fs.existsSync(resultFile)) return JSON.parse(fs.readFileSync(resultFile, 'utf8')) as ModelResult;
  const headline = headlineOf('ctc', o.corpus.tokenizer.kind);
  const h = hubertSettings(o.preset), s = h.finetune;
  const pre = await pretrain(o, path.join(dir, 'pretrain'), name);
  if ('stoppedAt' in pre) return stopped(name, { ...o, dir }, headline, pre.stoppedAt);

  const ftDir = path.join(dir, 'finetune');
  fs.mkdirSync(ftDir, { recursive: true });
  if (!hasLast(ftDir)) manualSeed(deriveSeed(o.seed, 'hubert-finetune', o.encoder.type));
  let model: HubertCtc;
  try {
    model = HubertCtc.fromPretrained(pre.model, {
      tokenizer: Tokenizer.fromJSON(o.corpus.tokenizer), freezeEncoderUpdates: Math.round(FREEZE_SHARE * s.steps), finalDropout: 0,
      applyMask: true, mask: { ...pre.model.config.mask, maskProb: FINETUNE_MASK_PROB },
    });
  } finally {
    freeParams(pre.model as TaskModel<unknown>);
  }
  try {
    const trainer = new Trainer({
      model: model as TaskModel<unknown>, optimizer: new AdamW(model.parameters(), { lr: s.lr, weightDecay: 0.01 }),
      schedule: warmupCosine({ warmupSteps: s.warmup, totalSteps: s.steps, minFactor: 0.05 }),
      train: ctcSource(h.frontend, o.data.train, o.corpus, s.maxFrames, o.seed, true, o.device) as BatchSource<unknown>,
      dev: ctcSource(h.frontend, o.data.dev, o.corpus, s.maxFrames, o.seed, false, o.device) as BatchSource<unknown>,
      maxSteps: s.steps, evalEvery: s.evalEvery, monitor: headline, clipGradNorm: 5, outDir: ftDir, resume: true, logEvery: 10,
      checkpoint: { keepBest: 1 }, config: { task: 'hubert-ctc', encoder: o.encoder.spec, seed: o.seed, preset: o.preset.name },
      callbacks: { onStep: (i) => o.hooks?.onStep?.(`${name} (fine-tuning)`, i.step, i.totalSteps ?? s.steps, i.loss) },
    });
    o.hooks?.onTrainer?.(() => trainer.requestStop());
    const fit = await trainer.fit();
    if (fit.stopReason === 'requested' || fit.stopReason === 'signal') return stopped(name, { ...o, dir }, headline, { ...fit, elapsedSeconds: fit.elapsedSeconds + pre.rec.seconds });
    // the weights the verdict uses: the best dev checkpoint (the last one when there is none)
    const best = fit.checkpoints.best[0] ?? fit.checkpoints.last;
    if (best) loadCheckpointModel(best, model);
    const weights = path.join(dir, 'model.safetensors');
    model.save(weights);
    const test = await model.evaluate(ctcSource(h.frontend, o.data.test, o.corpus, s.maxFrames, o.seed, false, o.device, false).epoch(0));
    const per = await hubertPerUtterance(model, o.data.test, o.corpus, o.device);
    const result: ModelResult = {
      name, task: 'hubert-ctc', encoder: o.encoder.type, seed: o.seed, parameters: model.numParameters(), encoderParameters: o.encoder.parameters,
      dir, weights, steps: fit.step, trainSeconds: pre.rec.seconds + fit.elapsedSeconds, lastLoss: fit.lastLoss, bestDev: fit.best?.value ?? null,
      headline, test, perUtterance: per, pretrain: pre.rec,
    };
    writeFileAtomic(resultFile, JSON.stringify(result, null, 1) + '\n');
    return result;
  } finally {
    freeParams(model as TaskModel<unknown>);
  }
}

/** Per-utterance error rates of a fine-tuned model on `test` (training.perUtterance on the
 *  model's inputs, 64 utterances at a time so waveforms are read as needed). */
export async function hubertPerUtterance(model: HubertCtc, test: InputSet, corpus: CorpusRecord, device: Device): Promise<ModelResult['perUtterance']> {
  const out: ModelResult['perUtterance'] = { ids: [], values: [], weights: [] };
  for (let i = 0; i < test.utts.length; i += 64) {
    const part = test.utts.slice(i, i + 64).map((u, k) => ({ ...u, features: test.load(i + k) }));
    // CtcAsr and HubertCtc share decode(batch) -> { tokens }, all perUtterance calls
    const r = await perUtterance('ctc', model as unknown as Parameters<typeof perUtterance>[1], part, corpus, device);
    out.ids.push(...r.ids); out.values.push(...r.values); out.weights.push(...r.weights);
  }
  return out;
}

/**
 * Stage 4 (see the module header) in `dir`: the wave cache (front end 'cnn'), the targets, then
 * every (seed, encoder) — seeds outside, encoders inside, as stages 2 and 3 — each resumed where
 * an interrupted attempt left it. Returns the stage record.
 */
export async function runHubertStage(o: {
  dir: string; preset: Preset; corpus: CorpusRecord; train: readonly Utterance[]; dev: readonly Utterance[]; test: readonly Utterance[];
  device: Device; seeds: readonly number[]; encoders?: MatchedEncoder[]; hooks?: HubertHooks;
}): Promise<HubertStageRecord> {
  const h = hubertSettings(o.preset);
  const encoders = o.encoders ?? hubertEncoders(o.preset);
  const hooks = o.hooks ?? {};
  let waveDir: string | null = null;
  if (h.frontend === 'cnn') {
    waveDir = path.join(o.dir, 'waves');
    const splits = { train: o.train, dev: o.dev, test: o.test };
    const total = o.train.length + o.dev.length + o.test.length;
    let done = 0;
    for (const [split, utts] of Object.entries(splits) as Array<[SplitName, readonly Utterance[]]>) {
      await cacheWaves(waveDir, split, splitEntries(o.corpus, split, utts), { onUtterance: (n) => hooks.onProgress?.('waveforms', done += n, total) });
      hooks.checkStop?.();
    }
  }
  const targets = await hubertTargets({
    dir: path.join(o.dir, 'targets'), corpus: o.corpus, train: o.train, dev: o.dev, k: h.clusters, fitFrames: h.kmeansFrames, seed: TARGET_SEED,
    device: o.device, waveDir, onProgress: (d, n, what) => hooks.onProgress?.(`HuBERT targets: ${what}`, d, n),
  });
  hooks.checkStop?.();
  const data: HubertData = {
    train: inputSet(h.frontend, 'train', o.train, waveDir), dev: inputSet(h.frontend, 'dev', o.dev, waveDir), test: inputSet(h.frontend, 'test', o.test, waveDir),
    labels: { train: targetLabels(targets, 'train', o.train), dev: targetLabels(targets, 'dev', o.dev) },
  };
  const results: ModelResult[] = [];
  for (const seed of o.seeds) {
    for (const encoder of encoders) {
      hooks.checkStop?.();
      const name = modelName('hubert-ctc', encoder.type, seed);
      hooks.onModel?.(name, fs.existsSync(path.join(o.dir, name, 'result.json')));
      const r = await trainHubertModel({ dir: o.dir, encoder, seed, preset: o.preset, corpus: o.corpus, targets, data, device: o.device, hooks });
      hooks.onModelDone?.(r);
      hooks.checkStop?.();
      results.push(r);
    }
  }
  return { frontend: h.frontend, targets, encoders, results };
}

/**
 * What the MI stage needs for a fine-tuned HuBERT (`model` loaded from `r.weights`) on the test
 * utterances `test`: batches, the input frame shift, and X. Log-mel models give X = their input
 * features (as every feature model); CNN models read waveforms, so X is the utterance's cached
 * log-mel, two 10 ms frames per 20 ms model frame — frames 2t + 1 and 2t + 2, centred on the CNN's
 * receptive field [320t, 320t + 400) samples — the same log-mel signal as for every other model.
 */
export function hubertAnalysisInput(model: HubertCtc, r: ModelResult, corpus: CorpusRecord, test: readonly Utterance[], device: Device):
{ batches: () => Iterable<unknown>; frameShift: number; x: 'features' | XFn<unknown> } {
  const frontend = model.cfg.frontend;
  const inp = inputSet(frontend, 'test', test, frontend === 'cnn' ? path.join(path.dirname(r.dir), 'waves') : null);
  const batches = () => ctcSource(frontend, inp, corpus, 4000, 0, false, device, false).epoch(0) as Iterable<unknown>;
  if (frontend === 'logmel') return { batches, frameShift: corpus.frameShift, x: 'features' };
  const byId = new Map(test.map((u) => [u.id, u.features]));
  const F = corpus.featureDim;
  const x: XFn<unknown> = (batch, hs) => {
    const [B, T] = hs.states[0].shape;
    const out = new Float32Array(B * T * 2 * F); // (B, T', 2F)
    (batch as AsrBatch).ids.forEach((id, b) => {
      const f = byId.get(id)!;
      for (let t = 0; t < T; ++t) {
        for (let k = 0; k < 2; ++k) {
          const src = Math.min(2 * t + 1 + k, f.numFrames - 1);
          out.set(f.data.subarray(src * F, (src + 1) * F), ((b * T + t) * 2 + k) * F);
        }
      }
    });
    return fromTypedArray(out, [B, T, 2 * F], { device: hs.states[0].device });
  };
  return { batches, frameShift: 1 / SAMPLE_RATE, x };
}
