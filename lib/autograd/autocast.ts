/**
 * autocast.ts — mixed precision as torch.autocast: inside autocast('bfloat16', fn), matmul,
 * linear, conv and attention on CUDA cast float32 inputs to bfloat16 (tensor cores, float32
 * accumulation) and return bfloat16; everything else keeps float32, and a float32 op meeting a
 * bfloat16 operand computes in float32. The casts are recorded, so gradients reach float32
 * master weights as float32. On the CPU autocast changes nothing (no bf16 GEMM there).
 */
import { Tensor } from '../tensor/tensor';

let current: 'bfloat16' | null = null;

/** Runs `fn` with autocast to `dtype` (only 'bfloat16'); `enabled: false` runs it unchanged. */
export function autocast<T>(dtype: 'bfloat16', fn: () => T, opts: { enabled?: boolean } = {}): T {
  if (dtype !== 'bfloat16') throw new Error(`[autocast] dtype must be 'bfloat16', got '${String(dtype)}'`);
  const prev = current;
  current = opts.enabled === false ? null : dtype;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** The autocast dtype in effect, or null. */
export function autocastDtype(): 'bfloat16' | null {
  return current;
}

/** @internal For the autocast ops: float32 CUDA inputs as bfloat16 when autocast is on. */
export function autocastInputs(...xs: (Tensor | null | undefined)[]): (Tensor | null | undefined)[] {
  if (current === null) return xs;
  const first = xs.find((t): t is Tensor => t instanceof Tensor);
  if (!first || first.device !== 'cuda') return xs;
  return xs.map((t) => (t instanceof Tensor && t.dtype === 'float32' ? t.to('bfloat16') : t));
}

/**
 * @internal For an autocast op: when autocast is on and the first input is a float32 CUDA
 * tensor, calls `fn` with the float32 inputs cast to bfloat16 (autocast off inside, so the op
 * runs once); otherwise returns undefined and the op runs as usual.
 */
export function underAutocast<T>(inputs: (Tensor | null | undefined)[], fn: (...xs: (Tensor | null | undefined)[]) => T): T | undefined {
  const first = inputs[0];
  if (current === null || !(first instanceof Tensor) || first.device !== 'cuda' || first.dtype !== 'float32') return undefined;
  const cast = inputs.map((t) => (t instanceof Tensor && t.dtype === 'float32' ? t.to('bfloat16') : t));
  const prev = current;
  current = null;
  try {
    return fn(...cast);
  } finally {
    current = prev;
    cast.forEach((t, i) => t && t !== inputs[i] && t.dispose());
  }
}
