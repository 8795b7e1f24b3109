/**
 * options.ts — the options of mi.estimate / mi.estimateMany, their defaults, the paper-compatible
 * preset, and the checks that turn a bad call into a `[mi.estimate] ...` error.
 *
 * Glossary (as in the rest of lib/mi):
 *   N        pairs (rows) of one (x, y) input      dx, dy   feature dims (dy = K classes for labels)
 *   B        batch size                             P        critics trained together (pairs x seeds)
 *   T(x, y)  critic score                          H        hidden width of the concat critic
 */
import type { Module } from '../nn/module';
import { describe } from '../tensor/tensor';
import { Device, isDevice } from '../tensor/types';

export type Estimator = 'dv' | 'mine' | 'nwj' | 'infonce' | 'smile';
export type Negatives = 'shuffle' | 'all-pairs';

/** Early stopping on the held-out curve (after smoothing). */
export interface EarlyStop {
  /** Held-out evaluations without an improvement of more than `minDelta` before a run stops. */
  patience: number;
  /** Nats. Default 0.01. */
  minDelta?: number;
}

export interface EstimateOptions {
  /** Bound to maximise and report. 'mine' = DV value, EMA-corrected gradient. Default 'mine'. */
  estimator?: Estimator;
  /** 'concat' (MLP on [x; y]), 'separable' (g(x)ᵀh(y)) or a Module with forward(x (B, dx), y (B, dy)) -> (B) or (B, 1). */
  critic?: 'concat' | 'separable' | Module;
  /** Hidden widths of the concat MLP, or of g and h for 'separable'. Default [100, 100] (the paper's code). */
  hidden?: number[];
  /** Output width of g and h for 'separable'. Default 32. */
  embedDim?: number;
  batchSize?: number;
  /** Optimizer steps; default 2000 unless `epochs` is given. */
  steps?: number;
  /** Passes over the training pairs (remainder batch dropped); overrides `steps`. */
  epochs?: number;
  /**
   * Adam learning rate. Default 1e-4 (the paper's). dv, mine and nwj weight each negative's
   * gradient by e^T: at 1e-3 they stall ~15% low at 4 nats; 2e-4 for ~8000 steps of batch 256
   * gets within 10% at d = 20 (test/mi/sweep.test.ts).
   */
  lr?: number;
  /** EMA factor of the MINE denominator. Default 0.01 (the paper's code). */
  emaAlpha?: number;
  /** SMILE clip. Default 5. */
  tau?: number;
  /** Fraction of the pairs held out for the reported estimate. Default 0.2. */
  heldOut?: number;
  /** Steps between held-out evaluations. Default steps / 20. */
  evalEvery?: number;
  earlyStop?: EarlyStop | false;
  /** The report is the mean of the last `smoothing` held-out evaluations. Default 1. */
  smoothing?: number;
  /** Independent runs (init, split, batches); with > 1 the report is their mean and a 95% interval. Default 1. */
  seeds?: number;
  /** Base seed: run i uses seed + i. Default 0. */
  seed?: number;
  /** Per-feature z-score of x and (float) y before training. Default true. */
  standardize?: boolean;
  device?: Device;
  /**
   * Marginal samples: y shuffled within the batch, as a derangement (no x keeps its own y: one
   * joint pair per batch among 256 negatives cost MINE 0.6 nats at 4 nats, d = 20; paper mode
   * keeps the reference's plain permutation), or all B² pairs (the B(B-1) off-diagonal ones).
   * Default 'shuffle' ('all-pairs' for infonce).
   */
  negatives?: Negatives;
  /** The reference protocol of Tonyyouyou/Mutual-Information-Analysis (see PAPER below). */
  paper?: boolean;
}

/** Everything resolved; `epochs` null when training by steps. */
export interface Resolved {
  estimator: Estimator;
  critic: 'concat' | 'separable' | Module;
  hidden: number[];
  embedDim: number;
  batchSize: number;
  steps: number | null;
  epochs: number | null;
  lr: number;
  emaAlpha: number;
  tau: number;
  heldOut: number;
  evalEvery: number | null;
  earlyStop: { patience: number; minDelta: number } | null;
  smoothing: number;
  seeds: number;
  seed: number;
  standardize: boolean;
  device: Device | undefined;
  negatives: Negatives;
  paper: boolean;
}

/**
 * The paper's protocol (analysis/MI_Calculator.py + mine/mine.py): per utterance, 100 epochs over
 * the frame pairs in shuffled batches of 128 with the remainder dropped, Adam 1e-4 (torch
 * defaults otherwise), DV loss with the plain (biased) gradient ('mine_biased'), marginals by
 * shuffling y within each batch, no standardisation, and the reported value is DV on all frames
 * with a fresh permutation — the frames it trained on.
 */
export const PAPER = {
  estimator: 'dv', batchSize: 128, epochs: 100, lr: 1e-4, heldOut: 0, standardize: false, negatives: 'shuffle',
} as const;

const ESTIMATORS: readonly Estimator[] = ['dv', 'mine', 'nwj', 'infonce', 'smile'];

/** Throws `[op] ...`. */
export function fail(op: string, msg: string): never {
  throw new Error(`[${op}] ${msg}`);
}

function int(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(op, `${name} must be an integer >= ${min}, got ${describe(v)}`);
  return v;
}

