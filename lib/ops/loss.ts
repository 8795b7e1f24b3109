/**
 * loss.ts — crossEntropy (fused log-softmax + NLL), nllLoss, mseLoss, l1Loss, smoothL1Loss,
 * cosineSimilarity, with PyTorch's semantics and reductions.
 *
 * Glossary: N batch, C classes, d... extra dims (e.g. time: logits (N, C, T), target (N, T));
 * M = N * prod(d) rows after moving the class dim last; w class weights (C); eps label smoothing.
 * crossEntropy and nllLoss run one native row kernel (native/ops/loss/cross_entropy.h) giving the
 * per-row loss and the per-row weight w[target] (0 where ignored); 'mean' is sum(loss) / sum(wrow)
 * as PyTorch (so all-ignored gives NaN), 'sum' the sum, 'none' the rows in target's shape. The
 * regression losses are compositions of elementwise ops (their gradients come from those ops).
 */
import { native } from '../native';
import { noGrad, record } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { describe, Tensor } from '../tensor/tensor';
import { abs, clamp, div, lt, mul, sqrt, square, sub, where } from './elementwise';
import { validating } from './indexing';
import { mean, sum } from './reduce';
import { contiguous, expand, permute, reshape } from './shape';
import { asOp, checkTensor, normDim, optionsArg, recycled, shapeStr, wrap } from './util';

