/**
 * options.ts — the options of analysis.layerwiseMi, their defaults (the corrected protocol), the
 * checks that turn a bad call into an `[analysis.layerwiseMi] ...` error, and the protocol text
 * the report prints.
 *
 * Defaults and why (measured on the 2-core CPU, see README "Layer-wise MI"):
 *   maxFrames 20000, perUtterance 64   frames from many utterances, not a few long ones
 *   pca 16   X and every T_l are reduced to their top 16 principal components. The estimators were
 *            validated up to d = 20; at d = 128 SMILE read 0.14 for 2 nats (issue #18). With the
 *            defaults (PCA 16, σ = 1, 3 seeds) the matched calibration at dX = dT = 768, N = 20000
 *            read 0.433 / 0.928 / 1.849 / 4.084 for exact reduced values 0.495 / 0.993 / 1.971 /
 *            3.967 nats (−12.6 / −6.5 / −6.2 / +3.0%; test/analysis/calibration.test.ts with
 *            MAMBA_SPEECH_MI_CALIBRATION=1, 23 min on the shared 2-core CPU). Rule: k = min(16, d);
 *            a larger k keeps more of each layer but costs accuracy — the matched calibration
 *            beside every result says how much.
 *   noise 1  I(X; T̃_l) with T̃ = z(PCA(T)) + σZ, σ = 1 per standardised component: finite for
 *            deterministic layers (I(X; T) itself is infinite for continuous X), at most
 *            k/2 · ln(1 + 1/σ²) = 5.55 nats for k = 16 — inside the estimator's validated range.
 *   estimator SMILE τ = 5, concat critic [100, 100], shuffled negatives, batch 256, Adam 2e-4,
 *            3000 steps, 20% held out, early stop (patience 5 evaluations), mean of the last 3
 *            held-out evaluations; 3 seeds with 95% t-intervals.
 */
import type { EstimateOptions } from '../mi';
import { describe } from '../tensor/tensor';
import { Device, isDevice } from '../tensor/types';
import type { XFn } from './frames';
import type { AlignmentSource, LabelFn } from './labels';
import type { ProbeOptions } from './probe';

export interface PaperOptions {
  /** Utterances to use at most (the reference script: 25 per saved batch file). Default 100. */
  maxUtterances?: number;
  /**
   * Utterances with fewer than 128 frames (the paper's batch size): 'skip' (default) leaves them
   * out and counts them in the result; 'reference' does what the reference code does: trains the
   * shared critic zero steps on them and still reports the DV value of the untrained critic.
   */
  short?: 'skip' | 'reference';
  /** Seed of the shared statistics network. Default 0. */
  seed?: number;
}

export interface LayerwiseMiOptions<B = unknown> {
  /** X: 'hs0' (encoder input, the paper's choice), 'features' (model input at the layer frame rate) or a function. Default 'hs0'. */
  x?: 'hs0' | 'features' | XFn<B>;
  /** Y: frame labels for I(T; Y) — 'phones', 'kmeans', 'ctc', a function, or null (no I(T; Y)). Default null. */
  y?: 'phones' | 'kmeans' | 'ctc' | LabelFn<B> | null;
  /** y = 'phones': manifest entries, a Map id -> Alignment, or a function. */
  alignments?: AlignmentSource;
  /** Seconds between the model's input frames (default 0.01). */
  frameShift?: number;
  /** y = 'phones': a fixed phone list (class i = phoneSet[i]); default the phones seen, sorted. */
  phoneSet?: string[];
  /** y = 'kmeans': clusters of X's sampled frames (default k 50, seed 0). */
  kmeans?: { k?: number; seed?: number };
  /** y = 'ctc': blank index (default 0) and 'fill' (default) or 'path' labels. */
  ctc?: { blank?: number; mode?: 'fill' | 'path' };
  /** x = 'features': 'stack' (default) or 'mean' the input frames of one layer frame. */
  featureStack?: 'stack' | 'mean';
  /** Hidden-state indices to analyse (default all: 0 .. L). */
  layers?: number[];
  /** Names of the analysed layers (default 'hs0 (input)', 'layer 1', ...). */
  names?: string[];
  maxFrames?: number;
  perUtterance?: number;
  /** Seed of the frame sample, splits, noise and the first estimator seed. Default 0. */
  seed?: number;
  /** PCA components for X and T (false: none). Default 16 (k = min(16, d)). */
  pca?: number | false;
  /** σ of the noisy channel T + σZ relative to each standardised component; 0 = I(X; T) itself. Default 1. */
  noise?: number;
  /** Estimator options (merged over the defaults above; `seeds` and `device` come from here). */
  estimator?: EstimateOptions;
  /** Independent estimates (critic inits, splits, batches). Default 3. */
  seeds?: number;
  /** The probe for I(T; Y) = H(Y) − CE (false: none). Default linear. */
  probe?: ProbeOptions | false;
  /** Also estimate I(T; Y) with the mi critics (default true). */
  ityCritic?: boolean;
  /** Matched calibration (default true): levels near the measured values, or fixed `levels`. */
  calibrate?: boolean | { levels?: number[] };
  /** The paper's protocol instead of the corrected one (see paper.ts). */
  paper?: boolean | PaperOptions;
  device?: Device;
  /** Progress messages ('collect', 'estimate', ...). */
  onProgress?: (stage: string, detail: string) => void;
}

