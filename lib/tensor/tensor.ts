/**
 * tensor.ts — the Tensor class: a typed handle on native memory (CPU or CUDA).
 *
 * Ownership: a Tensor owns one native handle. dispose() frees the memory at once; a tensor
 * forgotten without dispose() is freed after V8 collects it (FinalizationRegistry), and the
 * native bytes are reported to V8 so that forgetting many large tensors makes GC run.
 * Tensors are immutable: ops return new tensors.
 */
import { constants as bufferConstants } from 'buffer';

import { native, NativeHandle } from '../native';
import { registerTensorClass, setEscapeHandler, track, untrack } from './scope';
import type { GradNode } from '../autograd/tape';
import { DType, Device, isDType, isDevice, Shape, TypedData } from './types';

// Forgotten tensors: the registry holds the handle (not the Tensor) and disposes it after the
// Tensor is collected. dispose() unregisters, so each handle is freed exactly once. A tensor
// made inside tidy is registered only if it leaves the last scope alive (scope.ts): the scope
// frees the others deterministically.
const registry = new FinalizationRegistry<NativeHandle>((h) => {
  h.dispose();
  release(h);
});

// Disposed handles kept for reuse. Creating a wrapped native object costs about 1 us, more than
// a small op; a loop that disposes what it made (tidy, training steps) reuses the same handles.
const handlePool: NativeHandle[] = [];
// Most elements a typed array may have in this Node (2^32 in Node 20 on 64-bit).
const MAX_TYPED_LENGTH = bufferConstants.MAX_LENGTH;
const POOL_MAX = 256;

function release(h: NativeHandle): void {
  if (handlePool.length < POOL_MAX) handlePool.push(h);
}

/** @internal A disposed handle for the addon to reuse, or undefined. Pass as an op's last argument. */
export function recycled(): NativeHandle | undefined {
  return handlePool.pop();
}

/** Options accepted by `to()`. */
export interface ToOptions {
  device?: Device;
  dtype?: DType;
}

export class Tensor {
  /** @internal The native handle; null after dispose(). */
  _h: NativeHandle | null;
  /** @internal Cached [shape, dtype, device], read from the handle on first use. */
  private _meta: [number[], DType, Device] | null = null;
  /** @internal Cached [strides, offset] (elements), read from the handle on first use. */
  private _layout: [number[], number] | null = null;
  /** Whether gradients are recorded for this tensor (used by autograd). */
  requiresGrad: boolean;
  /** Gradient accumulated by backward() for a leaf that requires grad; null before. */
  grad: Tensor | null = null;
  /** @internal The autograd node that made this tensor (null for leaves). */
  _node: GradNode | null = null;
  /** @internal Which output of `_node` this tensor is. */
  _outIndex = 0;
  /** @internal Registered with the finalization registry (not while a tidy scope owns it). */
  _registered = false;

  /**
   * @internal Tensors are made by creation functions and ops, not by `new`. `untracked` tensors
   * (autograd's saved aliases and gradients) are not recorded by tidy scopes.
   */
  constructor(handle: NativeHandle, requiresGrad = false, untracked = false) {
    if (!(handle instanceof native.TensorHandle)) {
      throw new Error('[Tensor] use tensor(), zeros(), randn(), ... to create tensors');
    }
    this._h = handle;
    this.requiresGrad = requiresGrad;
    // Autograd's own (untracked) tensors are disposed by the tape or become a leaf's grad through
    // keep(), which registers them; in an abandoned graph their handles' native destructors free
    // the memory when V8 collects them.
    if (!untracked && !track(this)) this._register();
  }

  /** @internal Registers the handle for freeing when this tensor is collected (once). */
  _register(): void {
    const h = this._h;
    if (this._registered || h === null) return;
    registry.register(this, h, this);
    this._registered = true;
  }

  /** True for a tensor no op made (a leaf of the autograd graph). */
  get isLeaf(): boolean {
    return this._node === null;
  }

  /**
   * Backpropagates from this tensor: adds d(this)/d(leaf) (times `grad`, default 1 for a
   * 1-element tensor) into `.grad` of every leaf that requires grad. See autograd.backward.
   */
  backward(grad?: Tensor, opts?: { retainGraph?: boolean }): void {
    if (backwardImpl === null) throw new Error('[backward] autograd is not loaded');
    backwardImpl(this, grad, opts);
  }

  /** A tensor sharing this one's memory, cut from the autograd graph (requiresGrad false). */
  detach(): Tensor {
    return this._sameView('detach');
  }

  /**
   * @internal A new handle over this tensor's memory with the same shape and layout (detach, and
   * autograd's saved aliases, which `untracked` keeps out of tidy scopes).
   */
  _sameView(op: string, untracked = false): Tensor {
    const h = this.handle(op);
    const [strides, offset] = this._layoutOf(op);
    const v = new Tensor(native.view(h, this.shape as number[], strides, offset, recycled()), false, untracked);
    v._primeView(this.shape, strides, offset, this.dtype, this.device);
    return v;
  }

