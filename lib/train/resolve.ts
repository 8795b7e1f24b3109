/**
 * resolve.ts — checks TrainerOptions and fills in the defaults, so the loop reads plain values.
 * Every problem is an Error `[Trainer] <option> ...` saying what was expected and what came.
 */
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import type { BaseHyper } from '../optim/optimizer';
import { LRScheduler } from '../optim/schedule';
import type { BatchSource, TaskModel } from '../models/task';
import { Tensor } from '../tensor/tensor';
import { defaultMode, TrainerCallbacks, TrainerOptions } from './options';

/** TrainerOptions with every default filled in. */
export interface Resolved<B> {
  model: TaskModel<B>;
  optimizer: Optimizer<BaseHyper>;
  params: Tensor[];
  train: BatchSource<B>;
  dev: BatchSource<B> | null;
  maxSteps: number;
  maxEpochs: number;
  accumulate: number;
  clipGradNorm: number | null;
  autocast: 'auto' | 'bfloat16' | 'none';
  maxNonFiniteSteps: number;
  evalEvery: number | 'epoch';
  evalAtEnd: boolean;
  monitor: string | null;
  monitorMode: 'min' | 'max';
  earlyStopping: { patience: number } | null;
  minDelta: number;
  logEvery: number;
  outDir: string | null;
  checkpoint: { every: number | null; keepBest: number };
  config: Record<string, unknown> | null;
  resume: boolean | string;
  callbacks: TrainerCallbacks;
  handleSignals: boolean;
  plot: boolean;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : typeof v;
}

function int(name: string, v: unknown, min: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(Number.isInteger(v) || v === Infinity) || v < min) {
    throw new Error(`[Trainer] ${name} must be an integer >= ${min}, got ${show(v)}`);
  }
  return v;
}

function isSource(s: unknown): boolean {
  return !!s && typeof s === 'object' && typeof (s as BatchSource<unknown>).epoch === 'function';
}

