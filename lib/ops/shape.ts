/**
 * shape.ts — shape ops. Views (no copy) where the layout allows: reshape of a contiguous tensor,
 * permute/transpose, squeeze/unsqueeze, expand, slice with step, flip (negative strides),
 * narrow. Copies otherwise: contiguous, concat/stack, pad, repeat. Every op records its
 * gradient. Shapes are given at the end of each line.
 */
import { native } from '../native';
import { record } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { describe, Tensor } from '../tensor/tensor';
import { asOp, checkTensor, intArg, intList, isContiguous, normDim, numArg, prod, recycled, sameShape, shapeStr, tensorList, wrap } from './util';

function atLeast1d(op: string, x: Tensor): void {
  if (x.ndim === 0) throw new Error(`[${op}] x must have at least 1 dim, got a scalar; unsqueeze it first`);
}

function layout(t: Tensor): [number[], number] {
  return t._layoutOf('view');
}

/** @internal A view of `x` with the given shape/strides/offset (bounds-checked natively). */
export function viewOf(x: Tensor, shape: number[], strides: number[], offset: number): Tensor {
  checkTensor('viewOf', 'x', x);
  const v = asOp('viewOf', () => wrap(native.view(x.handle('view'), shape, strides, offset, recycled())));
  v._primeView(shape, strides, offset, x.dtype, x.device);
  return v;
}

/** Row-major copy of `x` (or `x` itself when already contiguous). Shape unchanged. */
export function contiguous(x: Tensor): Tensor {
  checkTensor('contiguous', 'x', x);
  const h = x.handle('contiguous');
  const out = native.contiguous(h, recycled());
  if (out === h) return x;
  const y = wrap(out);
  record('contiguous', [x], [y], [], (g) => [g[0]]);
  return y;
}


function inferShape(op: string, shape: readonly number[], numel: number, from: readonly number[]): number[] {
  const out = [...intList(op, 'shape', shape, -1)];
  const free = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) throw new Error(`[${op}] only one dim can be -1, got ${shapeStr(shape)}`);
  for (const d of out) {
    if (d !== -1 && (!Number.isInteger(d) || d < 0)) throw new Error(`[${op}] dims must be integers >= 0 or -1, got ${shapeStr(shape)}`);
  }
  if (free >= 0) {
    const rest = prod(out.filter((d) => d !== -1));
    if (rest === 0 || numel % rest !== 0) throw new Error(`[${op}] cannot reshape ${shapeStr(from)} (${numel} elements) into ${shapeStr(shape)}`);
    out[free] = numel / rest;
  }
  if (prod(out) !== numel) throw new Error(`[${op}] cannot reshape ${shapeStr(from)} (${numel} elements) into ${shapeStr(shape)} (${prod(out)} elements)`);
  return out;
}

/** x with a new shape of the same size (one dim may be -1). A view when x is contiguous. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', 'x', x);
  const from = x.shape;
  const to = inferShape('reshape', shape, x.size, from);
  if (sameShape(from, to)) return x;
  const [strides, offset] = layout(x);
  const src = isContiguous(from, strides) ? x : contiguous(x);
  const off = src === x ? offset : 0;
  let st = 1;
  const newStrides = new Array(to.length);
  for (let i = to.length - 1; i >= 0; --i) {
    newStrides[i] = st;
    st *= to[i];
  }
  const y = viewOf(src, to, newStrides, off);
  record('reshape', [src], [y], [], (g) => [g[0] ? reshape(g[0], from) : null]);
  return y;
}

/** Reorders dims: out dim i is x's dim perm[i]. A view. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  checkTensor('permute', 'x', x);
  const nd = x.ndim;
  intList('permute', 'perm', perm, -Infinity);
  if (perm.length !== nd) throw new Error(`[permute] perm has ${perm.length} entries for a tensor with ${nd} dims`);
  const p = perm.map((d) => normDim('permute', d, nd));
  if (new Set(p).size !== nd) throw new Error(`[permute] perm [${perm.join(', ')}] repeats a dim`);
  if (p.every((d, i) => d === i)) return x;
  const [strides, offset] = layout(x);
  const shape = x.shape;
  const y = viewOf(x, p.map((d) => shape[d]), p.map((d) => strides[d]), offset);
  const inv = new Array(nd);
  p.forEach((d, i) => (inv[d] = i));
  record('permute', [x], [y], [], (g) => [g[0] ? permute(g[0], inv) : null]);
  return y;
}

/** Swaps two dims. A view. */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  checkTensor('transpose', 'x', x);
  const nd = x.ndim;
  if (nd === 0) return x; // nothing to swap (dims 0 / -1 accepted, as PyTorch does)
  const a = normDim('transpose', dim0, nd);
  const b = normDim('transpose', dim1, nd);
  const perm = Array.from({ length: nd }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Inserts a size-1 dim at `dim` (in [-ndim-1, ndim]). A view. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor('unsqueeze', 'x', x);
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshapeView(x, shape, 'unsqueeze');
}