  /**
   * @internal [strides, offset] in elements, read from the handle once (a handle's layout never
   * changes). The strides array is frozen and shared.
   */
  _layoutOf(op: string): [number[], number] {
    const h = this.handle(op);
    if (this._layout === null) {
      const [strides, offset] = native.layout(h);
      this._layout = [Object.freeze(strides) as number[], offset];
    }
    return this._layout;
  }

  /**
   * @internal Fills the caches of a view made in JS, whose shape, strides and offset the caller
   * gave native.view (which stores them as given): no round trip to read them back. Frozen
   * arrays (another tensor's caches) are shared, others copied.
   */
  _primeView(shape: readonly number[], strides: readonly number[], offset: number, dtype: DType, device: Device): void {
    const own = (a: readonly number[]): number[] => (Object.isFrozen(a) ? a : Object.freeze([...a])) as number[];
    this._meta = [own(shape), dtype, device];
    this._layout = [own(strides), offset];
  }

  /**
   * @internal Fills the meta cache of a new op output whose shape, dtype and device the caller
   * knows (a unary op's are its input's): no native round trip when they are first read; with
   * `contiguous`, the layout of a fresh row-major output too. Frozen shape arrays are shared,
   * others copied.
   */
  _primeMeta(shape: readonly number[], dtype: DType, device: Device, contiguous = false): this {
    const sh = (Object.isFrozen(shape) ? shape : Object.freeze([...shape])) as number[];
    this._meta = [sh, dtype, device];
    if (contiguous) {
      // A fresh op output: row-major strides, offset 0 (autograd's saved aliases read them).
      const strides = new Array<number>(sh.length);
      for (let i = sh.length - 1, s = 1; i >= 0; --i) {
        strides[i] = s;
        s *= sh[i];
      }
      this._layout = [Object.freeze(strides) as number[], 0];
    }
    return this;
  }

  /** Sets requiresGrad on a leaf in place and returns it (for parameters). */
  requiresGrad_(on = true): this {
    if (this._node !== null && !on) throw new Error('[requiresGrad_] cannot turn off grad on a non-leaf; use detach()');
    this.requiresGrad = on;
    return this;
  }

  /** @internal The live handle, or an error naming `op` when disposed. */
  handle(op: string): NativeHandle {
    const h = this._h;
    if (h === null) throw new Error(`[${op}] tensor was disposed; it cannot be used after dispose()`);
    return h;
  }

  private meta(op: string): [number[], DType, Device] {
    if (this._meta === null) {
      const m = this.handle(op).meta(op);
      Object.freeze(m[0]);
      this._meta = [m[0], m[1] as DType, m[2] as Device];
    } else if (this._h === null) {
      this.handle(op);
    }
    return this._meta;
  }

  /** Dims, e.g. [B, D, L]; [] for a scalar. Frozen. */
  get shape(): Shape {
    return this.meta('shape')[0];
  }
  /** Element type. */
  get dtype(): DType {
    return this.meta('dtype')[1];
  }
  /** 'cpu' or 'cuda'. */
  get device(): Device {
    return this.meta('device')[2];
  }
  /** Number of dims. */
  get ndim(): number {
    return this.meta('ndim')[0].length;
  }
  /** Number of elements (product of the shape). */
  get size(): number {
    let n = 1;
    for (const d of this.meta('size')[0]) n *= d;
    return n;
  }
  /** True once dispose() ran. */
  get isDisposed(): boolean {
    return this._h === null;
  }

  /**
   * A copy on another device and/or dtype: `t.to('cuda')`, `t.to('bfloat16')`,
   * `t.to({ device: 'cpu', dtype: 'float32' })`. Returns `this` when nothing changes.
   * Shape is kept; float -> int32 truncates toward zero and saturates.
   */
  to(target: Device | DType | ToOptions): Tensor {
    let device = this.device;
    let dtype = this.dtype;
    if (typeof target === 'string') {
      if (isDevice(target)) device = target;
      else if (isDType(target)) dtype = target;
      else throw new Error(`[to] unknown device or dtype '${target}'; expected cpu, cuda, float32, bfloat16 or int32`);
    } else if (target && typeof target === 'object') {
      if (target.device !== undefined) {
        if (!isDevice(target.device)) throw new Error(`[to] unknown device '${String(target.device)}'; expected 'cpu' or 'cuda'`);
        device = target.device;
      }
      if (target.dtype !== undefined) {
        if (!isDType(target.dtype)) throw new Error(`[to] unknown dtype '${String(target.dtype)}'; expected float32, bfloat16 or int32`);
        dtype = target.dtype;
      }
    } else {
      throw new Error('[to] expected a device, a dtype or { device, dtype }');
    }
    if (device === this.device && dtype === this.dtype) return this;
    const out = new Tensor(this.handle('to').to(dtype, device, recycled()));
    // Differentiable between float dtypes and across devices: the gradient goes back the same way.
    if (recordToImpl !== null && dtype !== 'int32' && this.dtype !== 'int32') recordToImpl(this, out);
    return out;
  }

