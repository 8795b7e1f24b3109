/** check.ts — hyper-parameter checks shared by the optimizers (PyTorch's ranges and messages). */

/** Throws `[op] where: name must be ...` unless `v` is a finite number >= `min`. */
export function checkNumber(op: string, where: string, name: string, v: unknown, min = 0): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new Error(`[${op}] ${where}: ${name} must be a finite number >= ${min}, got ${String(v)}`);
  }
}

export function checkBoolean(op: string, where: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new Error(`[${op}] ${where}: ${name} must be true or false, got ${String(v)}`);
}

/** A number in [0, 1), as Adam's betas. */
export function checkBeta(op: string, where: string, name: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`[${op}] ${where}: ${name} must be in [0, 1), got ${String(v)}`);
}
