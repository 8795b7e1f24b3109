/**
 * experiment.ts — an experiment config turned into what the Trainer takes: the task model
 * (models.create; global feature normalisation from the training set), train/dev BatchSources,
 * the optimizer and the lr schedule. The CLI's train, resume, eval and decode only call this.
 *
 * Glossary:
 *   adapter   per task: how its data is loaded (features + targets, or waveform pairs), how a
 *             fresh model is configured from the data (input dim, tokenizer), and how batches
 *             are made. Tasks: ctc, reconstruction, enhancement. A task the registry knows but
 *             no adapter does can still be built in code (models.create + fit), not from a config.
 *   model config  a fresh run makes it from the config + data; a resumed run, eval and decode
 *             take it from the checkpoint (meta.model.config), so the architecture and tokenizer
 *             are exactly the trained ones
 */
import type { FeatureItem } from '../audio/mel';
import type { ManifestEntry } from '../data/manifest';
import { Tokenizer } from '../data/tokenizer';
import { asrBatchSource, reconstructionBatchSource } from '../models/collate';
import { enhancementBatches, loadEnhancementPairs } from '../models/enhancement/data';
import type { EnhancementPair } from '../models/enhancement/data';
import { featureStats } from '../models/features';
import { create as createModel, tasks as registeredTasks } from '../models/registry';
import type { BatchSource, TaskModel } from '../models/task';
import { Adam, AdamW } from '../optim/adam';
import type { BaseHyper, Optimizer } from '../optim/optimizer';
import { constant, noam, Schedule, warmupCosine, warmupLinear, warmupPolynomial } from '../optim/schedule';
import { SGD } from '../optim/sgd';
import { getDefaultDevice } from '../tensor/device';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import type { ExperimentConfig } from './config';
import { loadCheckpointModel, readCheckpointMeta } from './checkpoint';
import { featurizeEntries, manifestPath, readEntries, SplitName } from './data';

/** Loaded data of one split, in the task's form. */
export type TaskData =
  | { kind: 'features'; entries: ManifestEntry[]; items: FeatureItem[] }
  | { kind: 'pairs'; entries: ManifestEntry[]; pairs: EnhancementPair[] };

/** How one task's data, model and batches are made from a config. */
interface TaskAdapter {
  load(cfg: ExperimentConfig, entries: ManifestEntry[], split: SplitName | 'custom', progress?: Progress): Promise<TaskData>;
  modelConfig(cfg: ExperimentConfig, train: TaskData): Record<string, unknown>;
  /** Sets what a fresh model learns from the training data before step 0 (feature statistics). */
  prepare(model: TaskModel, train: TaskData): void;
  source(model: TaskModel, data: TaskData, cfg: ExperimentConfig, split: 'train' | 'eval', device: Device): BatchSource<unknown>;
}

/** Progress of a long preparation step (features of N files). */
export type Progress = (what: string, done: number, total: number) => void;

function modelOptions(cfg: ExperimentConfig): Record<string, unknown> {
  const { tokenizer: _t, ...rest } = cfg.model;
  void _t;
  return { ...rest, seed: cfg.model.seed ?? cfg.seed };
}

async function loadFeatures(cfg: ExperimentConfig, entries: ManifestEntry[], split: string, progress?: Progress): Promise<TaskData> {
  const items = await featurizeEntries(entries, cfg, progress ? (d, n) => progress(`features (${split})`, d, n) : undefined);
  return { kind: 'features', entries, items };
}

function features(d: TaskData): { entries: ManifestEntry[]; items: FeatureItem[] } {
  if (d.kind !== 'features') throw new Error('[experiment] this task needs feature data');
  return d;
}

function setNorm(model: TaskModel, train: TaskData): void {
  const m = model as unknown as { setNormalization?: (s: unknown) => void };
  if (typeof m.setNormalization === 'function') m.setNormalization(featureStats(features(train).items));
}

function batchOpts(cfg: ExperimentConfig, split: 'train' | 'eval', device: Device) {
  return { maxFrames: cfg.data.maxFrames, maxBatchSize: cfg.data.maxBatchSize, seed: cfg.seed, shuffle: split === 'train', device };
}

/** The tokenizer kind of a CTC run: as configured, else phones when the corpus has them. */
function tokenizerKind(cfg: ExperimentConfig, entries: ManifestEntry[]): 'char' | 'phone' {
  return cfg.model.tokenizer ?? (entries.every((e) => Array.isArray(e.phones)) ? 'phone' : 'char');
}

