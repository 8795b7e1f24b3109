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
import { Lengths, lengthsArray } from '../ops/lengths';

export type { Lengths } from '../ops/lengths';

/** x (B, ..., L at `dim`, ...) with each item's valid steps reversed; padding stays at the end. */
export function flipWithinLengths(x: Tensor, lengths: Lengths | null, dim: number): Tensor {
  if (lengths === null) return flip(x, dim);
  const L = x.shape[dim];
  const lens = Array.from(lengthsArray('flipWithinLengths', 'lengths', lengths, x.shape[0], L));
  if (lens.every((n) => n === L)) return flip(x, dim);
  return tidy(() => concat(lens.map((n, b) => {
    const item = slice(x, 0, b, b + 1);
    if (n === 0) return item;
    const valid = flip(slice(item, dim, 0, n), dim);
    return n === L ? valid : concat([valid, slice(item, dim, n, L)], dim);
  }), 0));
}