function num(op: string, name: string, v: unknown, lo: number, hi: number, open = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (open && (v === lo || v === hi))) {
    fail(op, `${name} must be a number in ${open ? '(' : '['}${lo}, ${hi}${open ? ')' : ']'}, got ${describe(v)}`);
  }
  return v;
}

const KNOWN = new Set(['estimator', 'critic', 'hidden', 'embedDim', 'batchSize', 'steps', 'epochs', 'lr', 'emaAlpha', 'tau',
  'heldOut', 'evalEvery', 'earlyStop', 'smoothing', 'seeds', 'seed', 'standardize', 'device', 'negatives', 'paper']);

/** Checks and fills in the options; `isModule` tells a Module critic apart without importing nn. */
export function resolveOptions(op: string, o: EstimateOptions | undefined, isModule: (c: unknown) => boolean): Resolved {
  if (o === undefined) o = {};
  if (o === null || typeof o !== 'object') fail(op, `options must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) fail(op, `unknown option '${k}'`);
  const paper = o.paper === true;
  if (paper) {
    for (const [k, v] of Object.entries(PAPER)) {
      const given = (o as Record<string, unknown>)[k];
      if (given !== undefined && given !== v) fail(op, `paper mode fixes ${k} = ${JSON.stringify(v)}; got ${JSON.stringify(given)}`);
    }
    for (const k of ['steps', 'evalEvery', 'earlyStop', 'smoothing'] as const) {
      if (o[k] !== undefined && o[k] !== false) fail(op, `paper mode trains ${PAPER.epochs} epochs and evaluates once; '${k}' is not allowed`);
    }
  }
  const estimator = (paper ? PAPER.estimator : o.estimator ?? 'mine') as Estimator;
  if (!ESTIMATORS.includes(estimator)) fail(op, `estimator must be one of ${ESTIMATORS.join(', ')}, got ${describe(estimator)}`);
  const critic = o.critic ?? 'concat';
  if (critic !== 'concat' && critic !== 'separable' && !isModule(critic)) {
    fail(op, `critic must be 'concat', 'separable' or a Module, got ${describe(critic)}`);
  }
  if (paper && critic === 'separable') fail(op, "paper mode uses the concat critic (or a Module); got 'separable'");
  const hidden = o.hidden ?? [100, 100];
  if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1)) fail(op, `hidden must be an array of integers >= 1, got ${describe(hidden)}`);
  if (critic === 'separable' && hidden.length === 0) fail(op, 'the separable critic needs at least one hidden layer');
  const batchSize = int(op, 'batchSize', paper ? PAPER.batchSize : o.batchSize ?? 128, 2);
  const epochs = paper ? PAPER.epochs : o.epochs === undefined ? null : int(op, 'epochs', o.epochs, 1);
  const steps = epochs !== null ? null : int(op, 'steps', o.steps ?? 2000, 1);
  const negatives = (paper ? PAPER.negatives : o.negatives ?? (estimator === 'infonce' ? 'all-pairs' : 'shuffle')) as Negatives;
  if (negatives !== 'shuffle' && negatives !== 'all-pairs') fail(op, `negatives must be 'shuffle' or 'all-pairs', got ${describe(negatives)}`);
  if (estimator === 'infonce' && negatives !== 'all-pairs') fail(op, "infonce scores every y of the batch against each x; use negatives: 'all-pairs'");
  const es = o.earlyStop;
  let earlyStop: Resolved['earlyStop'] = null;
  if (es !== undefined && es !== false) {
    if (es === null || typeof es !== 'object') fail(op, `earlyStop must be { patience, minDelta? } or false, got ${describe(es)}`);
    earlyStop = { patience: int(op, 'earlyStop.patience', es.patience, 1), minDelta: num(op, 'earlyStop.minDelta', es.minDelta ?? 0.01, 0, Infinity) };
  }
  const seeds = int(op, 'seeds', o.seeds ?? 1, 1);
  if (seeds > 1 && isModule(critic)) fail(op, 'seeds > 1 needs a critic built per seed; a Module critic is one network (use seeds: 1)');
  const device = o.device;
  if (device !== undefined && !isDevice(device)) fail(op, `device must be 'cpu' or 'cuda', got ${describe(device)}`);
  return {
    estimator,
    critic,
    hidden: [...hidden],
    embedDim: int(op, 'embedDim', o.embedDim ?? 32, 1),
    batchSize,
    steps,
    epochs,
    lr: num(op, 'lr', paper ? PAPER.lr : o.lr ?? 1e-4, 0, Infinity, true),
    emaAlpha: num(op, 'emaAlpha', o.emaAlpha ?? 0.01, 0, 1),
    tau: num(op, 'tau', o.tau ?? 5, 0, Infinity, true),
    heldOut: paper ? PAPER.heldOut : num(op, 'heldOut', o.heldOut ?? 0.2, 0, 1, true),
    evalEvery: o.evalEvery === undefined ? null : int(op, 'evalEvery', o.evalEvery, 1),
    earlyStop,
    smoothing: int(op, 'smoothing', o.smoothing ?? 1, 1),
    seeds,
    seed: int(op, 'seed', o.seed ?? 0, 0),
    standardize: paper ? PAPER.standardize : o.standardize ?? true,
    device,
    negatives,
    paper,
  };
}