const ADAPTERS: Record<string, TaskAdapter> = {
  ctc: {
    load: (cfg, entries, split, progress) => loadFeatures(cfg, entries, split, progress),
    modelConfig(cfg, train) {
      const { entries, items } = features(train);
      const tok = Tokenizer.fromManifest(entries, tokenizerKind(cfg, entries));
      return { ...modelOptions(cfg), task: 'ctc', inputDim: items[0].dim, tokenizer: tok.toJSON() };
    },
    prepare: setNorm,
    source(model, data, cfg, split, device) {
      const { entries, items } = features(data);
      const tok = (model as unknown as { tokenizer: Tokenizer | null }).tokenizer;
      const rows = entries.map((e, i) => ({ id: e.id, features: items[i], text: e.text, phones: e.phones }));
      return asrBatchSource(rows, tok, batchOpts(cfg, split, device)) as BatchSource<unknown>;
    },
  },
  reconstruction: {
    load: (cfg, entries, split, progress) => loadFeatures(cfg, entries, split, progress),
    modelConfig: (cfg, train) => ({ ...modelOptions(cfg), task: 'reconstruction', inputDim: features(train).items[0].dim }),
    prepare: setNorm,
    source(_model, data, cfg, split, device) {
      const { entries, items } = features(data);
      return reconstructionBatchSource(entries.map((e, i) => ({ id: e.id, features: items[i] })), batchOpts(cfg, split, device)) as BatchSource<unknown>;
    },
  },
  enhancement: {
    async load(cfg, entries, split, progress) {
      progress?.(`audio pairs (${split})`, 0, entries.length);
      const s = split === 'custom' ? 'test' : split;
      const pairs = await loadEnhancementPairs(entries, { split: s, seed: cfg.seed, sampleRate: (cfg.model.sampleRate as number | undefined) ?? 16000 });
      progress?.(`audio pairs (${split})`, entries.length, entries.length);
      return { kind: 'pairs', entries, pairs };
    },
    modelConfig: (cfg) => ({ ...modelOptions(cfg), task: 'enhancement' }),
    prepare: () => undefined,
    source(model, data, cfg, split, device) {
      if (data.kind !== 'pairs') throw new Error('[experiment] enhancement needs waveform pairs');
      const sr = (model as unknown as { sampleRate: number }).sampleRate;
      const src = enhancementBatches(data.pairs, {
        maxSamples: cfg.data.maxFrames * Math.round(sr / 100), batchSize: cfg.data.maxBatchSize, shuffle: split === 'train', seed: cfg.seed, device,
        segment: split === 'train' ? Math.round((cfg.data.segmentSeconds ?? 2) * sr) : undefined,
      });
      return disposing(src as BatchSource<unknown>);
    },
  },
};

/** The tasks an experiment config can train (those with an adapter that the registry knows). */
export function configTasks(): string[] {
  const known = new Set(registeredTasks());
  return Object.keys(ADAPTERS).filter((t) => known.has(t));
}

function adapterFor(task: string): TaskAdapter {
  const a = ADAPTERS[task];
  if (!a || !registeredTasks().includes(task)) {
    const have = configTasks();
    throw new Error(`[experiment] model.task '${task}' cannot be trained from a config (tasks: ${have.join(', ')}); build it in code with models.create and train.fit`);
  }
  return a;
}

/** Frees each batch's tensors when the next is requested or the epoch ends (sources whose batches
 *  are plain objects of tensors: one batch alive at a time, as collate's sources do). */
/** A BatchSource whose batches' tensor fields are freed when the next batch is requested or the
 *  epoch ends (sources that hand out new tensors per batch; one batch alive at a time). */
export function disposing<B>(src: BatchSource<B>): BatchSource<B> {
  const free = (b: B | null): void => {
    if (b && typeof b === 'object') for (const v of Object.values(b as object)) if (v instanceof Tensor) v.dispose();
  };
  return {
    *epoch(e: number): Generator<B> {
      let prev: B | null = null;
      try {
        for (const b of src.epoch(e) as Iterable<B>) {
          free(prev);
          prev = b;
          yield b;
        }
      } finally {
        free(prev);
      }
    },
    size: src.size ? (e: number) => src.size!(e) : undefined,
  };
}

/** The device a config asks for ('auto' = the default device). */
export function configDevice(cfg: ExperimentConfig): Device {
  return cfg.device === 'auto' ? getDefaultDevice() : cfg.device;
}

/** The optimizer of the config over `params`. */
export function buildOptimizer(cfg: ExperimentConfig, params: Tensor[]): Optimizer<BaseHyper> {
  const o = cfg.optimizer;
  const common = { lr: o.lr, ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}) };
  switch (o.type) {
    case 'sgd':
      return new SGD(params, { ...common, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov }) as unknown as Optimizer<BaseHyper>;
    case 'adam':
      return new Adam(params, { ...common, betas: o.betas, eps: o.eps, amsgrad: o.amsgrad }) as unknown as Optimizer<BaseHyper>;
    default:
      return new AdamW(params, { ...common, betas: o.betas, eps: o.eps, amsgrad: o.amsgrad }) as unknown as Optimizer<BaseHyper>;
  }
}

