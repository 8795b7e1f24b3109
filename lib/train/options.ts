/**
 * options.ts — what the Trainer takes and what it reports: options, callbacks and their events,
 * the result of fit(), and the defaults (resolveOptions checks every field and fills them in).
 *
 * Glossary:
 *   step          one optimizer update = `accumulate` micro-batches (forward + backward each)
 *   evalEvery     steps between evaluations on `dev`, or 'epoch' (after each epoch's last step)
 *   monitor       the eval metric that picks best checkpoints and drives early stopping, with
 *                 its mode: 'min' (error rates, losses) or 'max' (SI-SDR, STOI, accuracy)
 */
import type { BatchSource, TaskModel } from '../models/task';
import type { BaseHyper, Optimizer } from '../optim/optimizer';
import type { LRScheduler, Schedule } from '../optim/schedule';
import type { CheckpointMeta } from './checkpoint';
import type { EvalRecord, StepRecord } from './logger';

/** Early stopping: stop after `patience` evaluations without an improvement of `minDelta`. */
export interface EarlyStoppingOptions {
  patience: number;
  /** smallest change that counts as an improvement (default 0) */
  minDelta?: number;
}

/** Checkpoints under `<outDir>/checkpoints/`: `last.safetensors` and the best k. */
export interface CheckpointOptions {
  /** save `last` every this many steps (default: at each evaluation, or every 1000 steps without
   *  dev data; 0 = only at the end and when stopped) */
  every?: number;
  /** best checkpoints to keep by the monitored metric (default 1; 0 = none) */
  keepBest?: number;
}

/** One step, as reported to onStep (every step, logged or not). */
export interface StepInfo {
  step: number;
  epoch: number;
  /** mean loss of the step's micro-batches (NaN/Infinity when the step was skipped) */
  loss: number;
  metrics: Record<string, number>;
  lr: number;
  gradNorm: number | null;
  skipped: boolean;
  /** target steps when known (maxSteps, or epochs × batches / accumulate), for progress/ETA */
  totalSteps: number | null;
  /** steps per second over the recent window */
  stepsPerSec: number;
}

export interface EvalInfo {
  step: number;
  epoch: number;
  metrics: Record<string, number>;
  best: boolean;
}

export interface CheckpointInfo {
  step: number;
  kind: 'last' | 'best';
  path: string;
}

export interface StartInfo {
  step: number;
  epoch: number;
  totalSteps: number | null;
  resumedFrom: string | null;
  numParameters: number;
}

/** User hooks; each may return a promise, which the trainer awaits. */
export interface TrainerCallbacks {
  onStart?(info: StartInfo): void | Promise<void>;
  onStep?(info: StepInfo): void | Promise<void>;
  onLog?(record: StepRecord): void | Promise<void>;
  onEval?(info: EvalInfo): void | Promise<void>;
  onCheckpoint?(info: CheckpointInfo): void | Promise<void>;
}

/** Options of `new Trainer(...)` / `fit(...)`. */
export interface TrainerOptions<B> {
  model: TaskModel<B>;
  optimizer: Optimizer<BaseHyper>;
  /** lr schedule: a Schedule function (wrapped in an LRScheduler) or an LRScheduler */
  schedule?: Schedule | LRScheduler | null;
  train: BatchSource<B>;
  /** dev batches for evaluation: dev.epoch(0) is evaluated each time */
  dev?: BatchSource<B> | null;
  /** stop after this many steps (at least one of maxSteps / maxEpochs) */
  maxSteps?: number;
  /** stop after this many passes over the training data */
  maxEpochs?: number;
  /** micro-batches per step (default 1); each micro-batch's loss is scaled by 1/accumulate */
  accumulate?: number;
  /** clip the total gradient 2-norm to this (default: no clipping; the norm is logged anyway) */
  clipGradNorm?: number | null;
  /** 'auto' (default): bf16 autocast when the model is on CUDA; 'bfloat16': always (no-op on CPU); 'none' */
  autocast?: 'auto' | 'bfloat16' | 'none';
  /** stop with an error after this many non-finite steps in a row (default 10) */
  maxNonFiniteSteps?: number;
  /** evaluation interval in steps, or 'epoch' (default 'epoch' when dev is given) */
  evalEvery?: number | 'epoch';
  /** evaluate once more at the end when the last step was not just evaluated (default true) */
  evalAtEnd?: boolean;
  /** eval metric for best-k checkpoints and early stopping, e.g. 'per', 'maskedL1', 'sisdr' */
  monitor?: string;
  /** 'min' or 'max'; default by the metric's name (see defaultMode) */
  monitorMode?: 'min' | 'max';
  earlyStopping?: EarlyStoppingOptions | null;
  /** steps between log records (default 10) */
  logEvery?: number;
  /** run folder for logs and checkpoints; without it nothing is written */
  outDir?: string | null;
  checkpoint?: CheckpointOptions;
  /** the resolved experiment config, saved in every checkpoint */
  config?: Record<string, unknown> | null;
  /** continue from a checkpoint: true = `<outDir>/checkpoints/last.safetensors` when it exists,
   *  or a path to a checkpoint file */
  resume?: boolean | string;
  callbacks?: TrainerCallbacks;
  /** catch SIGINT/SIGTERM: finish the current step, save `last`, and return (default false) */
  handleSignals?: boolean;
  /** write loss.svg/loss.png at the end (default true when outDir is set) */
  plot?: boolean;
}

/** What fit() returns. */
export interface FitResult {
  step: number;
  epoch: number;
  stopReason: 'maxSteps' | 'maxEpochs' | 'earlyStopping' | 'signal' | 'requested';
  /** the signal that stopped the run ('SIGINT' | 'SIGTERM'), when stopReason is 'signal' */
  signal: NodeJS.Signals | null;
  /** mean loss of the last logged window */
  lastLoss: number | null;
  /** metrics of the last evaluation (null without dev) */
  metrics: Record<string, number> | null;
  best: { metric: string; value: number; step: number } | null;
  skippedSteps: number;
  elapsedSeconds: number;
  checkpoints: { last: string | null; best: string[] };
  resumedFrom: CheckpointMeta | null;
}

/** Metrics where larger is better; any other monitored metric is minimised unless told. */
const MAXIMISE = /(^|_)(acc|accuracy|stoi|estoi|pesq|sisdr|si_sdr|sisdri|snr|segsnr|pnmi|f1|bleu)/i;

/** The default mode of a monitored metric: 'max' for accuracy-like names, else 'min'. */
export function defaultMode(metric: string): 'min' | 'max' {
  return MAXIMISE.test(metric.replace(/([a-z])([A-Z])/g, '$1_$2')) ? 'max' : 'min';
}
