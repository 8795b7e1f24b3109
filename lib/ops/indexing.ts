/**
 * indexing.ts — gather, indexSelect, embedding, scatterAdd, oneHot, cumsum, with gradients.
 *
 * Every op views its tensors as (O, N, I) around `dim` (O = product of the dims before it, I of
 * those after) and calls one native kernel pair (native/ops/index): gather is
 * out[o, j, k] = x[o, index[o, j, k], k]; its backward is the scatter-add of the gradient back to
 * those rows, summed in a fixed order (deterministic on cpu and cuda). indexSelect and embedding
 * are gathers with one 1-D index shared by every o and k.
 *
 * Index checks: on the CPU every index is checked before anything is written
 * ("[gather] index 7 is out of range for dim 1 of size 5"). On CUDA the kernels are bounds-safe
 * (an out-of-range index reads 0 and its scatter-add is dropped) and the exact error needs one
 * extra pass and a stream sync, so it runs only with MAMBA_SPEECH_VALIDATE=1 or
 * setIndexValidation(true) — as CUDA's device asserts, debugging is opt-in.
 */
import { native } from '../native';
import { noGrad, record } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { describe, Tensor } from '../tensor/tensor';
import { reshape, slice } from './shape';
import { checkTensor, normDim, optionsArg, prod, recycled, sameShape, shapeStr, wrap } from './util';

let validateFlag = false;

/** Turns the exact (syncing) CUDA index checks on or off; also on with MAMBA_SPEECH_VALIDATE=1. */
export function setIndexValidation(on: boolean): void {
  validateFlag = on;
}

/** @internal Whether CUDA ops should check indices exactly. */
export function validating(): boolean {
  return validateFlag || process.env.MAMBA_SPEECH_VALIDATE === '1';
}

function checkIndex(op: string, what: string, index: unknown, x: Tensor): Tensor {
  const t = checkTensor(op, what, index);
  if (t.dtype !== 'int32') throw new Error(`[${op}] ${what} must be int32, got ${t.dtype}`);
  if (t.device !== x.device) throw new Error(`[${op}] ${what} is on ${t.device} but the input is on ${x.device}; move it with .to()`);
  return t;
}

/** (O, N, I) sizes of `shape` around dim d. */
function around(shape: readonly number[], d: number): [number, number, number] {
  return [prod(shape.slice(0, d)), shape[d] ?? 1, prod(shape.slice(d + 1))];
}

/** The leading block of `x` with the sizes of `shape` (a view; x itself when equal). */
function leading(x: Tensor, shape: readonly number[]): Tensor {
  let v = x;
  shape.forEach((n, d) => {
    if (n !== v.shape[d]) v = slice(v, d, 0, n);
  });
  return v;
}

/** Zeros of `shape` with `t` written into its leading block (the adjoint of leading()). */
function padTo(t: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(t.shape, shape)) return t;
  const z = wrap(native.fill(shape as number[], 0, t.dtype, t.device, recycled()));
  tidy(() => native.copyInto(leading(z, t.shape).handle('pad'), t.handle('pad')));
  return z;
}

function geo(O: number, Nx: number, Ni: number, I: number, shared: boolean, dim: number): number[] {
  return shared ? [O, Nx, Ni, I, 0, 1, 0, dim] : [O, Nx, Ni, I, Ni * I, I, 1, dim];
}

