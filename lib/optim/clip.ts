/**
 * clip.ts — gradient clipping by total norm, as torch.nn.utils.clip_grad_norm_.
 *
 *   total = (Σ_params ||g||_p^p)^(1/p)    (max_params ||g||_inf for p = inf)
 *   coef  = min(maxNorm / (total + 1e-6), 1);  g *= coef   (in place)
 *
 * One native pass reads every grad (per-chunk partial sums in double, folded per tensor in a
 * fixed order, so the norm is the same bits on every run), one more scales them when coef < 1.
 */
import { native, NativeHandle } from '../native';
import { keep } from '../tensor/scope';
import { describe, recycled, Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';

/** Options of clipGradNorm. */
export interface ClipGradNormOptions {
  /** Throw (before touching any grad) when the total norm is NaN or infinite. Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the grads of `params` in place so that their total `normType`-norm is at most
 * `maxNorm`; returns the total norm before clipping. Params without a grad are skipped.
 * normType: a number > 0, or Infinity / 'inf' for the largest absolute value.
 */
export function clipGradNorm(
  params: Tensor | readonly Tensor[],
  maxNorm: number,
  normType: number | 'inf' = 2,
  opts: ClipGradNormOptions = {},
): number {
  return clipGradNormAndRead(params, maxNorm, [], normType, opts).total;
}

/**
 * clipGradNorm that also reads the values of one-element tensors `scalars` (float32 or bf16,
 * e.g. the step's losses) in the same device-to-host transfer as the norm: on CUDA a training
 * step then waits for the GPU once instead of once per value. Returns the total norm before
 * clipping and the scalars' values in order. Scalars on another device than the grads (or
 * without grads) are read one by one.
 */
export function clipGradNormAndRead(
  params: Tensor | readonly Tensor[],
  maxNorm: number,
  scalars: readonly Tensor[],
  normType: number | 'inf' = 2,
  opts: ClipGradNormOptions = {},
): { total: number; values: number[] } {
  const op = 'clipGradNorm';
  const list = params instanceof Tensor ? [params] : params;
  if (!Array.isArray(list)) throw new Error(`[${op}] params must be a Tensor or an array of tensors, got ${describe(params)}`);
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new Error(`[${op}] maxNorm must be a number, got ${describe(maxNorm)}`);
  const p = normType === 'inf' ? Infinity : normType;
  if (typeof p !== 'number' || !(p > 0)) throw new Error(`[${op}] normType must be a number > 0 or 'inf', got ${describe(normType)}`);
  const withGrad: Tensor[] = [];
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`[${op}] param ${i} must be a Tensor, got ${describe(t)}`);
    if (t.grad === null) return;
    if (t.grad.isDisposed) throw new Error(`[${op}] the grad of param ${i} was disposed`);
    if (t.grad.dtype === 'int32') throw new Error(`[${op}] the grad of param ${i} is int32`);
    withGrad.push(t);
  });
  if (!Array.isArray(scalars)) throw new Error(`[${op}] scalars must be an array of tensors, got ${describe(scalars)}`);
  scalars.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`[${op}] scalar ${i} must be a Tensor, got ${describe(t)}`);
    if (t.size !== 1) throw new Error(`[${op}] scalar ${i} must have one element, got shape (${t.shape.join(', ')})`);
    if (t.dtype === 'int32') throw new Error(`[${op}] scalar ${i} must be float32 or bfloat16, got int32`);
  });
  const readEach = (): number[] => scalars.map((t) => t.item());
  if (withGrad.length === 0) return { total: 0, values: readEach() };
  // The grads are scaled in place, so each must be a dense buffer: a strided grad (autograd may
  // give a leaf an expanded view of another tensor) is replaced by a contiguous copy first.
  for (const t of withGrad) {
    const g = t.grad!;
    const h = g.handle(op);
    const c = native.contiguous(h, recycled());
    if (c !== h) {
      t.grad = keep(new Tensor(c));
      g.dispose();
    }
  }
  const byDevice = new Map<Device, NativeHandle[]>();
  for (const t of withGrad) {
    const g = t.grad!;
    const hs = byDevice.get(g.device) ?? [];
    hs.push(g.handle(op));
    byDevice.set(g.device, hs);
  }
  // The scalars ride along with the norm of their device's grads (one transfer) when they are
  // all on one device that has grads; otherwise they are read one by one after the norms.
  const sDev = scalars.length > 0 && scalars.every((t) => t.device === scalars[0].device) ? scalars[0].device : null;
  const together = sDev !== null && byDevice.has(sDev);
  let values: number[] | null = null;
  let acc = 0;
  for (const [dev, hs] of byDevice) {
    const withScalars = together && dev === sDev;
    const parts = withScalars ? native.optimNormParts(hs, p, scalars.map((t) => t.handle(op))) : native.optimNormParts(hs, p);
    for (let i = 0; i < hs.length; ++i) {
      const part = parts[i];
      if (p === Infinity) acc = Number.isNaN(acc) || Number.isNaN(part) ? NaN : Math.max(acc, part);
      else acc += part;
    }
    if (withScalars) values = Array.from(parts.subarray(hs.length));
  }
  const total = p === Infinity ? acc : acc ** (1 / p);
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(`[${op}] the total norm of order ${p} of the gradients is ${total}, so they cannot be clipped; ` +
      'pass errorIfNonfinite: false to clip anyway (the grads become NaN or 0, as PyTorch does)');
  }
  const coef = maxNorm / (total + 1e-6);
  const clamped = Number.isNaN(coef) ? NaN : Math.min(coef, 1);
  // coef >= 1 multiplies by exactly 1: skip the pass. NaN (a NaN grad) propagates, as PyTorch.
  if (!(clamped === 1)) for (const hs of byDevice.values()) native.optimScale(hs, clamped);
  return { total, values: values ?? readEach() };
}
