/**
 * checkpoint.ts — one training checkpoint = one safetensors file, written atomically: the model's
 * tensors, the optimizer's buffers, and in the header's metadata (key `mamba-speech`) a JSON
 * record of everything else a resumed run needs to continue bit for bit.
 *
 * Glossary:
 *   model.<name>          the model's state dict (parameters + persistent buffers), so
 *                         `loadCheckpointModel` or any safetensors reader finds them by name
 *   optim.<i>.<buffer>    optimizer state of parameter i (PyTorch's numbering through the groups):
 *                         expAvg, expAvgSq, maxExpAvgSq, momentumBuffer (float32)
 *   meta                  CheckpointMeta: trainer position (step, epoch, batch index), the tensor
 *                         RNG (Philox seed, offset), optimizer hyper-parameters and step counts,
 *                         scheduler state, model config, the run's resolved config, best-k list
 *
 * A file of the format has metadata `format` = 'mamba-speech/checkpoint' and `version` 1.
 */
import * as fs from 'fs';

import { loadSafetensors, saveSafetensors } from '../io/safetensors';
import type { TaskModel } from '../models/task';
import { Module } from '../nn/module';
import type { BaseHyper, Optimizer, OptimizerStateDict, ParamStateDict } from '../optim/optimizer';
import type { LRScheduler, LRSchedulerState } from '../optim/schedule';
import type { RngState } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';

export const CHECKPOINT_FORMAT = 'mamba-speech/checkpoint';
export const CHECKPOINT_VERSION = 1;
const META_KEY = 'mamba-speech';

/** A kept best checkpoint: its file (basename), the step it was saved at and its metric value. */
export interface BestEntry {
  file: string;
  step: number;
  value: number;
}

/** Sums over the steps since the last log record (a record holds their means). `seconds` is wall
 *  time, for steps/s only. */
export interface LogWindow {
  steps: number;
  applied: number;
  loss: number;
  seconds: number;
  gradNorm: number | null;
  metrics: Record<string, number>;
}

/** The trainer's own counters, enough to continue exactly where it stopped. */
export interface TrainerState {
  /** Optimizer steps taken (skipped non-finite steps included). */
  step: number;
  /** Epoch of the next batch to read, and how many batches of that epoch were consumed. */
  epoch: number;
  batchIndex: number;
  /** Steps skipped because the loss or gradient norm was not finite; the current run of them. */
  skippedSteps: number;
  nonFiniteInARow: number;
  /** Early stopping: best metric value so far (null before the first evaluation), its step, and
   *  evaluations since it improved. */
  bestValue: number | null;
  bestStep: number | null;
  evalsWithoutImprovement: number;
  /** Step of the latest evaluation (null before any). */
  lastEvalStep: number | null;
  /** Best-k checkpoints kept, best first. */
  best: BestEntry[];
  /** Wall-clock seconds spent training before this checkpoint (for steps/s over resumes). */
  elapsedSeconds: number;
  /** The log window in progress (so a record spanning a resume averages the same steps). */
  window: LogWindow;
}

/** The metadata record of a checkpoint. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  kind: 'last' | 'best';
  createdAt: string;
  trainer: TrainerState;
  rng: RngState;
  /** The model's own random stream (masks, SpecAugment) when it has one: model.rngState(). */
  modelRng: unknown;
  optimizer: {
    name: string;
    paramGroups: Record<string, unknown>[];
    /** step count per parameter index (those that have state) */
    steps: Record<string, number>;
  };
  scheduler: LRSchedulerState | null;
  model: { className: string; task: string | null; config: Record<string, unknown> | null; numParameters: number };
  /** The run's resolved experiment config, when the run has one. */
  config: Record<string, unknown> | null;
  /** The latest evaluation's metrics at the time of saving (null before any). */
  metrics: Record<string, number> | null;
}

/** What saveCheckpoint writes. */
export interface CheckpointContents {
  model: Module;
  optimizer: Optimizer<BaseHyper>;
  scheduler: LRScheduler | null;
  kind: 'last' | 'best';
  trainer: TrainerState;
  rng: RngState;
  config: Record<string, unknown> | null;
  metrics: Record<string, number> | null;
}

