/**
 * module.ts — Module: a tree of named parameters, buffers and child modules, as torch.nn.Module.
 *
 * Names are dotted paths ("encoder.layers.0.mixer.in_proj.weight") matching the PyTorch modules
 * users know, so a state dict saved from PyTorch (safetensors) loads by name. Parameters are
 * leaf tensors with requiresGrad; loadStateDict writes values into the existing tensors in
 * place, so optimizers built before loading keep working.
 */
import { noGrad } from '../autograd/tape';
import { native } from '../native';
import { loadSafetensors, saveSafetensors } from '../io/safetensors';
import { keep } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device, DType } from '../tensor/types';

export type Parameter = Tensor;

export abstract class Module {
  /** Whether the module is in training mode (dropout, batch-norm statistics). */
  training = true;
  private readonly _params = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, { t: Tensor | null; persistent: boolean }>();
  private readonly _modules = new Map<string, Module | null>();

  /** The module's computation; subclasses define it with their own signature. */
  abstract forward(...args: never[]): unknown;

  /** Registers a parameter (a leaf that requires grad) under `name`; returns it. */
  protected param(name: string, t: Tensor | null): Tensor {
    checkName(name);
    if (t) {
      keep(t);
      t.requiresGrad_(true);
    }
    this._params.set(name, t);
    return t as Tensor;
  }

  /** Registers a buffer (state that is not trained, e.g. running means); persistent ones are saved. */
  protected buffer(name: string, t: Tensor | null, persistent = true): Tensor {
    checkName(name);
    if (t) keep(t);
    this._buffers.set(name, { t, persistent });
    return t as Tensor;
  }