export const DEFAULT_ESTIMATOR: EstimateOptions = {
  estimator: 'smile', tau: 5, critic: 'concat', hidden: [100, 100], batchSize: 256, lr: 2e-4, steps: 3000,
  heldOut: 0.2, earlyStop: { patience: 5, minDelta: 0.01 }, smoothing: 3,
};

export interface Resolved<B = unknown> {
  x: 'hs0' | 'features' | XFn<B>;
  y: 'phones' | 'kmeans' | 'ctc' | LabelFn<B> | null;
  alignments: AlignmentSource | null;
  frameShift: number;
  phoneSet: string[] | null;
  kmeans: { k: number; seed: number };
  ctc: { blank: number; mode: 'fill' | 'path' };
  featureStack: 'stack' | 'mean';
  layers: number[] | null;
  names: string[] | null;
  maxFrames: number;
  perUtterance: number;
  seed: number;
  pca: number | null;
  noise: number;
  estimator: EstimateOptions;
  /** Whether the batch size is the default (then shrunk to fit few frames) or the user's. */
  batchAuto: boolean;
  seeds: number;
  probe: ProbeOptions | null;
  ityCritic: boolean;
  calibrate: { levels: number[] | null } | null;
  paper: Required<PaperOptions> | null;
  device: Device | undefined;
  onProgress: (stage: string, detail: string) => void;
}

const KNOWN = new Set(['x', 'y', 'alignments', 'frameShift', 'phoneSet', 'kmeans', 'ctc', 'featureStack', 'layers', 'names', 'maxFrames',
  'perUtterance', 'seed', 'pca', 'noise', 'estimator', 'seeds', 'probe', 'ityCritic', 'calibrate', 'paper', 'device', 'onProgress']);

function fail(op: string, msg: string): never {
  throw new Error(`[${op}] ${msg}`);
}

function int(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(op, `${name} must be an integer >= ${min}, got ${describe(v)}`);
  return v;
}

