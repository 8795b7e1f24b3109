/**
 * elementwise.ts — binary elementwise ops with NumPy broadcasting.
 *
 * Shapes: a (...), b (...) -> broadcast shape, e.g. (B, L, C) + (C) -> (B, L, C). Both operands
 * share one dtype (float32, bfloat16 computed in float32, or int32 wrapping) and one device; a
 * number operand takes the tensor's dtype.
 */
import { native } from '../native';
import { describe, operand, recycled, Tensor } from '../tensor/tensor';

function binary(op: 'add' | 'mul', a: Tensor, b: Tensor | number): Tensor {
  if (!(a instanceof Tensor)) throw new Error(`[${op}] a must be a Tensor, got ${describe(a)}`);
  const h = a.handle(op);
  const o = operand(op, b);
  const r = recycled();
  return new Tensor(op === 'add' ? native.add(h, o, r) : native.mul(h, o, r));
}

/** a + b with broadcasting; `[add]` errors name both shapes or dtypes when they do not fit. */
export function add(a: Tensor, b: Tensor | number): Tensor {
  return binary('add', a, b);
}

/** a * b with broadcasting; `[mul]` errors name both shapes or dtypes when they do not fit. */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return binary('mul', a, b);
}