  /** Registers a child module under `name`; returns it. */
  protected module<M extends Module | null>(name: string, m: M): M {
    checkName(name);
    this._modules.set(name, m);
    return m;
  }

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    return [...this._modules].filter((e): e is [string, Module] => e[1] !== null);
  }

  children(): Module[] {
    return this.namedChildren().map((e) => e[1]);
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.namedChildren()) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Parameters with dotted names, in registration order (depth first). */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this._params) if (t) out.push([prefix ? `${prefix}.${n}` : n, t]);
    if (recurse) for (const [n, m] of this.namedChildren()) out.push(...m.namedParameters(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map((e) => e[1]);
  }

  /** Buffers with dotted names. */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this._buffers) if (b.t) out.push([prefix ? `${prefix}.${n}` : n, b.t]);
    if (recurse) for (const [n, m] of this.namedChildren()) out.push(...m.namedBuffers(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Number of parameter elements (trainable only when `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    return this.parameters().filter((p) => !trainableOnly || p.requiresGrad).reduce((s, p) => s + p.size, 0);
  }

  /** Sets training mode here and below; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Evaluation mode (train(false)). */
  eval(): this {
    return this.train(false);
  }

  /** Freezes (false) or unfreezes (true) every parameter; returns this. */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  /** Clears every parameter's .grad. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Moves parameters and buffers to a device and/or float dtype (int32 buffers keep their
   * dtype). New tensors replace the old ones, which are disposed: build optimizers after to().
   */
  to(target: Device | DType | { device?: Device; dtype?: DType }): this {
    const t = typeof target === 'string' ? (target === 'cpu' || target === 'cuda' ? { device: target } : { dtype: target as DType }) : target;
    for (const [, m] of this.namedModules()) {
      for (const [n, p] of m._params) {
        if (!p) continue;
        // noGrad: the moved parameter is a new leaf, not a node hanging off the old one.
        const q = noGrad(() => p.to({ device: t.device, dtype: p.dtype === 'int32' ? undefined : t.dtype }));
        if (q !== p) {
          m._params.set(n, keep(q).requiresGrad_(p.requiresGrad));
          p.dispose();
          m.onReplace(n, q);
        }
      }
      for (const [n, b] of m._buffers) {
        if (!b.t) continue;
        const q = b.t.to({ device: t.device, dtype: b.t.dtype === 'int32' ? undefined : t.dtype });
        if (q !== b.t) {
          m._buffers.set(n, { t: keep(q), persistent: b.persistent });
          b.t.dispose();
          m.onReplace(n, q);
        }
      }
    }
    return this;
  }

  /** Called when to() replaces a registered tensor, so subclasses can update their fields. */
  protected onReplace(name: string, t: Tensor): void {
    const self = this as unknown as Record<string, unknown>;
    if (name in self && self[name] instanceof Tensor) self[name] = t;
  }

  /** Parameters and persistent buffers by dotted name (the tensors themselves, not copies). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [n, t] of this.namedParameters()) out[n] = t;
    const walk = (mod: Module, prefix: string) => {
      for (const [n, b] of mod._buffers) if (b.t && b.persistent) out[prefix ? `${prefix}.${n}` : n] = b.t;
      for (const [n, c] of mod.namedChildren()) walk(c, prefix ? `${prefix}.${n}` : n);
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies values from `sd` into this module's tensors in place. strict (default): missing
   * keys, unexpected keys, shape mismatches and dtype mismatches are listed together in one error
   * and nothing is written. Non-strict: matching keys are loaded, the rest reported in the result.
   * A tensor whose dtype differs from the parameter's (int32 or bfloat16 into float32) is an
   * error in both modes unless `allowCast` is set, which converts it (float -> int32 truncates).
   */
  loadStateDict(sd: Record<string, Tensor>, opts: LoadStateDictOptions = {}): { missing: string[]; unexpected: string[] } {
    const strict = opts.strict ?? true;
    const allowCast = opts.allowCast ?? false;
    if (sd === null || typeof sd !== 'object') throw new Error(`[loadStateDict] ${this.constructor.name}: expected an object of tensors, got ${sd === null ? 'null' : typeof sd}`);
    const own = this.stateDict();
    const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
    const missing = Object.keys(own).filter((k) => !has(sd, k));
    const unexpected = Object.keys(sd).filter((k) => !has(own, k));
    const notTensor = Object.keys(own).filter((k) => has(sd, k) && !(sd[k] instanceof Tensor));
    const present = Object.keys(own).filter((k) => has(sd, k) && sd[k] instanceof Tensor);
    const mismatched = present
      .filter((k) => own[k].shape.join(',') !== sd[k].shape.join(','))
      .map((k) => `${k}: expected (${own[k].shape.join(', ')}), got (${sd[k].shape.join(', ')})`);
    const dtypes = allowCast ? [] : present
      .filter((k) => own[k].dtype !== sd[k].dtype)
      .map((k) => `${k}: expected ${own[k].dtype}, got ${sd[k].dtype}`);
    if (notTensor.length || mismatched.length || dtypes.length || (strict && (missing.length || unexpected.length))) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
      if (notTensor.length) parts.push(`not tensors: ${notTensor.join(', ')}`);
      if (mismatched.length) parts.push(`shape mismatches: ${mismatched.join('; ')}`);
      if (dtypes.length) parts.push(`dtype mismatches (pass { allowCast: true } to convert): ${dtypes.join('; ')}`);
      throw new Error(`[loadStateDict] ${this.constructor.name}: ${parts.join('; ')}`);
    }
    for (const k of present) {
      const dst = own[k];
      const src = sd[k].to({ device: dst.device, dtype: dst.dtype });
      native.copyInto(dst.handle('loadStateDict'), src.handle('loadStateDict'));
      if (src !== sd[k]) src.dispose();
    }
    return { missing, unexpected };
  }

  /**
   * Saves the state dict as safetensors, atomically: concurrent saves to one path (threads or
   * processes) leave one of them whole, and a save killed midway leaves the previous file (see
   * lib/io/atomic.ts).
   */
  save(file: string, metadata: Record<string, string> = {}): void {
    saveSafetensors(file, this.stateDict(), metadata);
  }

  /** Loads a safetensors state dict (strict by default; see loadStateDict for `allowCast`). Errors name the file. */
  load(file: string, opts: LoadStateDictOptions = {}): { missing: string[]; unexpected: string[] } {
    const { tensors } = loadSafetensors(file, { device: 'cpu', asFloat32: false });
    try {
      return this.loadStateDict(tensors, opts);
    } catch (e) {
      throw new Error(`[Module.load] ${file}: ${(e as Error).message.replace(/^\[loadStateDict\] /, '')}`);
    } finally {
      Object.values(tensors).forEach((t) => t.dispose());
    }
  }
}

/** Options of Module.loadStateDict and Module.load. */
export interface LoadStateDictOptions {
  /** Missing or unexpected keys are errors (default true); shape and dtype mismatches always are. */
  strict?: boolean;
  /** Convert tensors whose dtype differs from the parameter's instead of refusing them (default false). */
  allowCast?: boolean;
}

function checkName(name: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) throw new Error(`[Module] bad name '${name}': non-empty, no dots`);
}
