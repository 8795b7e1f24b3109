/**
 * dropout.ts — inverted dropout with a counter-based mask.
 *
 * Glossary: p = drop probability; keep_i = philox_uniform(seed, offset, i) >= p for the flat
 * row-major element index i (native/core/philox.h), so P(keep) = 1 - p and the same seed gives the
 * same mask on cpu and cuda. out = x * keep / (1 - p). Backward applies the same function to the
 * gradient: the mask is regenerated from (seed, offset), nothing is stored. Without a `seed`, the
 * global generator of lib/tensor/creation.ts supplies (seed, offset) and advances as rand() does,
 * so manualSeed() makes a run reproducible.
 */
import { native } from '../native';
import { record } from '../autograd/tape';
import { nextSeedOffset } from '../tensor/creation';
import { describe, Tensor } from '../tensor/tensor';
import { checkTensor, optionsArg, recycled, wrap } from './util';

/** Options of dropout. */
export interface DropoutOptions {
  /** false: return x unchanged (evaluation). Default true. */
  training?: boolean;
  /** Mask seed (integer >= 0 or BigInt < 2^64) for this call; default: the global generator. */
  seed?: number | bigint;
}

/** Zeroes each element with probability p and scales the rest by 1 / (1 - p). x (...) -> (...). */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  const op = 'dropout';
  checkTensor(op, 'x', x);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`[${op}] p must be a number in [0, 1], got ${typeof p === 'number' ? p : describe(p)}`);
  opts = optionsArg(op, opts);
  if (x.dtype === 'int32') throw new Error(`[${op}] x must be float32 or bfloat16, got int32`);
  if (opts.training === false || p === 0) return x;
  const { seed, offset } = nextSeedOffset(x.size, op, opts.seed);
  const out = wrap(native.dropout(x.handle(op), p, seed, offset, recycled()));
  record(op, [x], [out], [], ([g]) => [g ? wrap(native.dropout(g.handle(op), p, seed, offset, recycled())) : null]);
  return out;
}
