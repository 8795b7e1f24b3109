/**
 * creation.ts — making tensors: tensor, fromTypedArray, zeros, ones, full, arange, rand, randn.
 *
 * Random numbers come from Philox4x32-10 keyed by a seed (native/core/philox.h): the same seed
 * gives the same tensor on cpu and cuda. Without an explicit `seed`, calls draw from a global
 * generator (seed 0 until manualSeed()) whose counter advances with each call.
 */
import { native } from '../native';
import { resolveDevice } from './device';
import { describe, recycled, Tensor } from './tensor';
import { DType, Device, isDType, Shape } from './types';

/** Options shared by the creation functions. */
export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

/** Options of rand/randn. */
export interface RandomOptions extends CreateOptions {
  /** Seed for this call only (integer >= 0 or BigInt < 2^64); the global generator is not advanced. */
  seed?: number | bigint;
}

function dtypeOf(op: string, d: DType | undefined, fallback: DType): DType {
  if (d === undefined) return fallback;
  if (!isDType(d)) throw new Error(`[${op}] unknown dtype '${String(d)}'; expected float32, bfloat16 or int32`);
  return d;
}

function shapeOf(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw new Error(`[${op}] shape must be an array of integers, got ${describe(shape)}`);
  for (let i = 0; i < shape.length; ++i) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new Error(`[${op}] shape dims must be integers >= 0, got ${describe(d)} at dim ${i} of [${shape.join(', ')}]`);
    }
  }
  return shape as number[];
}

/** Infers the shape of nested arrays and flattens them; throws on ragged input. */
function flatten(op: string, data: unknown[]): { flat: number[]; shape: number[] } {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const flat: number[] = [];
  const walk = (x: unknown, dim: number, where: string): void => {
    if (dim === shape.length) {
      if (typeof x !== 'number' && typeof x !== 'boolean') {
        throw new Error(`[${op}] data must hold numbers, got ${describe(x)} at ${where || 'top level'}`);
      }
      flat.push(Number(x));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) {
      throw new Error(`[${op}] ragged nested array: expected ${shape[dim]} items at ${where || 'top level'}, got ${Array.isArray(x) ? x.length : describe(x)}`);
    }
    for (let i = 0; i < x.length; ++i) walk(x[i], dim + 1, `${where}[${i}]`);
  };
  walk(data, 0, '');
  return { flat, shape };
}

/**
 * A tensor holding a copy of `data`: a (nested) array of numbers or a typed array, with an
 * optional `shape` (inferred from nesting; 1-D for flat data). dtype defaults to int32 for an
 * Int32Array, else float32. Example: `tensor([[1, 2], [3, 4]])` is (2, 2) float32.
 */
export function tensor(data: ArrayLike<number> | unknown[], shape?: Shape, opts: CreateOptions = {}): Tensor {
  const op = 'tensor';
  let view: ArrayBufferView;
  let inferred: number[];
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    view = unshared(data);
    inferred = [(data as unknown as ArrayLike<number>).length];
  } else if (Array.isArray(data)) {
    const { flat, shape: s } = flatten(op, data);
    view = new Float64Array(flat);
    inferred = s;
  } else if (typeof data === 'number') {
    view = new Float64Array([data]);
    inferred = [];
  } else {
    throw new Error(`[${op}] data must be an array of numbers or a typed array, got ${describe(data)}`);
  }
  const dims = shape === undefined ? inferred : shapeOf(op, shape);
  opts = optionsOf(op, opts);
  const isInt = view instanceof Int32Array || Object.prototype.toString.call(view) === '[object Int32Array]';
  const dtype = dtypeOf(op, opts.dtype, isInt ? 'int32' : 'float32');
  const device = resolveDevice(op, opts.device);
  return new Tensor(native.fromTypedArray(view, dims, dtype, device, true, recycled()), opts.requiresGrad ?? false);
}

/**
 * A CPU tensor over `data`'s memory without copying when that is safe (CPU, float32 from a
 * Float32Array or int32 from an Int32Array, `copy` not set): later writes to `data` show in the
 * tensor, as with torch.from_numpy. Detaching the buffer (transferring it) makes the tensor
 * unusable (its ops throw). On another device or dtype the data is converted and copied.
 */