  /**
   * Values as a new Float32Array (float32; bfloat16 widened) or Int32Array (int32), row-major.
   * Waits for queued GPU work. Throws `[dataSync] ...` when the values cannot fit in memory.
   */
  dataSync(): TypedData {
    const h = this.handle('dataSync');
    return h.dataSync(hostBuffer('dataSync', this.meta('dataSync')[0]));
  }

  /** Like dataSync(), but a CUDA read runs off the JS thread; resolves with the values. */
  data(): Promise<TypedData> {
    try {
      const h = this.handle('data');
      return h.data(hostBuffer('data', this.meta('data')[0]));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The single value of a 1-element tensor as a number. */
  item(): number {
    const n = this.size;
    if (n !== 1) throw new Error(`[item] tensor has ${n} elements ${shapeString(this.shape)}; item() needs exactly 1`);
    return this.dataSync()[0];
  }

  /** Values as nested arrays following the shape (a number for a scalar). */
  toArray(): unknown {
    const data = this.dataSync();
    const shape = this.shape;
    if (shape.length === 0) return data[0];
    const build = (dim: number, offset: number): unknown[] => {
      const n = shape[dim];
      const out: unknown[] = new Array(n);
      if (dim === shape.length - 1) {
        for (let i = 0; i < n; ++i) out[i] = data[offset + i];
        return out;
      }
      let stride = 1;
      for (let d = dim + 1; d < shape.length; ++d) stride *= shape[d];
      for (let i = 0; i < n; ++i) out[i] = build(dim + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }

  /**
   * Frees the native memory now, with this tensor's `.grad` (a leaf's accumulated gradient).
   * When it was the last live output of an autograd node that no later op uses, the node's
   * saved tensors are freed too (and so on upstream). Idempotent; any later use throws
   * `[op] tensor was disposed`.
   */
  dispose(): void {
    const h = this._h;
    if (h === null) return;
    this._h = null;
    const node = this._node;
    this._node = null; // let the graph (and its saved tensors) go once nothing else needs it
    if (this._registered) registry.unregister(this);
    untrack(this);
    h.dispose();
    release(h);
    const g = this.grad;
    this.grad = null;
    if (g !== null && g !== this) g.dispose();
    if (node !== null) node.unref();
  }

  /** Short description: shape, dtype, device and up to 6 values. */
  toString(): string {
    if (this._h === null) return 'Tensor(disposed)';
    const [shape, dtype, device] = this.meta('toString');
    let n = 1;
    for (const d of shape) n *= d;
    let values = '';
    if (n > 0) {
      const data = this.dataSync();
      const shown = Array.from(data.subarray(0, Math.min(6, n)), (v) =>
        dtype === 'int32' ? String(v) : Number(v.toPrecision(5)).toString(),
      );
      values = `, [${shown.join(', ')}${n > 6 ? `, ... (${n} values)` : ''}]`;
    }
    return `Tensor(${shapeString(shape)}, ${dtype}, ${device}${values})`;
  }

  /** Node's util.inspect uses toString(). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

registerTensorClass(Tensor);
setEscapeHandler((t) => t._register());

type RecordToImpl = (from: Tensor, out: Tensor) => void;
let recordToImpl: RecordToImpl | null = null;
/** @internal autograd registers how to() records its gradient (breaks the import cycle). */
export function setRecordToImpl(f: RecordToImpl): void {
  recordToImpl = f;
}

type BackwardImpl = (root: Tensor, grad?: Tensor, opts?: { retainGraph?: boolean }) => void;
let backwardImpl: BackwardImpl | null = null;
/** @internal autograd registers its backward here (breaks the tensor <-> autograd import cycle). */
export function setBackwardImpl(f: BackwardImpl): void {
  backwardImpl = f;
}

/** @internal A Tensor or number operand as the addon takes it. */
export function operand(op: string, x: Tensor | number): NativeHandle | number {
  if (typeof x === 'number') return x;
  if (x instanceof Tensor) return x.handle(op);
  throw new Error(`[${op}] expected a Tensor or a number, got ${describe(x)}`);
}

/** @internal */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object';
  return `${typeof x} ${String(x)}`;
}

/**
 * The ArrayBuffer a tensor's values are read into (4 bytes per element), allocated here in JS: a
 * failed allocation is then a RangeError turned into `[op] ...`, where an ArrayBuffer the addon
 * allocates would abort the process (V8 treats that failure as fatal).
 */
function hostBuffer(op: string, shape: Shape): ArrayBuffer {
  let n = 1;
  for (const d of shape) n *= d;
  const bytes = n * 4;
  if (n > MAX_TYPED_LENGTH) {
    throw new Error(`[${op}] a ${shapeString(shape)} tensor has ${n} elements; a typed array holds at most ` +
      `${MAX_TYPED_LENGTH} in this Node (read it in slices)`);
  }
  try {
    return new ArrayBuffer(bytes);
  } catch (e) {
    throw new Error(`[${op}] cannot allocate ${bytes} bytes for the values of a ${shapeString(shape)} tensor ` +
      `(${(e as Error).message}); read it in slices or free memory`);
  }
}

/** "(2, 3)" */
export function shapeString(shape: Shape): string {
  return `(${shape.join(', ')})`;
}
