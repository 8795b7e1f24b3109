/**
 * sequence.ts — helpers for right-padded batches with lengths.
 *
 * flipWithinLengths reverses each item's first lengths[b] steps along the time dim and leaves
 * its padding where it is (at the end), so a reversed padded batch is still a valid padded
 * batch — unlike flip(), which would move the padding to the front.
 */
import { concat, flip, slice } from '../ops/shape';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';

/** Valid steps per batch item: Int32Array, number[] or an int32 Tensor (B). */
export type Lengths = Int32Array | readonly number[] | Tensor;

/** lengths as plain numbers (reads an int32 Tensor back). */
export function lengthsArray(op: string, lengths: Lengths, batch: number, max: number): number[] {
  const v = lengths instanceof Tensor ? Array.from(lengths.dataSync()) : Array.from(lengths as ArrayLike<number>);
  if (v.length !== batch) throw new Error(`[${op}] lengths must have ${batch} entries, got ${v.length}`);
  v.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`[${op}] lengths[${i}] = ${n} is outside [0, ${max}]`);
  });
  return v;
}

/** x (B, ..., L at `dim`, ...) with each item's valid steps reversed; padding stays at the end. */
export function flipWithinLengths(x: Tensor, lengths: Lengths | null, dim: number): Tensor {
  if (lengths === null) return flip(x, dim);
  const L = x.shape[dim];
  const lens = lengthsArray('flipWithinLengths', lengths, x.shape[0], L);
  if (lens.every((n) => n === L)) return flip(x, dim);
  return tidy(() => concat(lens.map((n, b) => {
    const item = slice(x, 0, b, b + 1);
    if (n === 0) return item;
    const valid = flip(slice(item, dim, 0, n), dim);
    return n === L ? valid : concat([valid, slice(item, dim, n, L)], dim);
  }), 0));
}
