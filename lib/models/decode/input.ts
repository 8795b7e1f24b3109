/**
 * input.ts — the host-side view of CTC log-probabilities that every decoder and the forced
 * aligner read, plus the `collapse` rule of CTC.
 *
 * Glossary:
 *   B, T, V     utterances, frames, classes (blank included); logProbs (B, T, V) row-major
 *   blank       the class that emits nothing (index 0 by the project's convention)
 *   lengths     valid frames per utterance (padding on the right); frames >= lengths[b] are
 *               never read, so their content cannot change a result
 *   collapse    CTC's many-to-one map: merge runs of the same class, then drop blanks
 *               ([a a - a b b] -> [a a b] with '-' the blank)
 *
 * A Tensor is read once with dataSync() (a sync on cuda; bfloat16 arrives widened to float32);
 * decoding itself is plain TypeScript over the typed array, accumulating in float64.
 */
import { Tensor } from '../../tensor/tensor';
import type { Lengths } from '../../ops/selective_scan';

/** Log-probabilities already on the host: `data` row-major with `shape` (B, T, V) or (T, V). */
export interface HostLogProbs {
  data: Float32Array | Float64Array;
  shape: readonly number[];
}

/** What the decoders accept: a float Tensor on any device, or host values with their shape. */
export type LogProbsInput = Tensor | HostLogProbs;

/** The values of a (B, T, V) input on the host with checked valid lengths. */
export interface LogProbsView {
  data: Float32Array | Float64Array;
  B: number;
  T: number;
  V: number;
  lengths: Int32Array;
}

function shapeStr(s: readonly number[]): string {
  return `(${s.join(', ')})`;
}

/**
 * Reads `logProbs` (B, T, V) — or (T, V) when `allowRank2`, taken as B = 1 — once onto the host
 * and resolves `lengths` (default T for every utterance). Throws `[op] ...` on a wrong rank or
 * dtype, a data length that does not match the shape, lengths out of [0, T], or a NaN or +Infinity
 * inside the valid frames (a NaN makes every comparison false and would silently pick class 0).
 */
export function readLogProbs(op: string, logProbs: LogProbsInput, lengths: Lengths | undefined, allowRank2: boolean): LogProbsView {
  let data: Float32Array | Float64Array;
  let shape: readonly number[];
  if (logProbs instanceof Tensor) {
    if (logProbs.dtype === 'int32') throw new Error(`[${op}] logProbs must be a float tensor, got int32`);
    shape = logProbs.shape;
    checkRank(op, shape, allowRank2);
    data = logProbs.dataSync() as Float32Array;
  } else if (logProbs !== null && typeof logProbs === 'object' && ArrayBuffer.isView(logProbs.data) && Array.isArray(logProbs.shape)) {
    const d = logProbs.data as unknown;
    // ArrayBuffer.isView + constructor name, not instanceof: arrays from another realm (jest, workers).
    const name = (d as { constructor?: { name?: string } }).constructor?.name;
    if (name !== 'Float32Array' && name !== 'Float64Array') {
      throw new Error(`[${op}] logProbs.data must be a Float32Array or Float64Array, got ${String(name)}`);
    }
    data = logProbs.data;
    shape = logProbs.shape;
    checkRank(op, shape, allowRank2);
    const n = shape.reduce((p, x) => p * x, 1);
    if (data.length !== n) throw new Error(`[${op}] logProbs.data has ${data.length} values but shape ${shapeStr(shape)} needs ${n}`);
  } else {
    throw new Error(`[${op}] logProbs must be a Tensor or { data: Float32Array | Float64Array, shape }, got ${describe(logProbs)}`);
  }
  const [B, T, V] = shape.length === 3 ? shape : [1, shape[0], shape[1]];
  if (V < 1) throw new Error(`[${op}] logProbs needs at least one class, got shape ${shapeStr(shape)}`);
  const lens = readLengths(op, lengths, B, T);
  for (let b = 0; b < B; ++b) {
    const end = (b * T + lens[b]) * V;
    for (let i = b * T * V; i < end; ++i) {
      const x = data[i];
      if (x !== x || x === Infinity) {
        const t = Math.floor((i - b * T * V) / V);
        throw new Error(`[${op}] logProbs has ${x} at utterance ${b}, frame ${t}, class ${i % V}; expected finite values or -Infinity`);
      }
    }
  }
  return { data, B, T, V, lengths: lens };
}

function checkRank(op: string, shape: readonly number[], allowRank2: boolean): void {
  const ok = shape.length === 3 || (allowRank2 && shape.length === 2);
  if (!ok) {
    const want = allowRank2 ? '(B, T, V) or (T, V)' : '(B, T, V)';
    throw new Error(`[${op}] logProbs must have shape ${want}, got ${shapeStr(shape)}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`[${op}] logProbs shape must hold non-negative integers, got ${shapeStr(shape)}`);
  }
}

/** Valid lengths as an Int32Array of B entries in [0, T] (undefined: T for every utterance). */
export function readLengths(op: string, lengths: Lengths | undefined, B: number, T: number, what = 'lengths'): Int32Array {
  if (lengths === undefined) return new Int32Array(B).fill(T);
  let arr: ArrayLike<number>;
  if (lengths instanceof Tensor) {
    if (lengths.ndim !== 1) throw new Error(`[${op}] ${what} must be a 1-D tensor (B), got shape ${shapeStr(lengths.shape)}`);
    arr = lengths.dataSync();
  } else if (Array.isArray(lengths) || (ArrayBuffer.isView(lengths) && !(lengths instanceof DataView))) {
    arr = lengths as ArrayLike<number>;
  } else {
    throw new Error(`[${op}] ${what} must be an Int32Array, number[] or int32 tensor, got ${describe(lengths)}`);
  }
  if (arr.length !== B) throw new Error(`[${op}] ${what} must have B = ${B} entries, got ${arr.length}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; ++b) {
    const x = arr[b];
    if (!Number.isInteger(x) || x < 0 || x > T) throw new Error(`[${op}] ${what}[${b}] must be an integer in [0, ${T}], got ${x}`);
    out[b] = x;
  }
  return out;
}

/** Checks `blank` is a class index in [0, V). */
export function checkBlank(op: string, blank: number, V: number): void {
  if (!Number.isInteger(blank) || blank < 0 || blank >= V) throw new Error(`[${op}] blank must be an integer in [0, ${V}), got ${blank}`);
}

/** A short description of a bad argument for error messages. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `array of ${x.length}`;
  if (ArrayBuffer.isView(x)) return (x as { constructor: { name: string } }).constructor.name;
  if (typeof x === 'object') return (x as { constructor?: { name?: string } }).constructor?.name ?? 'object';
  return typeof x;
}

/**
 * CTC collapse of a frame-label sequence (T) → token ids: merges runs of the same label, then
 * drops `blank` (default 0). `collapse([1, 1, 0, 1, 2, 2]) = [1, 1, 2]`.
 */
export function collapse(frames: ArrayLike<number>, blank = 0): number[] {
  const out: number[] = [];
  let prev = -1;
  for (let t = 0; t < frames.length; ++t) {
    const c = frames[t];
    if (c !== prev && c !== blank) out.push(c);
    prev = c;
  }
  return out;
}
