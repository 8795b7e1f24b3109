/**
 * reduce.ts — reductions over any dims (keepdim), softmax and logSoftmax, with gradients.
 *
 * The reduced dims are moved to the end (a permuted view, copied contiguous when needed) and the
 * native row kernels reduce each row: x (..kept.., ..reduced..) -> (R, K) -> (R). Accumulation is
 * in double. Shapes: x (d0, ..., dn); dims ⊆ {0..n}; out = x's shape without (or with size-1 at)
 * the reduced dims. A sum or mean over one run of leading or middle dims of a contiguous
 * tensor (a bias gradient: (N, C) over N) reads it in place as (outer, K, inner) instead, on
 * either device: the transposed copy cost 6x the sum itself at (600, 576) on the CPU.
 */
import { native } from '../native';
import { record } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { ReduceName, reduceCode } from './codes';
import { div, eq, exp, mul, sub, sqrt } from './elementwise';
import { contiguous, expand, permute, reshape } from './shape';
import { asOp, checkTensor, isContiguous, normDim, normDims, numArg, optionsArg, prod, recycled, wrap } from './util';

interface Plan {
  rows: number;
  k: number;
  perm: number[];
  /** The reduced dims as one run [a, b] of consecutive dims: (outer, k, inner) sizes, else null. */
  cols: { outer: number; inner: number } | null;
  outShape: number[];   // without reduced dims
  keepShape: number[];  // reduced dims as 1
}

function plan(op: string, x: Tensor, dims: number | readonly number[] | undefined | null): Plan {
  const nd = x.ndim;
  // A scalar has nothing to reduce: dim 0 / -1 are accepted (as PyTorch does) and change nothing.
  const red = nd === 0 ? (normDims(op, dims, nd), []) : normDims(op, dims, nd);
  const kept = Array.from({ length: nd }, (_, i) => i).filter((i) => !red.includes(i));
  const shape = x.shape;
  const run = red.length > 0 && red.every((d, i) => i === 0 || d === red[i - 1] + 1);
  return {
    rows: prod(kept.map((i) => shape[i])),
    k: prod(red.map((i) => shape[i])),
    perm: [...kept, ...red],
    cols: run ? { outer: prod(shape.slice(0, red[0])), inner: prod(shape.slice(red[red.length - 1] + 1)) } : null,
    outShape: kept.map((i) => shape[i]),
    keepShape: shape.map((d, i) => (red.includes(i) ? 1 : d)),
  };
}

function rowsOf(x: Tensor, p: Plan): Tensor {
  const v = permute(x, p.perm);
  const c = contiguous(v);
  if (v !== x && v !== c) v.dispose();
  return c;
}

function rawReduce(name: ReduceName, x: Tensor, p: Plan, param = 0): Tensor {
  // Sums/means over leading or middle dims of a contiguous tensor (bias gradients, batch means)
  // read it in place; the row path would first copy it transposed.
  if (p.cols && p.cols.inner > 1 && (name === 'sum' || name === 'mean') && x.dtype !== 'int32' && isContiguous(x.shape, x._layoutOf(name)[0])) {
    return wrap(native.reduceCols(reduceCode(name), x.handle(name), p.cols.outer, p.k, p.cols.inner, recycled()));
  }
  const rows = rowsOf(x, p);
  const r = wrap(native.reduceRows(reduceCode(name), rows.handle(name), p.rows, p.k, param, recycled()));
  if (rows !== x) rows.dispose();
  return r;
}

function finish(r: Tensor, p: Plan, keepdim: boolean): Tensor {
  const v = reshape(r, keepdim ? p.keepShape : p.outShape);
  if (v !== r) r.dispose(); // the view keeps the storage
  return v;
}

/** Gradient of a reduction broadcast back over x's shape: g reshaped to keepShape, expanded. */
function spread(g: Tensor, p: Plan, shape: readonly number[]): Tensor {
  return expand(reshape(g, p.keepShape), shape);
}

/** Options of the reductions. */
export type Dims = number | readonly number[] | null | undefined;

/** Sum over `dims` (all when omitted). int32 sums wrap like int32. */
export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  checkTensor('sum', 'x', x);
  const p = plan('sum', x, dims);
  const out = finish(rawReduce('sum', x, p), p, keepdim);
  const shape = x.shape;
  record('sum', [x], [out], [], ([g]) => [g ? spread(g, p, shape) : null]);
  return out;
}

/** Mean over `dims` (float only). */
export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  checkTensor('mean', 'x', x);
  const p = plan('mean', x, dims);
  const out = finish(rawReduce('mean', x, p), p, keepdim);
  const shape = x.shape;
  record('mean', [x], [out], [], ([g]) => [g ? div(spread(g, p, shape), p.k) : null]);
  return out;
}