/**
 * out[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (and likewise for any dim), as torch.gather:
 * index (int32) has x's number of dims and sizes <= x's outside `dim`; out has index's shape.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const op = 'gather';
  checkTensor(op, 'x', x);
  checkIndex(op, 'index', index, x);
  const nd = Math.max(x.ndim, 1);
  const d = normDim(op, dim, nd);
  if (index.ndim !== x.ndim) throw new Error(`[${op}] index ${shapeStr(index.shape)} must have as many dims as x ${shapeStr(x.shape)}`);
  index.shape.forEach((n, i) => {
    if (i !== d && n > x.shape[i]) throw new Error(`[${op}] index ${shapeStr(index.shape)} is larger than x ${shapeStr(x.shape)} at dim ${i}`);
  });
  const xShape = x.shape;
  const iShape = index.shape;
  const view = iShape.map((n, i) => (i === d ? xShape[i] ?? 1 : n)); // x's block that index addresses
  const [O, Nx, I] = around(view, d);
  const Ni = iShape[d] ?? 1;
  const g = geo(O, Nx, Ni, I, false, d);
  const validate = validating();
  const out = noGrad(() => tidy(() => {
    const xv = leading(x, view).contiguous();
    return reshape(wrap(native.gatherDim(op, xv.handle(op), index.contiguous().handle(op), g, validate, recycled())), iShape);
  }));
  record(op, [x], [out], [index], ([gr], [idx]) => {
    if (!gr) return [null];
    const s = wrap(native.scatterAddDim(op, null, idx.contiguous().handle(op), gr.contiguous().handle(op), g, null, false, recycled()));
    return [padTo(reshape(s, view), xShape)];
  });
  return out;
}

/** Rows of x along `dim` picked by a 1-D int32 index (repeats allowed), as torch.index_select. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const op = 'indexSelect';
  checkTensor(op, 'x', x);
  checkIndex(op, 'index', index, x);
  if (index.ndim > 1) throw new Error(`[${op}] index must be 1-D, got ${shapeStr(index.shape)}`);
  const d = normDim(op, dim, Math.max(x.ndim, 1));
  const xShape = x.shape;
  const [O, Nx, I] = around(xShape, d);
  const M = index.size;
  const g = geo(O, Nx, M, I, true, d);
  const outShape = x.ndim === 0 ? [M] : xShape.map((n, i) => (i === d ? M : n));
  const validate = validating();
  const out = noGrad(() => tidy(() =>
    reshape(wrap(native.gatherDim(op, x.contiguous().handle(op), index.contiguous().handle(op), g, validate, recycled())), outShape)));
  record(op, [x], [out], [index], ([gr], [idx]) => {
    if (!gr) return [null];
    const s = wrap(native.scatterAddDim(op, null, idx.contiguous().handle(op), gr.contiguous().handle(op), g, null, false, recycled()));
    return [reshape(s, xShape)];
  });
  return out;
}

/** Options of embedding. */
export interface EmbeddingOptions {
  /** Rows at this index get no gradient (negative counts from the end), as nn.Embedding's padding_idx. */
  paddingIdx?: number | null;
}

/**
 * Looks up rows of `weight` (V, D) for int32 `indices` (...) -> (..., D). The gradient is a
 * deterministic scatter-add into dweight (V, D); the paddingIdx row gets none.
 */
export function embedding(indices: Tensor, weight: Tensor, opts: EmbeddingOptions = {}): Tensor {
  const op = 'embedding';
  checkTensor(op, 'weight', weight);
  opts = optionsArg(op, opts);
  checkIndex(op, 'indices', indices, weight);
  if (weight.ndim !== 2) throw new Error(`[${op}] weight must be (V, D), got ${shapeStr(weight.shape)}`);
  const [V, D] = weight.shape;
  let pad: number | null = null;
  if (opts.paddingIdx !== undefined && opts.paddingIdx !== null) {
    const p = opts.paddingIdx;
    if (!Number.isInteger(p) || p < -V || p >= V) throw new Error(`[${op}] paddingIdx must be an integer in [${-V}, ${V - 1}], got ${describe(p)}`);
    pad = p < 0 ? p + V : p;
  }
  const N = indices.size;
  const g = geo(1, V, N, D, true, 0);
  const outShape = [...indices.shape, D];
  const validate = validating();
  const out = noGrad(() => tidy(() =>
    reshape(wrap(native.gatherDim(op, weight.contiguous().handle(op), indices.contiguous().handle(op), g, validate, recycled())), outShape)));
  record(op, [weight], [out], [indices], ([gr], [idx]) => {
    if (!gr) return [null];
    const s = wrap(native.scatterAddDim(op, null, idx.contiguous().handle(op), gr.contiguous().handle(op), g, pad, false, recycled()));
    return [reshape(s, [V, D])];
  });
  return out;
}

