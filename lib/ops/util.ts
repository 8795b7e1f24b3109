/** util.ts — small helpers shared by the op files: argument checks, dims, wrapping handles. */
import { NativeHandle } from '../native';
import { describe, recycled, Tensor } from '../tensor/tensor';

/** Wraps a native handle made by an op. */
export function wrap(h: NativeHandle): Tensor {
  return new Tensor(h);
}

/**
 * Wraps a fresh (contiguous) op output with the shape, dtype and device of `like` (elementwise
 * ops whose output matches an input), priming the meta and layout caches: reading them from a
 * fresh handle is a native call each that builds JS arrays (~0.5-1 us; elementwise chains and
 * autograd's saved aliases read every output's shape and layout once).
 */
export function wrapLike(h: NativeHandle, like: Tensor, dtype = like.dtype): Tensor {
  return new Tensor(h)._primeMeta(like.shape, dtype, like.device, true);
}

export { recycled };

/** Throws `[op] what must be a Tensor` unless `t` is a live one (not disposed). */
export function checkTensor(op: string, what: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`[${op}] ${what} must be a Tensor, got ${describe(t)}`);
  if (t.isDisposed) throw new Error(`[${op}] ${what} was disposed; it cannot be used after dispose()`);
  return t;
}

/** An optional Tensor argument: null for undefined/null, else checked as by checkTensor. */
export function optionalTensor(op: string, what: string, t: unknown): Tensor | null {
  return t === undefined || t === null ? null : checkTensor(op, what, t);
}

/** A non-empty array of live tensors. */
export function tensorList(op: string, what: string, xs: unknown): Tensor[] {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error(`[${op}] ${what} must be a non-empty array of tensors, got ${describe(xs)}`);
  xs.forEach((t, i) => checkTensor(op, `${what}[${i}]`, t));
  return xs as Tensor[];
}

/** An integer in [min, max]. */
export function intArg(op: string, what: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = min === -Infinity && max === Infinity ? '' : max === Infinity ? ` >= ${min}` : ` in [${min}, ${max}]`;
    throw new Error(`[${op}] ${what} must be an integer${range}, got ${describe(v)}`);
  }
  return v;
}

/** A number (any, NaN included unless `finite`). */
export function numArg(op: string, what: string, v: unknown, finite = false): number {
  if (typeof v !== 'number' || (finite && !Number.isFinite(v))) throw new Error(`[${op}] ${what} must be a ${finite ? 'finite ' : ''}number, got ${describe(v)}`);
  return v;
}

/** An array of integers >= `min` (shapes: 0; reshape targets: -1). */
export function intList(op: string, what: string, v: unknown, min = 0): number[] {
  if (!Array.isArray(v)) throw new Error(`[${op}] ${what} must be an array of integers, got ${describe(v)}`);
  for (let i = 0; i < v.length; ++i) {
    const d = v[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < min) {
      throw new Error(`[${op}] ${what} must hold integers >= ${min}, got ${describe(d)} at ${i}`);
    }
  }
  return v as number[];
}

/** An options object: undefined gives {}; anything but a plain object is an error. */
export function optionsArg<T extends object>(op: string, v: T | undefined | null): T {
  if (v === undefined) return {} as T;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`[${op}] options must be an object, got ${describe(v)}`);
  return v;
}

/**
 * Runs `fn` as op `op`: an error an inner op raised ('[slice] ...' inside narrow) is re-raised
 * under `op` ('[narrow] ...'), so the message names the call the user made.
 */
export function asOp<R>(op: string, fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    // Duck-typed: errors made by the addon belong to the main realm (instanceof fails under jest's vm).
    if (e !== null && typeof e === 'object' && typeof (e as Error).message === 'string') {
      const err = e as Error;
      const m = /^\[([^\]\s]+)\] /.exec(err.message);
      if (m && m[1] !== op) err.message = `[${op}] ${err.message.slice(m[0].length)}`;
    }
    throw e;
  }
}

/** A dim in [-ndim, ndim) as a non-negative index. */
export function normDim(op: string, dim: number, ndim: number): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new Error(`[${op}] dim must be an integer, got ${describe(dim)}`);
  const d = dim < 0 ? dim + ndim : dim;
  if (d < 0 || d >= Math.max(ndim, 1)) {
    throw new Error(`[${op}] dim ${dim} is out of range for a tensor with ${ndim} dims (expected in [${-Math.max(ndim, 1)}, ${Math.max(ndim, 1) - 1}])`);
  }
  return d;
}

/** Sorted unique non-negative dims; undefined/null means all dims. */
export function normDims(op: string, dims: number | readonly number[] | undefined | null, ndim: number): number[] {
  if (dims === undefined || dims === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : intList(op, 'dims', dims, -Infinity);
  const out = [...new Set(list.map((d) => normDim(op, d, ndim)))].sort((a, b) => a - b);
  if (out.length !== list.length) throw new Error(`[${op}] dims repeat: [${list.join(', ')}]`);
  return out;
}

export function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) return false;
  return true;
}

export function shapeStr(s: readonly number[]): string {
  return `(${s.join(', ')})`;
}

/** @internal Row-major strides for `shape` (size-1 dims free), as the native is_contiguous. */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; --i) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}