/** Removes size-1 dims (all, or the given ones). A view. */
export function squeeze(x: Tensor, dims?: number | readonly number[]): Tensor {
  checkTensor('squeeze', 'x', x);
  const nd = x.ndim;
  if (dims !== undefined && typeof dims !== 'number') intList('squeeze', 'dims', dims, -Infinity);
  const list = dims === undefined ? x.shape.map((_, i) => i).filter((i) => x.shape[i] === 1)
    : (typeof dims === 'number' ? [dims] : dims).map((d) => normDim('squeeze', d, nd)).filter((d) => x.shape[d] === 1);
  const shape = x.shape.filter((_, i) => !list.includes(i));
  return reshapeView(x, shape, 'squeeze');
}

// Adding/removing size-1 dims keeps every real stride: a view even for non-contiguous x.
function reshapeView(x: Tensor, shape: number[], op: string): Tensor {
  if (sameShape(shape, x.shape)) return x;
  const [strides, offset] = layout(x);
  const real = x.shape.map((d, i) => [d, strides[i]]).filter(([d]) => d !== 1);
  const newStrides: number[] = [];
  let k = real.length - 1;
  let inner = 1;
  for (let i = shape.length - 1; i >= 0; --i) {
    if (shape[i] === 1) newStrides.unshift(inner);
    else {
      newStrides.unshift(real[k][1]);
      inner = real[k][1] * real[k][0];
      k--;
    }
  }
  const from = x.shape;
  const y = viewOf(x, shape, newStrides, offset);
  record(op, [x], [y], [], (g) => [g[0] ? reshape(g[0], from) : null]);
  return y;
}

/** Flattens dims start..end (inclusive) into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  checkTensor('flatten', 'x', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', start, x.ndim);
  const e = normDim('flatten', end, x.ndim);
  if (e < s) throw new Error(`[flatten] end dim ${end} comes before start dim ${start}`);
  const shape = [...x.shape.slice(0, s), prod(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Sums `g` down to `shape` (the inverse of broadcasting): used by broadcasting gradients. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  checkTensor('sumTo', 'g', g);
  intList('sumTo', 'shape', shape);
  if (sameShape(g.shape, shape)) return g;
  return asOp('sumTo', () => sumToImpl(g, shape));
}

function sumToImpl(g: Tensor, shape: readonly number[]): Tensor {
  // Lazily imported to avoid a cycle (reduce imports shape).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { sum } = require('./reduce') as typeof import('./reduce');
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; ++i) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const s = dims.length ? sum(g, dims, true) : g;
  return reshape(s, shape);
}

/** Broadcasts x to `shape` (size-1 or missing leading dims grow; -1 keeps a dim). A view. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', 'x', x);
  intList('expand', 'shape', shape, -1);
  const nd = shape.length;
  const lead = nd - x.ndim;
  if (lead < 0) throw new Error(`[expand] target ${shapeStr(shape)} has fewer dims than x ${shapeStr(x.shape)}`);
  const [strides, offset] = layout(x);
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let i = 0; i < nd; ++i) {
    const src = i - lead;
    const d = shape[i] === -1 && src >= 0 ? x.shape[src] : shape[i];
    if (d < 0) throw new Error(`[expand] -1 keeps a dim of x, but dim ${i} of ${shapeStr(shape)} is a new leading dim`);
    if (src < 0) {
      outShape.push(d);
      outStrides.push(0);
    } else if (x.shape[src] === d) {
      outShape.push(d);
      outStrides.push(strides[src]);
    } else if (x.shape[src] === 1) {
      outShape.push(d);
      outStrides.push(0);
    } else {
      throw new Error(`[expand] x ${shapeStr(x.shape)} cannot be expanded to ${shapeStr(shape)}: dim ${i} is ${x.shape[src]}, not 1`);
    }
  }
  if (sameShape(outShape, x.shape)) return x;
  const from = x.shape;
  const y = asOp('expand', () => viewOf(x, outShape, outStrides, offset));
  record('expand', [x], [y], [], (g) => [g[0] ? sumTo(g[0], from) : null]);
  return y;
}

/**
 * Elements start, start+step, ... < end along `dim` (Python slicing; negative start/end count
 * from the end and are clamped; step >= 1). A view.
 */
