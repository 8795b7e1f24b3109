/**
 * methods.ts — every op that takes a tensor first is also a Tensor method, typed: `x.add(y)`,
 * `x.square().sum()`, `logits.crossEntropy(target)`, `q.attention(k, v, opts)`. A method is the
 * op of the same name with the tensor as its first argument (same checks, same gradient),
 * installed on the prototype here because the op modules import the Tensor class.
 *
 * Not methods: ops whose first argument is not a tensor (concat and stack take a list;
 * unaryOp a name) and internals (viewOf, sumTo, setIndexValidation), listed in NOT_METHODS
 * for the test that keeps this file complete. One deviation, as in PyTorch:
 * `x.where(condition, other)` is `where(condition, x, other)`.
 */
import { Tensor } from '../tensor/tensor';
import { attention } from './attention';
import { causalConv1d } from './causal_conv1d';
import type { CausalConv1dOptions, CausalConv1dResult } from './causal_conv1d';
import * as Conv from './conv';
import { ctcLoss } from './ctc';
import { dropout } from './dropout';
import * as E from './elementwise';
import * as I from './indexing';
import * as Loss from './loss';
import * as M from './matmul';
import * as N from './norm';
import * as R from './reduce';
import { selectiveScan } from './selective_scan';
import * as S from './shape';

/** The op `F` with its first (tensor) argument bound to `this`. */
type Method<F> = F extends (self: Tensor, ...rest: infer A) => infer O ? (...rest: A) => O : never;

/** The methods, by name: each is `(this, ...args) => op(this, ...args)`. */
const OPS = {
  add: E.add, sub: E.sub, mul: E.mul, div: E.div, pow: E.pow, minimum: E.minimum, maximum: E.maximum,
  eq: E.eq, ne: E.ne, lt: E.lt, le: E.le, gt: E.gt, ge: E.ge, maskedFill: E.maskedFill,
  neg: E.neg, abs: E.abs, sign: E.sign, square: E.square, exp: E.exp, log: E.log, log1p: E.log1p, expm1: E.expm1,
  sqrt: E.sqrt, rsqrt: E.rsqrt, reciprocal: E.reciprocal, sin: E.sin, cos: E.cos, tanh: E.tanh, sigmoid: E.sigmoid,
  relu: E.relu, silu: E.silu, leakyRelu: E.leakyRelu, gelu: E.gelu, softplus: E.softplus, clamp: E.clamp, glu: E.glu,
  contiguous: S.contiguous, reshape: S.reshape, permute: S.permute, transpose: S.transpose, unsqueeze: S.unsqueeze,
  squeeze: S.squeeze, flatten: S.flatten, expand: S.expand, slice: S.slice, narrow: S.narrow, flip: S.flip,
  split: S.split, chunk: S.chunk, pad: S.pad, repeat: S.repeat,
  sum: R.sum, mean: R.mean, max: R.max, min: R.min, argmax: R.argmax, argmin: R.argmin, logsumexp: R.logsumexp,
  variance: R.variance, std: R.std, softmax: R.softmax, logSoftmax: R.logSoftmax,
  matmul: M.matmul, linear: M.linear,
  layerNorm: N.layerNorm, rmsNorm: N.rmsNorm, groupNorm: N.groupNorm, batchNorm: N.batchNorm,
  conv1d: Conv.conv1d, conv2d: Conv.conv2d, convTranspose1d: Conv.convTranspose1d,
  gather: I.gather, indexSelect: I.indexSelect, embedding: I.embedding, scatterAdd: I.scatterAdd, oneHot: I.oneHot,
  cumsum: I.cumsum, dropout,
  crossEntropy: Loss.crossEntropy, nllLoss: Loss.nllLoss, mseLoss: Loss.mseLoss, l1Loss: Loss.l1Loss,
  smoothL1Loss: Loss.smoothL1Loss, cosineSimilarity: Loss.cosineSimilarity, ctcLoss,
  attention, selectiveScan, causalConv1d,
};

/** Exported functions of lib/ops that are deliberately not methods (see the file comment). */
export const NOT_METHODS: readonly string[] = [
  'concat', 'stack', 'unaryOp', 'viewOf', 'sumTo', 'setIndexValidation', 'attentionRef', 'selectiveScanRef', 'causalConv1dRef',
];

type Ops = typeof OPS;

