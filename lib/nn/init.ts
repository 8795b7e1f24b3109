/**
 * init.ts — deterministic parameter initialisation. Every initialiser draws from Philox with a
 * seed derived from (module seed, parameter path), so a model built twice with one seed has the
 * same weights on cpu and cuda, whatever order its layers are built in.
 */
import { noGrad } from '../autograd/tape';
import { add, mul } from '../ops/elementwise';
import { tidy } from '../tensor/scope';
import { rand, randn, full } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { Device, DType } from '../tensor/types';

export interface InitOptions {
  seed: number;
  device?: Device;
  dtype?: DType;
}

/** A 53-bit seed from a base seed and a name (FNV-1a over the name, mixed with the seed). */
export function deriveSeed(seed: number, name: string): number {
  let h = 0xcbf29ce484222325n ^ BigInt(Math.floor(seed) >>> 0) ^ (BigInt(Math.floor(seed / 2 ** 32)) << 32n);
  for (let i = 0; i < name.length; ++i) {
    h ^= BigInt(name.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h & 0x1fffffffffffffn);
}

/** U(low, high) of `shape`. */
export function uniform(shape: readonly number[], low: number, high: number, o: InitOptions): Tensor {
  return noGrad(() => tidy(() => add(mul(rand(shape, { seed: o.seed, device: o.device }), high - low), low)));
}

/** N(mean, std^2) of `shape`. */
export function normal(shape: readonly number[], mean: number, std: number, o: InitOptions): Tensor {
  return noGrad(() => tidy(() => add(mul(randn(shape, { seed: o.seed, device: o.device }), std), mean)));
}

/** A constant. */
export function constant(shape: readonly number[], value: number, o: Omit<InitOptions, 'seed'>): Tensor {
  return full(shape, value, { device: o.device });
}

/** fan_in / fan_out as PyTorch computes them for (out, in, *kernel). */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2) return [shape[0] ?? 1, shape[0] ?? 1];
  const rf = shape.slice(2).reduce((p, d) => p * d, 1);
  return [shape[1] * rf, shape[0] * rf];
}

/** kaiming_uniform_(a): bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) (PyTorch's Linear/Conv default uses a = sqrt(5)). */
export function kaimingUniform(shape: readonly number[], a: number, o: InitOptions): Tensor {
  const [fanIn] = fans(shape);
  const bound = Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / Math.max(fanIn, 1));
  return uniform(shape, -bound, bound, o);
}

/** xavier_uniform_: bound = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform(shape: readonly number[], gain: number, o: InitOptions): Tensor {
  const [fi, fo] = fans(shape);
  const bound = gain * Math.sqrt(6 / Math.max(fi + fo, 1));
  return uniform(shape, -bound, bound, o);
}