export function slice(x: Tensor, dim: number, start = 0, end: number = Infinity, step = 1): Tensor {
  checkTensor('slice', 'x', x);
  atLeast1d('slice', x);
  const d = normDim('slice', dim, x.ndim);
  intArg('slice', 'step', step, 1);
  // Bounds may be any integer or ±Infinity (clamped as in Python).
  for (const [k, v] of [['start', start], ['end', end]] as const) {
    if (typeof v !== 'number' || !(Number.isInteger(v) || v === Infinity || v === -Infinity)) {
      throw new Error(`[slice] ${k} must be an integer (or ±Infinity), got ${typeof v === 'number' ? v : describe(v)}`);
    }
  }
  const n = x.shape[d];
  const clamp = (v: number) => (v < 0 ? Math.max(0, v + n) : Math.min(v, n));
  const s = clamp(start);
  const e = Math.max(s, clamp(end));
  const len = Math.ceil((e - s) / step);
  if (s === 0 && len === n && step === 1) return x;
  const [strides, offset] = layout(x);
  const shape = [...x.shape];
  shape[d] = len;
  const st = [...strides];
  st[d] = strides[d] * step;
  const y = viewOf(x, shape, st, offset + (len > 0 ? s * strides[d] : 0));
  const from = x.shape;
  const dtype = x.dtype;
  const device = x.device;
  record('slice', [x], [y], [], (g) => {
    if (!g[0]) return [null];
    const z = wrap(native.fill(from as number[], 0, dtype, device, recycled()));
    native.copyInto(slice(z, d, s, e, step).handle('slice'), g[0].handle('slice'));
    return [z];
  });
  return y;
}

/** `length` elements of `dim` from `start`. A view. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor('narrow', 'x', x);
  atLeast1d('narrow', x);
  const d = normDim('narrow', dim, x.ndim);
  const n = x.shape[d];
  intArg('narrow', 'start', start, -n, n);
  const s = start < 0 ? start + n : start;
  intArg('narrow', 'length', length, 0, n - s);
  return asOp('narrow', () => slice(x, d, s, s + length));
}

/** Reverses the given dims. A view with negative strides. */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  checkTensor('flip', 'x', x);
  const list = (typeof dims === 'number' ? [dims] : intList('flip', 'dims', dims, -Infinity)).map((d) => normDim('flip', d, x.ndim));
  if (x.ndim === 0) return x; // a scalar reversed is itself (dim 0 / -1 accepted as PyTorch does)
  const [strides, offset] = layout(x);
  const st = [...strides];
  let off = offset;
  for (const d of new Set(list)) {
    if (x.shape[d] > 0) off += (x.shape[d] - 1) * strides[d];
    st[d] = -strides[d];
  }
  const y = viewOf(x, [...x.shape], st, off);
  record('flip', [x], [y], [], (g) => [g[0] ? flip(g[0], list) : null]);
  return y;
}

/** Joins tensors along `dim` (all other dims equal, same dtype and device). */
export function concat(xs: readonly Tensor[], dim = 0): Tensor {
  tensorList('concat', 'tensors', xs);
  const first = xs[0];
  atLeast1d('concat', first);
  const d = normDim('concat', dim, first.ndim);
  let total = 0;
  xs.forEach((t: Tensor, i: number) => {
    if (t.ndim !== first.ndim || t.shape.some((s: number, j: number) => j !== d && s !== first.shape[j])) {
      throw new Error(`[concat] tensors[${i}] has shape ${shapeStr(t.shape)}, which does not match ${shapeStr(first.shape)} outside dim ${d}`);
    }
    if (t.dtype !== first.dtype) throw new Error(`[concat] tensors[${i}] is ${t.dtype}, tensors[0] is ${first.dtype}`);
    if (t.device !== first.device) throw new Error(`[concat] tensors[${i}] is on ${t.device}, tensors[0] on ${first.device}`);
    total += t.shape[d];
  });
  const shape = [...first.shape];
  shape[d] = total;
  const out = wrap(native.fill(shape, 0, first.dtype, first.device, recycled()));
  let at = 0;
  const bounds: [number, number][] = [];
  for (const t of xs) {
    const len = t.shape[d];
    if (len > 0) {
      const dst = slice(out, d, at, at + len);
      native.copyInto(dst.handle('concat'), t.handle('concat'));
      if (dst !== out) dst.dispose();
    }
    bounds.push([at, at + len]);
    at += len;
  }
  record('concat', xs, [out], [], (g) => bounds.map(([s, e]) => (g[0] ? contiguous(slice(g[0], d, s, e)) : null)));
  return out;
}

/** Stacks equal-shape tensors along a new dim. */
export function stack(xs: readonly Tensor[], dim = 0): Tensor {
  tensorList('stack', 'tensors', xs);
  xs.forEach((t: Tensor, i: number) => {
    if (!sameShape(t.shape, xs[0].shape)) throw new Error(`[stack] tensors[${i}] has shape ${shapeStr(t.shape)}, tensors[0] has ${shapeStr(xs[0].shape)}`);
  });
  const d = normDim('stack', dim, xs[0].ndim + 1);
  return asOp('stack', () => tidy(() => concat(xs.map((t) => unsqueeze(t, d)), d)));
}