export function fromTypedArray(
  data: Float32Array | Int32Array | ArrayBufferView,
  shape?: Shape,
  opts: CreateOptions & { copy?: boolean } = {},
): Tensor {
  const op = 'fromTypedArray';
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new Error(`[${op}] data must be a typed array, got ${describe(data)}`);
  }
  opts = optionsOf(op, opts);
  const isInt = isKind(data, 'Int32Array');
  const dtype = dtypeOf(op, opts.dtype, isInt ? 'int32' : 'float32');
  const device = resolveDevice(op, opts.device);
  const dims = shape === undefined ? [(data as unknown as ArrayLike<number>).length] : shapeOf(op, shape);
  const copy = opts.copy ?? false;
  const borrows = !copy && device === 'cpu' && (dtype === 'float32' ? isKind(data, 'Float32Array') : dtype === 'int32' && isInt);
  if (borrows && typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer) {
    throw new Error(`[${op}] data is a view of a SharedArrayBuffer, which cannot be shared with a tensor; pass { copy: true }`);
  }
  // A resizable buffer can shrink under a tensor that shares it (resize(0) frees the pages).
  if (borrows && (data.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true) {
    throw new Error(`[${op}] data is a view of a resizable ArrayBuffer, which may shrink under a tensor sharing its memory; ` +
      'pass { copy: true } or use a fixed-size buffer');
  }
  return new Tensor(named(op, () => native.fromTypedArray(borrows ? data : unshared(data), dims, dtype, device, copy, recycled())), opts.requiresGrad ?? false);
}

/** A view of a SharedArrayBuffer as a copy over a plain ArrayBuffer (the addon reads only those). */
function unshared<T extends ArrayBufferView>(v: T): T {
  if (typeof SharedArrayBuffer === 'undefined' || !(v.buffer instanceof SharedArrayBuffer)) return v;
  const C = v.constructor as unknown as { new (a: ArrayLike<number> | ArrayBufferView): T };
  return new C(v as unknown as ArrayLike<number>);
}

function isKind(x: unknown, name: string): boolean {
  return Object.prototype.toString.call(x) === `[object ${name}]`;
}

/** Options as given: undefined is {}; anything but an object is an error naming `op`. */
function optionsOf<T extends object>(op: string, o: T | undefined | null): T {
  if (o === undefined) return {} as T;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error(`[${op}] options must be an object, got ${describe(o)}`);
  return o;
}

/** Runs an addon call for `op`: the addon names some creation calls by their family ('[full]', '[tensor]'). */
function named<R>(op: string, fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    // Duck-typed: errors made by the addon belong to the main realm (instanceof fails under jest's vm).
    if (e !== null && typeof e === 'object' && typeof (e as Error).message === 'string') {
      (e as Error).message = (e as Error).message.replace(/^\[(full|tensor)\] /, `[${op}] `);
    }
    throw e;
  }
}

function fill(op: string, shape: Shape, value: number, opts: CreateOptions | undefined): Tensor {
  const dims = shapeOf(op, shape);
  const o = optionsOf(op, opts);
  if (typeof value !== 'number') throw new Error(`[${op}] value must be a number, got ${describe(value)}`);
  const dtype = dtypeOf(op, o.dtype, 'float32');
  const device = resolveDevice(op, o.device);
  return new Tensor(named(op, () => native.fill(dims, value, dtype, device, recycled())), o.requiresGrad ?? false);
}

/** A tensor of `shape` with every element `value`. dtype float32 unless given. */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  return fill('full', shape, value, opts);
}

/** Zeros of `shape`. */
export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return fill('zeros', shape, 0, opts);
}

/** Ones of `shape`. */
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return fill('ones', shape, 1, opts);
}

/**
 * 1-D tensor [start, start + step, ...) stopping before `end`, as Python's range:
 * `arange(5)`, `arange(2, 10, 3)`. dtype int32 when start, end and step are integers, else
 * float32 (or as given).
 */
