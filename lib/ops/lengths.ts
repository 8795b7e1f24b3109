/**
 * lengths.ts — the one parser of per-item valid lengths (right padding), shared by every op and
 * layer that takes them: selectiveScan, causalConv1d, ctcLoss, attention, the nn encoder layers
 * and front ends.
 *
 * Glossary: B = batch size; max = the padded length the values index (L, T, Lk or Lq); a length
 * n says steps 0..n-1 of an item are valid.
 *
 * Host lengths (Int32Array, number[], any typed array) are checked here: exactly B entries, each
 * an integer in [0, max] (`maxName` names max in messages: L, T, S, Lk, Lq). A value such as 2^32 + 1 is an error, never wrapped into an int32 (it
 * acted as 1 in three ops before this parser). An int32 tensor is checked for dtype and shape;
 * its values are checked by the addon, where a CUDA tensor is read without a host round trip.
 */
import { tensor } from '../tensor/creation';
import { describe, Tensor } from '../tensor/tensor';
import type { Device } from '../tensor/types';

/** Lengths as users pass them: an Int32Array (or number array) or an int32 tensor (B). */
export type Lengths = Int32Array | readonly number[] | Tensor;

function isHostArray(x: unknown): x is ArrayLike<number> {
  // ArrayBuffer.isView, not instanceof: typed arrays from another realm (jest, workers) fail instanceof.
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView) && !isBigIntArray(x));
}

function isBigIntArray(x: unknown): boolean {
  const tag = Object.prototype.toString.call(x);
  return tag === '[object BigInt64Array]' || tag === '[object BigUint64Array]';
}

function checkTensor(op: string, name: string, x: Tensor, batch: number): void {
  if (x.dtype !== 'int32') throw new Error(`[${op}] ${name} must be int32, got ${x.dtype}`);
  if (x.ndim !== 1 || x.shape[0] !== batch) {
    throw new Error(`[${op}] ${name} must have shape (B) = (${batch}), got (${x.shape.join(', ')})`);
  }
}

function checkValues(op: string, name: string, v: ArrayLike<number>, batch: number, max: number, maxName: string): Int32Array {
  if (v.length !== batch) throw new Error(`[${op}] ${name} must have B = ${batch} entries, got ${v.length}`);
  const out = new Int32Array(batch);
  for (let i = 0; i < batch; ++i) {
    const n = v[i];
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      throw new Error(`[${op}] ${name}[${i}] = ${describeValue(n)} must be an integer in [0, ${bound(max, maxName)}]`);
    }
    // The addon's wording for tensor lengths, so both forms read alike.
    if (n < 0 || n > max) throw new Error(`[${op}] ${name}[${i}] = ${n} is outside [0, ${bound(max, maxName)}]`);
    out[i] = n;
  }
  return out;
}

function bound(max: number, maxName: string): string {
  return maxName ? `${maxName} = ${max}` : String(max);
}

function describeValue(n: unknown): string {
  return typeof n === 'number' ? String(n) : describe(n);
}

/**
 * Lengths read to the host and checked: B integers in [0, max] (named `maxName` in errors) (an int32 tensor is read back;
 * on CUDA that synchronises). For layers that build masks or slices from the values.
 */
export function lengthsArray(op: string, name: string, x: Lengths, batch: number, max: number, maxName = 'L'): Int32Array {
  if (x instanceof Tensor) {
    checkTensor(op, name, x, batch);
    return checkValues(op, name, x.dataSync(), batch, max, maxName);
  }
  if (isHostArray(x)) return checkValues(op, name, x, batch, max, maxName);
  throw new Error(`[${op}] ${name} must be an Int32Array, a number array or an int32 Tensor, got ${describe(x)}`);
}

/**
 * Lengths as an int32 tensor (B) for a native op. Host lengths are checked here and become a new
 * tensor on `device` (`own`: the caller disposes it); an int32 tensor of shape (B) is passed as
 * it is and its values are checked by the addon. null/undefined give { t: null }.
 */
export function lengthsTensor(op: string, name: string, x: Lengths | null | undefined,
  batch: number, max: number, maxName = 'L', device: Device = 'cpu'): { t: Tensor | null; own: boolean } {
  if (x === undefined || x === null) return { t: null, own: false };
  if (x instanceof Tensor) {
    checkTensor(op, name, x, batch);
    return { t: x, own: false };
  }
  const ints = lengthsArray(op, name, x, batch, max, maxName);
  return { t: tensor(ints, [batch], { device, dtype: 'int32' }), own: true };
}
