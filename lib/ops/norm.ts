/**
 * norm.ts — layerNorm, rmsNorm, groupNorm and batchNorm as fused native ops with their gradients
 * (PyTorch semantics). The forward saves float32 statistics (mean, rstd) for the backward.
 *
 * Glossary: every norm sees x as (N, C, S) (native/ops/norm/norm.h):
 *   layerNorm  x (..., *normalizedShape): N = leading elements, C = prod(normalizedShape), S = 1
 *   rmsNorm    as layerNorm, y = x / sqrt(mean(x^2) + eps) * weight
 *   groupNorm  x (N, C, *spatial): statistics over (C / numGroups, *spatial) per (n, group)
 *   batchNorm  x (N, C, *spatial): statistics per channel over (N, *spatial)
 *   y = (x - mean) * rstd * weight + bias,  rstd = 1 / sqrt(var + eps), var biased      (x's shape)
 * dtypes: float32, or bfloat16 x (statistics and arithmetic in float32); weight/bias float32 or
 * x's dtype; their grads come back in their own dtype.
 */
import { native, NativeHandle, NativeNormOptions } from '../native';
import { needsGrad, record } from '../autograd/tape';
import { describe, Tensor } from '../tensor/tensor';
import { checkTensor, prod, sameShape, shapeStr, wrap } from './util';

const enum Kind { Layer = 0, RMS = 1, Group = 2, Batch = 3 }

interface Layout { N: number; C: number; S: number; G: number }

function optTensor(op: string, what: string, t: Tensor | null | undefined): Tensor | null {
  if (t === undefined || t === null) return null;
  return checkTensor(op, what, t);
}

function checkEps(op: string, eps: number): void {
  if (typeof eps !== 'number' || !(eps >= 0)) throw new Error(`[${op}] eps must be a number >= 0, got ${describe(eps)}`);
}

function checkParam(op: string, what: string, t: Tensor | null, want: readonly number[], x: Tensor): void {
  if (!t) return;
  if (!sameShape(t.shape, want)) throw new Error(`[${op}] ${what} must have shape ${shapeStr(want)} for x ${shapeStr(x.shape)}, got ${shapeStr(t.shape)}`);
}

/** The fused call and its gradient; running stats (batch norm) are updated in place natively. */
function fused(op: string, kind: Kind, x: Tensor, weight: Tensor | null, bias: Tensor | null, lay: Layout, eps: number,
  batch: { runningMean: Tensor | null; runningVar: Tensor | null; training: boolean; momentum: number } | null): Tensor {
  const h = (t: Tensor | null): NativeHandle | null => (t ? t.handle(op) : null);
  const opts: NativeNormOptions = {
    weight: h(weight), bias: h(bias), runningMean: h(batch?.runningMean ?? null), runningVar: h(batch?.runningVar ?? null),
    ...lay, eps, momentum: batch?.momentum ?? 0.1, training: batch?.training ?? true,
  };
  const [yh, mh, rh] = native.normFwd(kind, x.handle(op), opts);
  const y = wrap(yh);
  const mean = wrap(mh);
  const rstd = wrap(rh);
  const inputs = [x, weight, bias];
  if (needsGrad(inputs)) {
    // Read at forward time: the backward must not touch the (possibly disposed) inputs.
    const needX = x.requiresGrad;
    const needW = weight !== null && weight.requiresGrad;
    const needB = bias !== null && bias.requiresGrad;
    const training = batch?.training ?? true;
    const saved = [x, mean, rstd, ...(weight ? [weight] : []), ...(needB && bias ? [bias] : [])];
    record(op, inputs, [y], saved, ([g], s) => {
      if (!g) return [null, null, null];
      const bopts: NativeNormOptions = {
        weight: weight ? s[3].handle(op) : null, bias: needB ? s[s.length - 1].handle(op) : null, ...lay, eps, training,
      };
      const r = native.normBwd(kind, s[0].handle(op), s[1].handle(op), s[2].handle(op), g.handle(op), bopts, needX);
      const [dx, dw, db] = r.map((hh) => (hh ? wrap(hh) : null));
      return [dx, needW ? dw : null, db];
    });
  }
  mean.dispose(); // the node keeps aliases of the statistics it needs
  rstd.dispose();
  return y;
}

function checkShapeArg(op: string, what: string, s: unknown): number[] {
  const ok = Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0);
  if (!ok) throw new Error(`[${op}] ${what} must be an array of integers >= 0, got ${describe(s)}`);
  return s as number[];
}

/**
 * Layer norm over the trailing dims `normalizedShape` of x, as torch.nn.functional.layer_norm:
 * weight and bias have shape normalizedShape. Returns x's shape.
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null,
  eps = 1e-5): Tensor {
  return trailingNorm('layerNorm', Kind.Layer, x, normalizedShape, weight, bias, eps);
}

/** RMS norm over the trailing dims: y = x / sqrt(mean(x^2) + eps) * weight, as torch.nn.functional.rms_norm. */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, eps = 1e-6): Tensor {
  return trailingNorm('rmsNorm', Kind.RMS, x, normalizedShape, weight, null, eps);
}