export function arange(startOrEnd: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  let start = startOrEnd;
  if (end === undefined) {
    end = startOrEnd;
    start = 0;
  }
  opts = optionsOf('arange', opts);
  for (const [k, v] of [['start', start], ['end', end], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`[arange] ${k} must be a finite number, got ${describe(v)}`);
  }
  if (step === 0) throw new Error('[arange] step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (!(n <= Number.MAX_SAFE_INTEGER)) {
    throw new Error(`[arange] (${end} - ${start}) / ${step} gives ${n} elements; a tensor holds at most 2^53 - 1`);
  }
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = dtypeOf('arange', opts.dtype, allInt ? 'int32' : 'float32');
  return new Tensor(native.arange(start, step, n, dtype, resolveDevice('arange', opts.device), recycled()), opts.requiresGrad ?? false);
}

// Global generator: key = globalSeed, counter offset advances by one Philox block per 4 values.
let globalSeed: bigint = 0n;
let globalOffset: bigint = 0n;

/** Seeds the global generator used by rand/randn calls without their own `seed`. */
export function manualSeed(seed: number | bigint): void {
  globalSeed = seedOf('manualSeed', seed);
  globalOffset = 0n;
}

/** The global generator's position: Philox key `seed` and counter `offset` (decimal strings, since
 *  both are 64-bit). Saved by training checkpoints so a resumed run draws the same numbers. */
export interface RngState {
  seed: string;
  offset: string;
}

/** The global generator's state now (see RngState). */
export function getRngState(): RngState {
  return { seed: globalSeed.toString(), offset: globalOffset.toString() };
}

/** Restores a state from getRngState(): later rand/randn/dropout draws continue from there. */
export function setRngState(state: RngState): void {
  const big = (k: 'seed' | 'offset'): bigint => {
    const v = state && typeof state === 'object' ? state[k] : undefined;
    if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || BigInt(v) >= 1n << 64n) {
      throw new Error(`[setRngState] ${k} must be a decimal string of an integer in [0, 2^64), got ${describe(v)}`);
    }
    return BigInt(v);
  };
  const seed = big('seed');
  const offset = big('offset');
  globalSeed = seed;
  globalOffset = offset;
}

function seedOf(op: string, seed: number | bigint): bigint {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw new Error(`[${op}] seed must be in [0, 2^64), got ${seed}`);
    return seed;
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`[${op}] seed must be an integer >= 0 (or a BigInt), got ${describe(seed)}`);
  }
  return BigInt(seed);
}

function random(kind: 0 | 1, op: string, shape: Shape, opts: RandomOptions): Tensor {
  const dims = shapeOf(op, shape);
  opts = optionsOf(op, opts);
  const dtype = dtypeOf(op, opts.dtype, 'float32');
  if (dtype === 'int32') throw new Error(`[${op}] dtype must be float32 or bfloat16, got int32`);
  const device = resolveDevice(op, opts.device);
  let seed: bigint;
  let offset: bigint;
  if (opts.seed !== undefined) {
    seed = seedOf(op, opts.seed);
    offset = 0n;
  } else {
    seed = globalSeed;
    offset = globalOffset;
    let n = 1;
    for (const d of dims) n *= d;
    globalOffset += BigInt(Math.ceil(n / 4));
  }
  return new Tensor(native.random(kind, dims, seed, offset, dtype, device, recycled()), opts.requiresGrad ?? false);
}

/** Uniform [0, 1) samples of `shape` (float32 or bfloat16). Same seed, same values on cpu and cuda. */
export function rand(shape: Shape, opts: RandomOptions = {}): Tensor {
  return random(0, 'rand', shape, opts);
}

/** Standard normal samples of `shape` (Box-Muller over Philox). Same seed, same values on cpu and cuda. */
export function randn(shape: Shape, opts: RandomOptions = {}): Tensor {
  return random(1, 'randn', shape, opts);
}

/**
 * @internal (seed, offset) for an op drawing `numel` Philox values (dropout): the explicit `seed`
 * with offset 0, else the global generator's, advancing it as rand() does, so manualSeed() makes
 * such ops reproducible.
 */
export function nextSeedOffset(numel: number, op = 'random', seed?: number | bigint): { seed: bigint; offset: bigint } {
  if (seed !== undefined) return { seed: seedOf(op, seed), offset: 0n };
  const r = { seed: globalSeed, offset: globalOffset };
  globalOffset += BigInt(Math.ceil(numel / 4));
  return r;
}