/** Splits along `dim` into pieces of `sizes` (an array) or of `size` each (last may be smaller). Views. */
export function split(x: Tensor, sizes: number | readonly number[], dim = 0): Tensor[] {
  checkTensor('split', 'x', x);
  atLeast1d('split', x);
  const d = normDim('split', dim, x.ndim);
  const n = x.shape[d];
  let list: number[];
  if (typeof sizes === 'number') {
    intArg('split', 'size', sizes, 1);
    list = [];
    for (let s = 0; s < n; s += sizes) list.push(Math.min(sizes, n - s));
  } else {
    list = [...intList('split', 'sizes', sizes)];
    const sum = list.reduce((a, b) => a + b, 0);
    if (sum !== n) throw new Error(`[split] sizes [${list.join(', ')}] sum to ${sum}, but dim ${d} has ${n}`);
  }
  let at = 0;
  return list.map((len) => {
    const s = slice(x, d, at, at + len);
    at += len;
    return s;
  });
}

/** Splits into `n` nearly equal chunks along `dim`. Views. */
export function chunk(x: Tensor, n: number, dim = 0): Tensor[] {
  checkTensor('chunk', 'x', x);
  atLeast1d('chunk', x);
  const d = normDim('chunk', dim, x.ndim);
  intArg('chunk', 'n', n, 1);
  return asOp('chunk', () => split(x, Math.max(1, Math.ceil(x.shape[d] / n)), d));
}

/**
 * Pads the last dims: `pads` = [left, right] for the last dim, then [left, right] for the one
 * before, ... (PyTorch F.pad order). mode 'constant' (value) or 'reflect' (pad < dim size).
 */
export function pad(x: Tensor, pads: readonly number[], mode: 'constant' | 'reflect' = 'constant', value = 0): Tensor {
  checkTensor('pad', 'x', x);
  intList('pad', 'pads', pads);
  if (mode !== 'constant' && mode !== 'reflect') throw new Error(`[pad] mode must be 'constant' or 'reflect', got ${describe(mode)}`);
  numArg('pad', 'value', value);
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) throw new Error(`[pad] pads must hold (left, right) pairs for at most ${x.ndim} dims, got [${pads.join(', ')}]`);
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`[pad] pads must be integers >= 0, got [${pads.join(', ')}]`);
  return asOp('pad', () => tidy(() => padImpl(x, pads, mode, value)));
}

function padImpl(x: Tensor, pads: readonly number[], mode: string, value: number): Tensor {
  let y = x;
  for (let k = 0; k < pads.length / 2; ++k) {
    const d = x.ndim - 1 - k;
    const [l, r] = [pads[2 * k], pads[2 * k + 1]];
    if (l === 0 && r === 0) continue;
    const n = y.shape[d];
    const parts: Tensor[] = [];
    if (mode === 'reflect') {
      if (l >= n || r >= n) throw new Error(`[pad] reflect padding (${l}, ${r}) must be smaller than dim ${d} of size ${n}`);
      if (l) parts.push(flip(slice(y, d, 1, l + 1), d));
      parts.push(y);
      if (r) parts.push(flip(slice(y, d, n - 1 - r, n - 1), d));
    } else if (mode === 'constant') {
      const side = (len: number) => {
        const s = [...y.shape];
        s[d] = len;
        return wrap(native.fill(s, value, y.dtype, y.device, recycled()));
      };
      if (l) parts.push(side(l));
      parts.push(y);
      if (r) parts.push(side(r));
    } else {
      throw new Error(`[pad] mode must be 'constant' or 'reflect', got '${String(mode)}'`);
    }
    y = concat(parts, d);
  }
  return y;
}

/** Tiles x: `reps[i]` copies along dim i (reps may have more dims than x). */
export function repeat(x: Tensor, reps: readonly number[]): Tensor {
  checkTensor('repeat', 'x', x);
  intList('repeat', 'reps', reps);
  if (reps.length < x.ndim) throw new Error(`[repeat] reps [${reps.join(', ')}] has fewer entries than x has dims (${x.ndim})`);
  return asOp('repeat', () => tidy(() => repeatImpl(x, reps)));
}

function repeatImpl(x: Tensor, reps: readonly number[]): Tensor {
  const xs = reshape(x, [...new Array(reps.length - x.ndim).fill(1), ...x.shape]);
  // (.., d, ..) -> (.., r, d, ..) by expand, then merge: a copy through reshape.
  const inter: number[] = [];
  const exp: number[] = [];
  xs.shape.forEach((d, i) => {
    inter.push(1, d);
    exp.push(reps[i], d);
  });
  const e = expand(reshape(xs, inter), exp);
  return reshape(contiguous(e), xs.shape.map((d, i) => d * reps[i]));
}