/** The lr schedule of the config (totalSteps defaults to trainer.maxSteps). */
export function buildSchedule(cfg: ExperimentConfig): Schedule {
  const s = cfg.schedule;
  const total = s.totalSteps ?? cfg.trainer.maxSteps!;
  const warm = s.warmupSteps ?? 0;
  switch (s.type) {
    case 'warmupCosine':
      return warmupCosine({ warmupSteps: warm, totalSteps: total, minFactor: s.minFactor });
    case 'warmupLinear':
      return warmupLinear({ warmupSteps: warm, totalSteps: total, minFactor: s.minFactor });
    case 'warmupPolynomial':
      return warmupPolynomial({ warmupSteps: warm, totalSteps: total, minFactor: s.minFactor, power: s.power });
    case 'noam':
      return noam({ dModel: s.dModel ?? cfg.model.encoder.dModel, warmupSteps: warm, scale: s.scale });
    default:
      return constant();
  }
}

/** Everything a training run needs, built from a config. */
export interface Experiment {
  config: ExperimentConfig;
  device: Device;
  model: TaskModel<unknown>;
  optimizer: Optimizer<BaseHyper>;
  schedule: Schedule;
  train: BatchSource<unknown>;
  dev: BatchSource<unknown> | null;
  counts: { train: number; dev: number };
}

/** Options of buildExperiment. */
export interface BuildOptions {
  /** Rebuild this architecture (a checkpoint's meta.model.config) instead of a fresh one. */
  modelConfig?: Record<string, unknown> | null;
  progress?: Progress;
}

function wrapModelError(e: unknown): never {
  const msg = (e as Error).message;
  throw new Error(/^\[/.test(msg) ? `[experiment] model: ${msg}` : msg);
}

/**
 * Loads the data, builds the model (fresh from the config and the training data, or from
 * `modelConfig`), the batch sources, the optimizer and the schedule of `cfg`.
 */
export async function buildExperiment(cfg: ExperimentConfig, opts: BuildOptions = {}): Promise<Experiment> {
  const adapter = adapterFor(cfg.model.task);
  const device = configDevice(cfg);
  const trainFile = manifestPath(cfg, 'train');
  if (!trainFile) throw new Error(`[experiment] no training manifest: ${cfg.data.corpus ? `${cfg.data.corpus} has no train.jsonl` : 'set data.train'}`);
  const trainData = await adapter.load(cfg, readEntries(trainFile, cfg.data.limit?.train), 'train', opts.progress);
  const devFile = manifestPath(cfg, 'dev');
  const devData = devFile ? await adapter.load(cfg, readEntries(devFile, cfg.data.limit?.dev), 'dev', opts.progress) : null;
  let model: TaskModel<unknown>;
  try {
    if (opts.modelConfig) model = createModel(opts.modelConfig, { device }) as TaskModel<unknown>;
    else {
      model = createModel(adapter.modelConfig(cfg, trainData), { device }) as TaskModel<unknown>;
      adapter.prepare(model, trainData);
    }
  } catch (e) {
    wrapModelError(e);
  }
  return {
    config: cfg, device, model,
    optimizer: buildOptimizer(cfg, model.parameters()),
    schedule: buildSchedule(cfg),
    train: adapter.source(model, trainData, cfg, 'train', device),
    dev: devData ? adapter.source(model, devData, cfg, 'eval', device) : null,
    counts: { train: trainData.entries.length, dev: devData ? devData.entries.length : 0 },
  };
}

/** Evaluation batches of `split` (or a manifest path) for a built model, in sorted order. */
export async function evalSource(cfg: ExperimentConfig, model: TaskModel<unknown>, split: SplitName | string, progress?: Progress): Promise<{ source: BatchSource<unknown>; entries: ManifestEntry[] }> {
  const adapter = adapterFor(String((model.toConfig() as { task?: unknown }).task ?? cfg.model.task));
  const isSplit = split === 'train' || split === 'dev' || split === 'test';
  const file = isSplit ? manifestPath(cfg, split as SplitName) : split;
  if (!file) throw new Error(`[experiment] the config has no ${split} manifest (data.${split} or ${split}.jsonl in data.corpus)`);
  const limit = isSplit ? cfg.data.limit?.[split as SplitName] : undefined;
  const data = await adapter.load(cfg, readEntries(file, limit), isSplit ? (split as SplitName) : 'custom', progress);
  const device = (model.parameters()[0]?.device ?? configDevice(cfg)) as Device;
  return { source: adapter.source(model, data, cfg, 'eval', device), entries: data.entries };
}

/** The trained model of a checkpoint: rebuilt from its saved model config (models.create) on
 *  `device` (default: the default device), its weights and random stream loaded. Save it with
 *  model.save(file) for models.loadModel. */
export function modelFromCheckpoint(file: string, opts: { device?: Device } = {}): TaskModel<unknown> {
  const meta = readCheckpointMeta(file);
  if (!meta.model.config) throw new Error(`[modelFromCheckpoint] ${file} holds no model config (its model has no toConfig()); build the model in code and use loadCheckpointModel`);
  const model = createModel(meta.model.config, { device: opts.device ?? getDefaultDevice() }) as TaskModel<unknown>;
  loadCheckpointModel(file, model);
  return model;
}