/**
 * x with src[i][j][k] added at x[i][index[i][j][k]][k] for dim = 1 (likewise for any dim), as
 * torch.scatter_add: index (int32) has sizes <= src's everywhere and <= x's outside `dim`.
 * Repeated indices accumulate in a fixed order (deterministic).
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const op = 'scatterAdd';
  checkTensor(op, 'x', x);
  checkTensor(op, 'src', src);
  checkIndex(op, 'index', index, x);
  const d = normDim(op, dim, Math.max(x.ndim, 1));
  if (index.ndim !== x.ndim || src.ndim !== x.ndim) {
    throw new Error(`[${op}] x ${shapeStr(x.shape)}, index ${shapeStr(index.shape)} and src ${shapeStr(src.shape)} must have the same number of dims`);
  }
  index.shape.forEach((n, i) => {
    if (n > src.shape[i] || (i !== d && n > x.shape[i])) {
      throw new Error(`[${op}] index ${shapeStr(index.shape)} must be <= src ${shapeStr(src.shape)} everywhere and <= x ${shapeStr(x.shape)} outside dim ${d}`);
    }
  });
  if (src.dtype !== x.dtype) throw new Error(`[${op}] src is ${src.dtype} but x is ${x.dtype}`);
  const xShape = x.shape;
  const sShape = src.shape;
  const iShape = index.shape;
  const view = iShape.map((n, i) => (i === d ? xShape[i] ?? 1 : n));
  const [O, Nx, I] = around(view, d);
  const g = geo(O, Nx, iShape[d] ?? 1, I, false, d);
  const validate = validating();
  const out = noGrad(() => tidy(() => {
    const sv = leading(src, iShape).contiguous();
    const ih = index.contiguous().handle(op);
    if (sameShape(view, xShape)) {
      return reshape(wrap(native.scatterAddDim(op, x.handle(op), ih, sv.handle(op), g, null, validate, recycled())), xShape);
    }
    const part = padTo(reshape(wrap(native.scatterAddDim(op, null, ih, sv.handle(op), g, null, validate, recycled())), view), xShape);
    return wrap(native.add(x.handle(op), part.handle(op), recycled()));
  }));
  record(op, [x, src], [out], [index], ([gr], [idx]) => {
    if (!gr) return [null, null];
    const gv = leading(gr, view).contiguous();
    const gs = wrap(native.gatherDim(op, gv.handle(op), idx.contiguous().handle(op), g, false, recycled()));
    return [gr, padTo(reshape(gs, iShape), sShape)];
  });
  return out;
}

/**
 * Float32 one-hot rows: labels int32 (...) -> (..., numClasses). numClasses defaults to
 * max(labels) + 1 (which reads the labels: a sync on cuda). Labels outside [0, numClasses) throw
 * (on cuda only with validation; unchecked they give an all-zero row).
 */
export function oneHot(labels: Tensor, numClasses?: number): Tensor {
  const op = 'oneHot';
  checkTensor(op, 'labels', labels);
  if (labels.dtype !== 'int32') throw new Error(`[${op}] labels must be int32, got ${labels.dtype}`);
  let C = numClasses;
  if (C === undefined || C === -1) {
    const v = labels.dataSync();
    C = 0;
    for (let i = 0; i < v.length; ++i) C = Math.max(C, v[i] + 1);
  }
  if (!Number.isInteger(C) || C < 0) throw new Error(`[${op}] numClasses must be an integer >= 0, got ${describe(C)}`);
  return wrap(native.oneHot(labels.handle(op), C, validating(), recycled()));
}

/** Cumulative sum along `dim` (double accumulation); the gradient is the reverse cumulative sum. */
export function cumsum(x: Tensor, dim: number): Tensor {
  const op = 'cumsum';
  checkTensor(op, 'x', x);
  const d = normDim(op, dim, Math.max(x.ndim, 1));
  const shape = x.shape;
  const [O, N, I] = x.ndim === 0 ? [1, 1, 1] : around(shape, d);
  const out = noGrad(() => tidy(() => reshape(wrap(native.cumsumDim(x.handle(op), O, N, I, false, recycled())), shape)));
  record(op, [x], [out], [], ([g]) => [
    g ? reshape(wrap(native.cumsumDim(g.handle(op), O, N, I, true, recycled())), shape) : null,
  ]);
  return out;
}