/** Checks `o` and fills in the defaults (see TrainerOptions for each). */
export function resolveOptions<B>(o: TrainerOptions<B>): Resolved<B> {
  if (!o || typeof o !== 'object') throw new Error(`[Trainer] options must be an object, got ${show(o)}`);
  const model = o.model;
  if (!(model instanceof Module) || typeof model.loss !== 'function' || typeof model.evaluate !== 'function') {
    throw new Error(`[Trainer] model must be a Module with loss(batch) and evaluate(batches) (a TaskModel), got ${show(model)}`);
  }
  if (!(o.optimizer instanceof Optimizer)) throw new Error(`[Trainer] optimizer must be an optim optimizer (SGD, Adam, AdamW), got ${show(o.optimizer)}`);
  const s = o.schedule;
  if (s !== undefined && s !== null && typeof s !== 'function' && !(s instanceof LRScheduler)) {
    throw new Error(`[Trainer] schedule must be a Schedule function or an LRScheduler, got ${show(s)}`);
  }
  if (s instanceof LRScheduler && s.optimizer !== o.optimizer) throw new Error('[Trainer] schedule is an LRScheduler of another optimizer');
  if (!isSource(o.train)) throw new Error(`[Trainer] train must be a BatchSource { epoch(e), size?(e) }, got ${show(o.train)}`);
  const dev = o.dev ?? null;
  if (dev !== null && !isSource(dev)) throw new Error(`[Trainer] dev must be a BatchSource { epoch(e) } or null, got ${show(dev)}`);
  const maxSteps = int('maxSteps', o.maxSteps, 1, Infinity);
  const maxEpochs = int('maxEpochs', o.maxEpochs, 1, Infinity);
  if (maxSteps === Infinity && maxEpochs === Infinity) throw new Error('[Trainer] give maxSteps or maxEpochs (or both): training needs an end');
  const clip = o.clipGradNorm ?? null;
  if (clip !== null && (typeof clip !== 'number' || !(clip > 0))) throw new Error(`[Trainer] clipGradNorm must be a number > 0 or null, got ${show(clip)}`);
  const ac = o.autocast ?? 'auto';
  if (ac !== 'auto' && ac !== 'bfloat16' && ac !== 'none') throw new Error(`[Trainer] autocast must be 'auto', 'bfloat16' or 'none', got ${show(ac)}`);
  const evalEvery = o.evalEvery ?? 'epoch';
  if (evalEvery !== 'epoch') int('evalEvery', evalEvery, 1, 1);
  const monitor = o.monitor ?? null;
  if (monitor !== null && (typeof monitor !== 'string' || monitor === '')) throw new Error(`[Trainer] monitor must be a metric name, got ${show(monitor)}`);
  const mode = o.monitorMode ?? (monitor ? defaultMode(monitor) : 'min');
  if (mode !== 'min' && mode !== 'max') throw new Error(`[Trainer] monitorMode must be 'min' or 'max', got ${show(mode)}`);
  const es = o.earlyStopping ?? null;
  let minDelta = 0;
  if (es !== null) {
    if (typeof es !== 'object') throw new Error(`[Trainer] earlyStopping must be { patience, minDelta? } or null, got ${show(es)}`);
    int('earlyStopping.patience', es.patience, 1, 1);
    minDelta = es.minDelta ?? 0;
    if (typeof minDelta !== 'number' || !(minDelta >= 0)) throw new Error(`[Trainer] earlyStopping.minDelta must be a number >= 0, got ${show(es.minDelta)}`);
    if (monitor === null) throw new Error('[Trainer] earlyStopping needs monitor (the eval metric to watch)');
    if (dev === null) throw new Error('[Trainer] earlyStopping needs dev data to evaluate on');
  }
  const ck = o.checkpoint ?? {};
  const every = ck.every === undefined ? null : int('checkpoint.every', ck.every, 0, 0);
  const keepBest = int('checkpoint.keepBest', ck.keepBest, 0, 1);
  const outDir = o.outDir ?? null;
  if (outDir !== null && (typeof outDir !== 'string' || outDir === '')) throw new Error(`[Trainer] outDir must be a folder path, got ${show(outDir)}`);
  const resume = o.resume ?? false;
  if (typeof resume !== 'boolean' && typeof resume !== 'string') throw new Error(`[Trainer] resume must be true/false or a checkpoint path, got ${show(resume)}`);
  if (resume === true && outDir === null) throw new Error('[Trainer] resume: true needs outDir (where checkpoints/last.safetensors is)');
  const cbs = o.callbacks ?? {};
  for (const k of Object.keys(cbs)) {
    if (!['onStart', 'onStep', 'onLog', 'onEval', 'onCheckpoint'].includes(k)) throw new Error(`[Trainer] unknown callback '${k}'; expected onStart, onStep, onLog, onEval or onCheckpoint`);
    if (typeof (cbs as Record<string, unknown>)[k] !== 'function') throw new Error(`[Trainer] callbacks.${k} must be a function`);
  }
  const params = o.optimizer.paramGroups.flatMap((g) => g.params);
  return {
    model, optimizer: o.optimizer, params, train: o.train, dev,
    maxSteps, maxEpochs,
    accumulate: int('accumulate', o.accumulate, 1, 1),
    clipGradNorm: clip,
    autocast: ac,
    maxNonFiniteSteps: int('maxNonFiniteSteps', o.maxNonFiniteSteps, 1, 10),
    evalEvery,
    evalAtEnd: o.evalAtEnd ?? true,
    monitor,
    monitorMode: mode,
    earlyStopping: es === null ? null : { patience: es.patience },
    minDelta,
    logEvery: int('logEvery', o.logEvery, 1, 10),
    outDir,
    checkpoint: { every, keepBest: monitor === null ? 0 : keepBest },
    config: o.config ?? null,
    resume,
    callbacks: cbs,
    handleSignals: o.handleSignals ?? false,
    plot: o.plot ?? true,
  };
}