function modelInfo(model: Module): CheckpointMeta['model'] {
  const m = model as unknown as Partial<TaskModel>;
  let config: Record<string, unknown> | null = null;
  if (typeof m.toConfig === 'function') config = m.toConfig();
  return { className: model.constructor.name, task: typeof m.task === 'string' ? m.task : null, config, numParameters: model.numParameters() };
}

/** A model's own random-stream state (`rngState()`, as the task models keep for masks and
 *  SpecAugment), or null when it has none. */
export function modelRngState(model: Module): unknown {
  const m = model as unknown as { rngState?: () => unknown };
  return typeof m.rngState === 'function' ? m.rngState() : null;
}

/**
 * Writes a checkpoint to `file` atomically (temp + rename; see atomic.ts): a crash at any moment
 * leaves either the previous file or the new one, never a partial one. Returns the metadata.
 */
export function saveCheckpoint(file: string, c: CheckpointContents): CheckpointMeta {
  const osd = c.optimizer.stateDict();
  const tensors: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const [k, t] of Object.entries(c.model.stateDict())) tensors[`model.${k}`] = t;
    const steps: Record<string, number> = {};
    for (const [i, st] of Object.entries(osd.state)) {
      steps[i] = st.step;
      for (const [k, v] of Object.entries(st)) {
        if (k === 'step' || !(v instanceof Tensor)) continue;
        tensors[`optim.${i}.${k}`] = v;
        made.push(v);
      }
    }
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      kind: c.kind,
      createdAt: new Date().toISOString(),
      trainer: c.trainer,
      rng: c.rng,
      modelRng: modelRngState(c.model),
      optimizer: { name: c.optimizer.name, paramGroups: osd.paramGroups as unknown as Record<string, unknown>[], steps },
      scheduler: c.scheduler ? c.scheduler.stateDict() : null,
      model: modelInfo(c.model),
      config: c.config,
      metrics: c.metrics,
    };
    saveSafetensors(file, tensors, { [META_KEY]: JSON.stringify(meta) }); // atomic: temp + fsync + rename
    return meta;
  } finally {
    made.forEach((t) => t.dispose());
  }
}

function parseMeta(file: string, metadata: Record<string, string>): CheckpointMeta {
  const raw = metadata[META_KEY];
  if (raw === undefined) throw new Error(`[loadCheckpoint] ${file} is a safetensors file but not a mamba-speech training checkpoint (no '${META_KEY}' metadata)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(raw) as CheckpointMeta;
  } catch (e) {
    throw new Error(`[loadCheckpoint] ${file}: the checkpoint metadata is not valid JSON: ${(e as Error).message}`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`[loadCheckpoint] ${file}: format is ${JSON.stringify(meta.format)}, expected '${CHECKPOINT_FORMAT}'`);
  if (meta.version !== CHECKPOINT_VERSION) throw new Error(`[loadCheckpoint] ${file}: checkpoint version ${meta.version}, this build reads version ${CHECKPOINT_VERSION}`);
  return meta;
}

/** Reads only the metadata of a checkpoint (the JSON header; no tensor data is read). */
export function readCheckpointMeta(file: string): CheckpointMeta {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new Error(`[loadCheckpoint] cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    const head = Buffer.alloc(8);
    if (fs.readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`[loadCheckpoint] ${file} is too short to be a checkpoint`);
    const n = Number(head.readBigUInt64LE(0));
    const size = fs.fstatSync(fd).size;
    if (!(n > 0) || n > size - 8) throw new Error(`[loadCheckpoint] ${file}: header length ${n} does not fit the ${size}-byte file (truncated or not safetensors)`);
    const json = Buffer.alloc(n);
    fs.readSync(fd, json, 0, n, 8);
    let header: { __metadata__?: Record<string, string> };
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch (e) {
      throw new Error(`[loadCheckpoint] ${file}: header is not valid JSON: ${(e as Error).message}`);
    }
    return parseMeta(file, header.__metadata__ ?? {});
  } finally {
    fs.closeSync(fd);
  }
}