/** How a loss combines its elements. */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, r: unknown): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`[${op}] reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  return r;
}

function reduce(x: Tensor, r: Reduction): Tensor {
  return r === 'none' ? x : r === 'sum' ? sum(x) : mean(x);
}

/** Options of crossEntropy / nllLoss. */
export interface CrossEntropyOptions {
  /** Target value that contributes neither loss nor gradient (default -100). */
  ignoreIndex?: number;
  /** Mix the one-hot target with the uniform distribution: (1 - eps) y + eps / C. Default 0. */
  labelSmoothing?: number;
  reduction?: Reduction;
  /** Class weights (C), float32, on the input's device. */
  weight?: Tensor | null;
}

/** The fused rows: input (N, C, d...) or (C) and target (N, d...) or () -> per-row loss in target's shape, and sum(wrow). */
function fused(op: string, input: Tensor, target: Tensor, opts: CrossEntropyOptions, logInput: boolean): { rows: Tensor; wsum: Tensor } {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  if (target.dtype !== 'int32') throw new Error(`[${op}] target must be int32 class indices, got ${target.dtype}`);
  if (input.ndim === 0) throw new Error(`[${op}] input must be (N, C), (N, C, d...) or (C), got a scalar`);
  const C = input.ndim === 1 ? input.shape[0] : input.shape[1];
  const want = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (target.shape.length !== want.length || target.shape.some((n, i) => n !== want[i])) {
    throw new Error(`[${op}] target must have shape ${shapeStr(want)} for input ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`);
  }
  const ignore = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignore)) throw new Error(`[${op}] ignoreIndex must be an integer, got ${String(ignore)}`);
  const eps = opts.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) throw new Error(`[${op}] labelSmoothing must be in [0, 1], got ${String(eps)}`);
  const weight = opts.weight ?? null;
  if (weight) checkTensor(op, 'weight', weight);
  // Class dim last: (N, C, d...) -> (N, d..., C) -> (M, C).
  const nd = input.ndim;
  const perm = nd <= 2 ? null : [0, ...Array.from({ length: nd - 2 }, (_, i) => i + 2), 1];
  const inv = perm ? perm.map((_, i) => perm.indexOf(i)) : null;
  const moved = perm ? perm.map((p) => input.shape[p]) : null;
  const inShape = input.shape;
  const M = target.size;
  const validate = validating();
  const [rows, lse, wrow, z2] = noGrad(() => tidy(() => {
    const z = reshape(contiguous(perm ? permute(input, perm) : input), [M, C]);
    const t = reshape(target, [M]);
    const [l, s, w] = native.crossEntropyFwd(op, z.handle(op), t.handle(op), weight ? weight.handle(op) : null, ignore, eps, logInput, validate);
    return [wrap(l), wrap(s), wrap(w), z];
  }));
  const saved = weight ? [z2, target, lse, weight] : [z2, target, lse];
  record(op, [input], [rows], saved, ([g], [z, t, l, w]) => {
    if (!g) return [null];
    const gi = wrap(native.crossEntropyBwd(op, z.handle(op), reshape(t, [M]).handle(op), w ? w.handle(op) : null, l.handle(op),
      contiguous(g).handle(op), ignore, eps, logInput, recycled()));
    if (!perm) return [reshape(gi, inShape)];
    return [permute(reshape(gi, moved!), inv!)];
  });
  if (z2 !== input) z2.dispose(); // the graph holds its own alias
  lse.dispose();
  const out = reshape(rows, target.shape);
  const wsum = noGrad(() => sum(wrow));
  wrow.dispose();
  return { rows: out, wsum };
}

/**
 * Cross-entropy of logits against int32 class targets, as F.cross_entropy: input (N, C) or
 * (N, C, d...) or (C); target (N) or (N, d...) or (). Fused log-softmax + NLL (one native pass).
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  opts = optionsArg('crossEntropy', opts);
  const r = checkReduction('crossEntropy', opts.reduction ?? 'mean');
  return tidy(() => {
    const { rows, wsum } = fused('crossEntropy', input, target, opts, false);
    return r === 'mean' ? div(sum(rows), wsum) : reduce(rows, r);
  });
}

/** Negative log-likelihood of log-probabilities (as F.nll_loss); shapes as crossEntropy. */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  opts = optionsArg('nllLoss', opts);
  const r = checkReduction('nllLoss', opts.reduction ?? 'mean');
  return tidy(() => {
    const { rows, wsum } = fused('nllLoss', logProbs, target, { ...opts, labelSmoothing: 0 }, true);
    return r === 'mean' ? div(sum(rows), wsum) : reduce(rows, r);
  });
}

function pair(op: string, a: Tensor, b: Tensor): void {
  checkTensor(op, 'input', a);
  checkTensor(op, 'target', b);
}

/** Mean squared error (a - b)^2 (broadcasting), reduced. */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  pair('mseLoss', input, target);
  const r = checkReduction('mseLoss', optionsArg('mseLoss', opts).reduction ?? 'mean');
  return asOp('mseLoss', () => tidy(() => reduce(square(sub(input, target)), r)));
}

/** Mean absolute error |a - b| (broadcasting), reduced. */
export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  pair('l1Loss', input, target);
  const r = checkReduction('l1Loss', optionsArg('l1Loss', opts).reduction ?? 'mean');
  return asOp('l1Loss', () => tidy(() => reduce(abs(sub(input, target)), r)));
}

/** Huber-style loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 is l1Loss), as F.smooth_l1_loss. */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: { beta?: number; reduction?: Reduction } = {}): Tensor {
  pair('smoothL1Loss', input, target);
  opts = optionsArg('smoothL1Loss', opts);
  const r = checkReduction('smoothL1Loss', opts.reduction ?? 'mean');
  const beta = opts.beta ?? 1;
  if (typeof beta !== 'number' || !(beta >= 0)) throw new Error(`[smoothL1Loss] beta must be >= 0, got ${String(beta)}`);
  return asOp('smoothL1Loss', () => tidy(() => {
    const d = sub(input, target);
    const ad = abs(d);
    if (beta === 0) return reduce(ad, r);
    return reduce(where(lt(ad, beta), mul(square(d), 0.5 / beta), sub(ad, 0.5 * beta)), r);
  }));
}

/**
 * Cosine similarity along `dim` (default 1), as F.cosine_similarity:
 * sum(a / max(|a|, eps) * b / max(|b|, eps)); a and b broadcast. The norms are clamped on their
 * squares (eps^2) so a zero vector has a finite (zero) gradient.
 */
export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor {
  const op = 'cosineSimilarity';
  checkTensor(op, 'a', a);
  checkTensor(op, 'b', b);
  const n = Math.max(a.ndim, b.ndim);
  const shape: number[] = [];
  for (let i = 0; i < n; ++i) {
    const da = a.shape[a.ndim - n + i] ?? 1;
    const db = b.shape[b.ndim - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`[${op}] a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)} cannot be broadcast`);
    shape.push(da === 1 ? db : da);
  }
  const d = normDim(op, dim, n);
  if (typeof eps !== 'number' || !(eps >= 0)) throw new Error(`[${op}] eps must be a number >= 0, got ${describe(eps)}`);
  for (const [k, t] of [['a', a], ['b', b]] as const) {
    if (t.dtype === 'int32') throw new Error(`[${op}] ${k} must be float32 or bfloat16, got int32`);
  }
  return asOp(op, () => tidy(() => {
    const ae = expand(a, shape);
    const be = expand(b, shape);
    const na = sqrt(clamp(sum(square(ae), d, true), eps * eps));
    const nb = sqrt(clamp(sum(square(be), d, true), eps * eps));
    return sum(mul(div(ae, na), div(be, nb)), d);
  }));
}
