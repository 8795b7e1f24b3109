/**
 * layers.ts — basic layers with PyTorch's parameter names and initialisation.
 *
 *   Linear(in, out, { bias = true, seed })   weight (out, in), bias (out); x (..., in) -> (..., out)
 *   Sequential(...modules)                   children named "0", "1", ...
 *   ModuleList(modules)                      same naming, no forward
 *   ReLU, GELU, SiLU, Tanh, Sigmoid, Identity
 */
import { gelu, relu, sigmoid, silu, tanh } from '../ops/elementwise';
import { linear } from '../ops/matmul';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import { deriveSeed, kaimingUniform, uniform } from './init';
import { Module } from './module';

/** Options shared by layers: seed of the deterministic init, and the device to build on. */
export interface LayerOptions {
  seed?: number;
  device?: Device;
}

/** y = x Wᵀ + b, as torch.nn.Linear (weight (out, in) ~ U(±1/sqrt(in)), bias the same bound). */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LayerOptions & { bias?: boolean } = {}) {
    super();
    for (const [k, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`[Linear] ${k} must be an integer >= 1, got ${v}`);
    }
    const seed = opts.seed ?? 0;
    this.weight = this.param('weight', kaimingUniform([outFeatures, inFeatures], Math.sqrt(5), { seed: deriveSeed(seed, 'weight'), device: opts.device }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = opts.bias === false ? null
      : this.param('bias', uniform([outFeatures], -bound, bound, { seed: deriveSeed(seed, 'bias'), device: opts.device }));
  }
  /** x (..., in) -> (..., out) */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** Runs children in order; child i is named "i" (as torch.nn.Sequential). */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.module(String(i), m));
  }
  forward(x: unknown): unknown {
    let y = x;
    for (const m of this.layers) y = (m.forward as (a: unknown) => unknown).call(m, y);
    return y;
  }
}

/** A list of modules registered as "0", "1", ... (no forward of its own). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];
  constructor(modules: M[] = []) {
    super();
    this.items = [];
    modules.forEach((m) => this.push(m));
  }
  push(m: M): void {
    this.items.push(this.module(String(this.items.length), m));
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    return this.items[i];
  }
  forward(): never {
    throw new Error('[ModuleList] has no forward; iterate over its items');
  }
}

class Activation extends Module {
  constructor(private readonly f: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.f(x);
  }
}
export class ReLU extends Activation { constructor() { super(relu); } }
export class SiLU extends Activation { constructor() { super(silu); } }
export class Tanh extends Activation { constructor() { super(tanh); } }
export class Sigmoid extends Activation { constructor() { super(sigmoid); } }
export class GELU extends Activation {
  constructor(approximate: 'none' | 'tanh' = 'none') {
    super((x) => gelu(x, approximate));
  }
}
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