declare module '../tensor/tensor' {
  // Interface members typed from the ops themselves, so a method never drifts from its op.
  interface Tensor {
    add: Method<Ops['add']>; sub: Method<Ops['sub']>; mul: Method<Ops['mul']>; div: Method<Ops['div']>;
    pow: Method<Ops['pow']>; minimum: Method<Ops['minimum']>; maximum: Method<Ops['maximum']>;
    eq: Method<Ops['eq']>; ne: Method<Ops['ne']>; lt: Method<Ops['lt']>; le: Method<Ops['le']>;
    gt: Method<Ops['gt']>; ge: Method<Ops['ge']>; maskedFill: Method<Ops['maskedFill']>;
    neg: Method<Ops['neg']>; abs: Method<Ops['abs']>; sign: Method<Ops['sign']>; square: Method<Ops['square']>;
    exp: Method<Ops['exp']>; log: Method<Ops['log']>; log1p: Method<Ops['log1p']>; expm1: Method<Ops['expm1']>;
    sqrt: Method<Ops['sqrt']>; rsqrt: Method<Ops['rsqrt']>; reciprocal: Method<Ops['reciprocal']>;
    sin: Method<Ops['sin']>; cos: Method<Ops['cos']>; tanh: Method<Ops['tanh']>; sigmoid: Method<Ops['sigmoid']>;
    relu: Method<Ops['relu']>; silu: Method<Ops['silu']>; leakyRelu: Method<Ops['leakyRelu']>;
    gelu: Method<Ops['gelu']>; softplus: Method<Ops['softplus']>; clamp: Method<Ops['clamp']>; glu: Method<Ops['glu']>;
    contiguous: Method<Ops['contiguous']>; reshape: Method<Ops['reshape']>; permute: Method<Ops['permute']>;
    transpose: Method<Ops['transpose']>; unsqueeze: Method<Ops['unsqueeze']>; squeeze: Method<Ops['squeeze']>;
    flatten: Method<Ops['flatten']>; expand: Method<Ops['expand']>; slice: Method<Ops['slice']>;
    narrow: Method<Ops['narrow']>; flip: Method<Ops['flip']>; split: Method<Ops['split']>; chunk: Method<Ops['chunk']>;
    pad: Method<Ops['pad']>; repeat: Method<Ops['repeat']>;
    sum: Method<Ops['sum']>; mean: Method<Ops['mean']>; max: Method<Ops['max']>; min: Method<Ops['min']>;
    argmax: Method<Ops['argmax']>; argmin: Method<Ops['argmin']>; logsumexp: Method<Ops['logsumexp']>;
    variance: Method<Ops['variance']>; std: Method<Ops['std']>; softmax: Method<Ops['softmax']>;
    logSoftmax: Method<Ops['logSoftmax']>;
    matmul: Method<Ops['matmul']>; linear: Method<Ops['linear']>;
    layerNorm: Method<Ops['layerNorm']>; rmsNorm: Method<Ops['rmsNorm']>; groupNorm: Method<Ops['groupNorm']>;
    batchNorm: Method<Ops['batchNorm']>;
    conv1d: Method<Ops['conv1d']>; conv2d: Method<Ops['conv2d']>; convTranspose1d: Method<Ops['convTranspose1d']>;
    gather: Method<Ops['gather']>; indexSelect: Method<Ops['indexSelect']>; embedding: Method<Ops['embedding']>;
    scatterAdd: Method<Ops['scatterAdd']>; oneHot: Method<Ops['oneHot']>; cumsum: Method<Ops['cumsum']>;
    dropout: Method<Ops['dropout']>;
    crossEntropy: Method<Ops['crossEntropy']>; nllLoss: Method<Ops['nllLoss']>; mseLoss: Method<Ops['mseLoss']>;
    l1Loss: Method<Ops['l1Loss']>; smoothL1Loss: Method<Ops['smoothL1Loss']>;
    cosineSimilarity: Method<Ops['cosineSimilarity']>; ctcLoss: Method<Ops['ctcLoss']>;
    attention: Method<Ops['attention']>; selectiveScan: Method<Ops['selectiveScan']>;
    /** causalConv1d(x = this, weight, bias?, opts?): the output, or { out, finalState } with returnFinalState. */
    causalConv1d(weight: Tensor, bias?: Tensor | null, opts?: CausalConv1dOptions & { returnFinalState?: false }): Tensor;
    causalConv1d(weight: Tensor, bias: Tensor | null | undefined, opts: CausalConv1dOptions & { returnFinalState: true }): CausalConv1dResult;
    /** where(condition, this, other): this where condition != 0, else other (PyTorch's Tensor.where). */
    where(condition: Tensor, other: Tensor | number): Tensor;
  }
}

const P = Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, op] of Object.entries(OPS) as [string, (...a: unknown[]) => unknown][]) {
  P[name] = function (this: Tensor, ...args: unknown[]): unknown {
    return op(this, ...args);
  };
}
P.where = function (this: Tensor, condition: Tensor, other: Tensor | number): Tensor {
  return E.where(condition, this, other);
};

/** Names of the ops installed as methods (for tests and docs). */
export const METHOD_NAMES: readonly string[] = [...Object.keys(OPS), 'where'];