/** Checks and fills in the options (see LayerwiseMiOptions). */
export function resolveOptions<B>(op: string, o: LayerwiseMiOptions<B> | undefined): Resolved<B> {
  o = o ?? {};
  if (typeof o !== 'object') fail(op, `options must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) fail(op, `unknown option '${k}'`);
  const x = o.x ?? 'hs0';
  if (x !== 'hs0' && x !== 'features' && typeof x !== 'function') fail(op, `x must be 'hs0', 'features' or a function (batch, hs) -> (B, T', dx), got ${describe(x)}`);
  const y = o.y ?? null;
  if (y !== null && y !== 'phones' && y !== 'kmeans' && y !== 'ctc' && typeof y !== 'function') fail(op, `y must be 'phones', 'kmeans', 'ctc', a function or null, got ${describe(y)}`);
  if (y === 'phones' && !o.alignments) fail(op, "y = 'phones' needs `alignments` (manifest entries, a Map id -> alignment, or a function)");
  const frameShift = o.frameShift ?? 0.01;
  if (typeof frameShift !== 'number' || !(frameShift > 0)) fail(op, `frameShift must be seconds > 0, got ${describe(frameShift)}`);
  const pca = o.pca === false ? null : int(op, 'pca', o.pca ?? 16, 1);
  const noise = o.noise ?? 1;
  if (typeof noise !== 'number' || !(noise >= 0) || !Number.isFinite(noise)) fail(op, `noise must be a number >= 0 (σ relative to each component's std), got ${describe(noise)}`);
  const seeds = int(op, 'seeds', o.seeds ?? 3, 1);
  const est = o.estimator ?? {};
  if (typeof est !== 'object' || est === null) fail(op, `estimator must be mi.estimate options, got ${describe(est)}`);
  for (const k of ['seeds', 'device', 'paper'] as const) if (k in est) fail(op, `estimator.${k} is set by the analysis (use the top-level '${k === 'paper' ? 'paper' : k}' option)`);
  const estimator: EstimateOptions = { ...DEFAULT_ESTIMATOR, ...est, seeds, seed: o.seed ?? 0 };
  if (est.estimator && est.estimator !== 'smile' && est.tau === undefined) delete estimator.tau;
  const layers = o.layers ?? null;
  if (layers !== null && (!Array.isArray(layers) || layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0))) fail(op, `layers must be a non-empty array of hidden-state indices, got ${describe(layers)}`);
  const names = o.names ?? null;
  if (names !== null && (!Array.isArray(names) || names.some((s) => typeof s !== 'string'))) fail(op, `names must be an array of strings, got ${describe(names)}`);
  const device = o.device;
  if (device !== undefined && !isDevice(device)) fail(op, `device must be 'cpu' or 'cuda', got ${describe(device)}`);
  const cal = o.calibrate ?? true;
  const calibrate = cal === false ? null : { levels: cal === true ? null : cal.levels ?? null };
  if (calibrate?.levels && calibrate.levels.some((v) => !(v > 0))) fail(op, `calibrate.levels must be nats > 0, got ${describe(calibrate.levels)}`);
  const p = o.paper;
  const paper = p ? { maxUtterances: int(op, 'paper.maxUtterances', (p === true ? undefined : p.maxUtterances) ?? 100, 1), short: (p === true ? undefined : p.short) ?? 'skip', seed: (p === true ? undefined : p.seed) ?? 0 } : null;
  if (paper && paper.short !== 'skip' && paper.short !== 'reference') fail(op, `paper.short must be 'skip' or 'reference', got ${describe(paper.short)}`);
  const mode = o.ctc?.mode ?? 'fill';
  if (mode !== 'fill' && mode !== 'path') fail(op, `ctc.mode must be 'fill' or 'path', got ${describe(mode)}`);
  const featureStack = o.featureStack ?? 'stack';
  if (featureStack !== 'stack' && featureStack !== 'mean') fail(op, `featureStack must be 'stack' or 'mean', got ${describe(featureStack)}`);
  return {
    x, y,
    alignments: o.alignments ?? null,
    frameShift,
    phoneSet: o.phoneSet ?? null,
    kmeans: { k: int(op, 'kmeans.k', o.kmeans?.k ?? 50, 2), seed: o.kmeans?.seed ?? 0 },
    ctc: { blank: int(op, 'ctc.blank', o.ctc?.blank ?? 0, 0), mode },
    featureStack,
    layers, names,
    maxFrames: int(op, 'maxFrames', o.maxFrames ?? 20000, 2),
    perUtterance: int(op, 'perUtterance', o.perUtterance ?? 64, 1),
    seed: int(op, 'seed', o.seed ?? 0, 0),
    pca, noise, estimator, seeds,
    batchAuto: est.batchSize === undefined,
    probe: o.probe === false ? null : { ...(o.probe ?? {}) },
    ityCritic: o.ityCritic ?? true,
    calibrate,
    paper,
    device,
    onProgress: o.onProgress ?? (() => undefined),
  };
}

/** The protocol in words, for the report. */
export function describeProtocol<B>(r: Resolved<B>, n: number): string[] {
  const e = r.estimator;
  if (r.paper) {
    return [
      'Paper protocol (Tonyyouyou/Mutual-Information-Analysis): X = hs0, per utterance, every frame of the padded batch (padding included).',
      'DV bound, concat critic 2C-100-100-1 (ReLU) shared by every layer and utterance and trained on from one to the next; Adam 1e-4, batch 128, 100 epochs, no standardisation.',
      'Reported value: DV on the frames it trained on (no held-out data), averaged over utterances.',
      `Utterances shorter than 128 frames: ${r.paper.short === 'skip' ? 'skipped and counted' : 'evaluated with zero training steps, as the reference code does'}.`,
    ];
  }
  const lines = [
    `Frames: up to ${r.maxFrames} valid frames (padding excluded), at most ${r.perUtterance} per utterance, one seeded sample (seed ${r.seed}) shared by X, Y and every layer; N = ${n}.`,
    `Reduction: ${r.pca === null ? 'none' : `PCA to k = min(${r.pca}, d) components for X and each T_l`}, each component standardised.`,
    r.noise > 0
      ? `Quantity: I(X; T_l + σZ) with σ = ${r.noise} per standardised component (the noisy channel: finite, at most k/2·ln(1 + 1/σ²)).`
      : 'Quantity: I(X; T_l) itself (σ = 0): for deterministic layers on continuous input it is infinite in theory; values are estimator-limited.',
    `Estimator: ${e.estimator}${e.estimator === 'smile' ? ` τ = ${e.tau ?? 5}` : ''}, ${typeof e.critic === 'string' ? e.critic : 'custom'} critic ${JSON.stringify(e.hidden ?? [100, 100])}, batch ${e.batchSize}, Adam ${e.lr}, ${e.epochs ? `${e.epochs} epochs` : `${e.steps} steps`}, ${Math.round((e.heldOut ?? 0.2) * 100)}% held out${e.earlyStop ? `, early stop (patience ${e.earlyStop.patience})` : ''}; ${r.seeds} seeds (${r.seed} .. ${r.seed + r.seeds - 1}), 95% t-intervals over seeds.`,
  ];
  if (r.y !== null) {
    lines.push(`I(T_l; Y): ${r.probe ? `H(Y) − CE of a ${r.probe.hidden?.length ? `MLP ${JSON.stringify(r.probe.hidden)}` : 'linear'} probe on the full T_l, on held-out utterances (Barber–Agakov lower bound)` : ''}${r.probe && r.ityCritic ? ' and ' : ''}${r.ityCritic ? 'the same MI estimator on (PCA(T_l), one-hot Y), no noise' : ''}.`);
  }
  return lines;
}
