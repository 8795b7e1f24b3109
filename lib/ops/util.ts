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

/** Throws `[op] what must be a Tensor` unless `t` is one. */
export function checkTensor(op: string, what: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`[${op}] ${what} must be a Tensor, got ${describe(t)}`);
  return t;
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
  const list = typeof dims === 'number' ? [dims] : dims;
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