/** A checkpoint read back: metadata, the model's state dict and the optimizer's state dict
 *  (CPU tensors; the caller owns them — `disposeLoaded` frees them). */
export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  model: Record<string, Tensor>;
  optimizer: OptimizerStateDict<Record<string, unknown>>;
}

/** Reads a checkpoint file completely (see LoadedCheckpoint). */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  const { tensors, metadata } = loadSafetensors(file, { device: 'cpu', asFloat32: false });
  let meta: CheckpointMeta;
  try {
    meta = parseMeta(file, metadata);
  } catch (e) {
    Object.values(tensors).forEach((t) => t.dispose());
    throw e;
  }
  const model: Record<string, Tensor> = {};
  const state: Record<number, ParamStateDict> = {};
  for (const [i, step] of Object.entries(meta.optimizer.steps)) state[Number(i)] = { step };
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) {
      model[k.slice(6)] = t;
      continue;
    }
    const m = /^optim\.(\d+)\.(\w+)$/.exec(k);
    if (!m || !state[Number(m[1])]) {
      t.dispose();
      throw new Error(`[loadCheckpoint] ${file}: unexpected tensor '${k}'`);
    }
    (state[Number(m[1])] as unknown as Record<string, Tensor>)[m[2]] = t;
  }
  return { meta, model, optimizer: { state, paramGroups: meta.optimizer.paramGroups as OptimizerStateDict<Record<string, unknown>>['paramGroups'] } };
}

/** Frees the tensors of a LoadedCheckpoint. */
export function disposeLoaded(c: LoadedCheckpoint): void {
  Object.values(c.model).forEach((t) => t.dispose());
  for (const st of Object.values(c.optimizer.state)) {
    for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
  }
}

/**
 * Loads a checkpoint into a live model, optimizer and scheduler (all or nothing for each: the
 * model is checked strictly, the optimizer must be of the same kind and layout). Returns the
 * metadata (trainer position, RNG state, config) for the caller to continue from.
 */
export function restoreCheckpoint(file: string, into: { model: Module; optimizer?: Optimizer<BaseHyper> | null; scheduler?: LRScheduler | null }): CheckpointMeta {
  const c = loadCheckpoint(file);
  try {
    const { meta } = c;
    if (into.optimizer && meta.optimizer.name !== into.optimizer.name) {
      throw new Error(`[loadCheckpoint] ${file} was saved with the ${meta.optimizer.name} optimizer; this run uses ${into.optimizer.name}`);
    }
    const cls = into.model.constructor.name;
    if (meta.model.className !== cls) throw new Error(`[loadCheckpoint] ${file} holds a ${meta.model.className}; this run's model is a ${cls}`);
    const rs = (into.model as unknown as { setRngState?: (s: unknown) => void }).setRngState;
    if (meta.modelRng !== null && meta.modelRng !== undefined && typeof rs !== 'function') {
      throw new Error(`[loadCheckpoint] ${file} holds a model random-stream state, but ${cls} has no setRngState()`);
    }
    into.model.loadStateDict(c.model);
    if (meta.modelRng !== null && meta.modelRng !== undefined) rs!.call(into.model, meta.modelRng);
    if (into.optimizer) into.optimizer.loadStateDict(c.optimizer as OptimizerStateDict<Partial<BaseHyper>>);
    if (into.scheduler) {
      if (!meta.scheduler) throw new Error(`[loadCheckpoint] ${file} has no scheduler state; this run uses a schedule`);
      into.scheduler.loadStateDict(meta.scheduler);
    }
    return meta;
  } finally {
    disposeLoaded(c);
  }
}

/** Loads only the model weights of a checkpoint into `model` (strict); returns the metadata. */
export function loadCheckpointModel(file: string, model: Module): CheckpointMeta {
  return restoreCheckpoint(file, { model });
}