function trailingNorm(op: string, kind: Kind, x: Tensor, normalizedShape: readonly number[], weight: Tensor | null | undefined,
  bias: Tensor | null | undefined, eps: number): Tensor {
  checkTensor(op, 'x', x);
  const ns = checkShapeArg(op, 'normalizedShape', normalizedShape);
  const w = optTensor(op, 'weight', weight);
  const b = optTensor(op, 'bias', bias);
  checkEps(op, eps);
  const k = ns.length;
  if (k === 0 || k > x.ndim || !sameShape(x.shape.slice(x.ndim - k), ns)) {
    throw new Error(`[${op}] normalizedShape ${shapeStr(ns)} must match the trailing dims of x ${shapeStr(x.shape)}`);
  }
  checkParam(op, 'weight', w, ns, x);
  checkParam(op, 'bias', b, ns, x);
  const C = prod(ns);
  return fused(op, kind, x, w, b, { N: prod(x.shape.slice(0, x.ndim - k)), C, S: 1, G: 1 }, eps, null);
}

function channelsLayout(op: string, x: Tensor): { N: number; C: number; S: number } {
  if (x.ndim < 2) throw new Error(`[${op}] x must have shape (N, C, ...), got ${shapeStr(x.shape)}`);
  return { N: x.shape[0], C: x.shape[1], S: prod(x.shape.slice(2)) };
}

/** Group norm of x (N, C, ...) with `numGroups` groups of C / numGroups channels; weight, bias (C). */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const op = 'groupNorm';
  checkTensor(op, 'x', x);
  const { N, C, S } = channelsLayout(op, x);
  if (!Number.isInteger(numGroups) || numGroups < 1) throw new Error(`[${op}] numGroups must be an integer >= 1, got ${describe(numGroups)}`);
  if (C % numGroups !== 0) throw new Error(`[${op}] numGroups = ${numGroups} must divide the channels C = ${C} of x ${shapeStr(x.shape)}`);
  const w = optTensor(op, 'weight', weight);
  const b = optTensor(op, 'bias', bias);
  checkEps(op, eps);
  checkParam(op, 'weight', w, [C], x);
  checkParam(op, 'bias', b, [C], x);
  return fused(op, Kind.Group, x, w, b, { N, C, S, G: numGroups }, eps, null);
}

/** Options of batchNorm (torch.nn.functional.batch_norm's). */
export interface BatchNormOptions {
  /** Normalise with the batch statistics and update the running ones (default false: use the running stats). */
  training?: boolean;
  /** running = (1 - momentum) * running + momentum * batch statistic. Default 0.1. */
  momentum?: number;
  eps?: number;
}

/**
 * Batch norm of x (N, C, ...) with per-channel statistics, as torch.nn.functional.batch_norm.
 * training: batch mean and biased variance normalise; runningMean/runningVar (C, float32), when
 * given, are updated in place with the unbiased variance. Eval: the running stats normalise.
 */
export function batchNorm(x: Tensor, runningMean?: Tensor | null, runningVar?: Tensor | null, weight?: Tensor | null,
  bias?: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  checkTensor(op, 'x', x);
  if (opts === null || typeof opts !== 'object') throw new Error(`[${op}] options must be an object, got ${describe(opts)}`);
  const { N, C, S } = channelsLayout(op, x);
  const rm = optTensor(op, 'runningMean', runningMean);
  const rv = optTensor(op, 'runningVar', runningVar);
  const w = optTensor(op, 'weight', weight);
  const b = optTensor(op, 'bias', bias);
  const training = opts.training ?? false;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (typeof training !== 'boolean') throw new Error(`[${op}] training must be a boolean, got ${describe(training)}`);
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) throw new Error(`[${op}] momentum must be in [0, 1], got ${describe(momentum)}`);
  checkEps(op, eps);
  if ((rm === null) !== (rv === null)) throw new Error(`[${op}] pass both runningMean and runningVar, or neither`);
  if (!training && rm === null) throw new Error(`[${op}] eval mode (training: false) needs runningMean and runningVar; pass { training: true } to use batch statistics`);
  for (const [what, t] of [['runningMean', rm], ['runningVar', rv], ['weight', w], ['bias', b]] as const) checkParam(op, what, t, [C], x);
  if (training && N * S <= 1) throw new Error(`[${op}] expected more than 1 value per channel when training, got x ${shapeStr(x.shape)}`);
  return fused(op, Kind.Batch, x, w, b, { N, C, S, G: 1 }, eps, { runningMean: rm, runningVar: rv, training, momentum });
}