function extreme(name: 'max' | 'min', x: Tensor, dims: Dims, keepdim: boolean): Tensor {
  checkTensor(name, 'x', x);
  const p = plan(name, x, dims);
  const r = rawReduce(name, x, p);
  const out = finish(r, p, keepdim);
  const shape = x.shape;
  record(name, [x], [out], [x, out], ([g], [xs, o]) => {
    if (!g) return [null];
    // Ties share the gradient evenly.
    const mask = eq(xs, spread(o, p, shape));
    const count = sum(mask, p.perm.slice(p.perm.length - (shape.length - p.outShape.length)), true);
    return [mul(div(mask, count), spread(g, p, shape))];
  });
  return out;
}

/** Maximum over `dims` (NaN wins). */
export function max(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extreme('max', x, dims, keepdim);
}
/** Minimum over `dims` (NaN wins). */
export function min(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return extreme('min', x, dims, keepdim);
}

/** Index (int32) of the largest value along `dim` (the flat index when dim is omitted); first on ties. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  checkTensor('argmax', 'x', x);
  const p = plan('argmax', x, dim === undefined ? null : [normDim('argmax', dim, x.ndim)]);
  return finish(rawReduce('argmax', x, p), p, keepdim && dim !== undefined);
}
/** Index (int32) of the smallest value along `dim`; first on ties. */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  checkTensor('argmin', 'x', x);
  const p = plan('argmin', x, dim === undefined ? null : [normDim('argmin', dim, x.ndim)]);
  return finish(rawReduce('argmin', x, p), p, keepdim && dim !== undefined);
}

/** log(sum(exp(x))) over `dims`, computed stably. */
export function logsumexp(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  checkTensor('logsumexp', 'x', x);
  const p = plan('logsumexp', x, dims);
  const out = finish(rawReduce('logsumexp', x, p), p, keepdim);
  const shape = x.shape;
  record('logsumexp', [x], [out], [x, out], ([g], [xs, o]) => [
    g ? mul(exp(sub(xs, spread(o, p, shape))), spread(g, p, shape)) : null,
  ]);
  return out;
}

/** Variance over `dims` with `correction` (1 = unbiased, as PyTorch's default; 0 = population). */
export function variance(x: Tensor, dims?: Dims, opts: { correction?: number; unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  checkTensor('variance', 'x', x);
  const o = optionsArg('variance', opts);
  const corr = o.correction === undefined ? (o.unbiased === false ? 0 : 1) : numArg('variance', 'correction', o.correction, true);
  const p = plan('variance', x, dims);
  return asOp('variance', () => {
    const out = finish(rawReduce('var', x, p, corr), p, o.keepdim ?? false);
    const shape = x.shape;
    record('var', [x], [out], [x], ([g], [xs]) => {
      if (!g) return [null];
      const m = spread(finish(rawReduce('mean', xs, p), p, true), p, shape);
      return [mul(mul(sub(xs, m), 2 / (p.k - corr)), spread(g, p, shape))];
    });
    return out;
  });
}

/** Standard deviation: sqrt(variance). */
export function std(x: Tensor, dims?: Dims, opts: { correction?: number; unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
  checkTensor('std', 'x', x);
  return asOp('std', () => tidy(() => sqrt(variance(x, dims, opts))));
}

function softmaxImpl(x: Tensor, dim: number, log: boolean): Tensor {
  const name = log ? 'logSoftmax' : 'softmax';
  checkTensor(name, 'x', x);
  const d = normDim(name, dim, x.ndim);
  const perm = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== d);
  perm.push(d);
  const inv = new Array(x.ndim);
  perm.forEach((p, i) => (inv[p] = i));
  const k = x.ndim === 0 ? 1 : x.shape[d];
  const rows = k === 0 ? 0 : x.size / k;
  const { out, yMoved } = tidy(() => {
    const moved = x.ndim ? contiguous(permute(x, perm)) : x;
    const ym = wrap(native.softmaxRows(moved.handle(name), rows, k, log, recycled()));
    return { out: x.ndim ? permute(ym, inv) : ym, yMoved: ym };
  });
  const nd = x.ndim;
  record(name, [x], [out], [yMoved], ([g], [y]) => {
    if (!g) return [null];
    const gm = nd ? contiguous(permute(g, perm)) : g;
    const dx = wrap(native.softmaxRowsBackward(y.handle(name), gm.handle(name), rows, k, log, recycled()));
    return [nd ? permute(dx, inv) : dx];
  });
  if (yMoved !== out) yMoved.dispose(); // out is a view of it; the graph saved its own alias
  return out;
}

/** exp(x) / sum(exp(x)) along `dim`. */
export function softmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl(x, dim, false);
}
/** x - logsumexp(x) along `dim`. */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return softmaxImpl(x, dim, true);
}

