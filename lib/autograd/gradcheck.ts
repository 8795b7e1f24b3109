/**
 * gradcheck.ts — compares autograd's gradients with central finite differences.
 *
 * The scalar checked is L = sum(fn(inputs) * P) for a fixed random projection P, so every
 * output element matters. Analytic: one backward of L. Numeric: for each input element,
 * (L(x + eps) - L(x - eps)) / (2 eps), with L summed in float64 from the float32 outputs.
 * Tensors are float32, so eps is larger than a float64 check would use (default 1e-2 scaled by
 * max(1, |x|)); the truncation error is O(eps^2 f''') and the rounding error O(ulp(L) / eps), so a
 * smooth op agrees to about 1e-3 relative. Inputs stay on their device (CPU or CUDA); use small
 * inputs (it evaluates fn 2 * numel times).
 */
import { native } from '../native';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { noGrad } from './tape';

export interface GradCheckOptions {
  eps?: number;
  /** Pass when |analytic - numeric| <= atol + rtol * |numeric| everywhere. */
  atol?: number;
  rtol?: number;
  /** Seed of the projection P. */
  seed?: number;
  /** Throw an Error naming the worst element instead of returning ok = false. */
  raise?: boolean;
}

export interface GradCheckResult {
  ok: boolean;
  /** Worst |analytic - numeric| / (atol + rtol |numeric|) over all checked elements (<= 1 passes). */
  worst: number;
  /** Per input: analytic and numeric gradients (null for inputs not requiring grad). */
  grads: ({ analytic: Float64Array; numeric: Float64Array } | null)[];
}

function values(t: Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

/**
 * Checks the gradients of `fn` at `inputs` (float32 tensors on any device; those with
 * requiresGrad are checked) against central finite differences. Returns `{ ok, worst, grads }`.
 */
export function gradCheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradCheckOptions = {}): GradCheckResult {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const rtol = opts.rtol ?? 1e-2;
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`[gradCheck] inputs[${i}] must be a Tensor`);
    if (t.dtype !== 'float32') throw new Error(`[gradCheck] inputs[${i}] must be float32, got ${t.dtype}`);
  });
  // Projection P, fixed for all evaluations.
  const out0 = noGrad(() => tidy(() => fn(...inputs).detach()));
  const P = Float64Array.from({ length: out0.size }, (_, i) => Math.sin(1 + i * 12.9898 + (opts.seed ?? 0)) * 0.5 + 0.25);
  const shape = out0.shape;
  out0.dispose();
  const loss = (xs: Tensor[]): number =>
    noGrad(() => tidy(() => {
      const y = values(fn(...xs));
      let s = 0;
      for (let i = 0; i < y.length; ++i) s += y[i] * P[i];
      return s;
    }));

  // Analytic: backward of sum(y * P).
  const grads: GradCheckResult['grads'] = [];
  const leaves = inputs.map((t) => (t.requiresGrad ? t.detach().requiresGrad_(true) : t));
  tidy(() => {
    const y = fn(...leaves);
    const p = new Tensor(native.fromTypedArray(Float32Array.from(P), shape as number[], 'float32', y.device, true));
    const l = y.mul(p).sum();
    l.backward();
  });

  let worst = 0;
  let where = '';
  inputs.forEach((t, i) => {
    if (!t.requiresGrad) {
      grads.push(null);
      return;
    }
    const analytic = leaves[i].grad ? values(leaves[i].grad!) : new Float64Array(t.size);
    const x = Float32Array.from(t.dataSync());
    const numeric = new Float64Array(x.length);
    for (let j = 0; j < x.length; ++j) {
      const h = eps * Math.max(1, Math.abs(x[j]));
      const orig = x[j];
      const at = (v: number): number => {
        x[j] = v;
        const xt = new Tensor(native.fromTypedArray(x, t.shape as number[], 'float32', t.device, true));
        const xs = inputs.map((u, k) => (k === i ? xt : u));
        const r = loss(xs);
        xt.dispose();
        return r;
      };
      const hi = Math.fround(orig + h);
      const lo = Math.fround(orig - h);
      numeric[j] = (at(hi) - at(lo)) / (hi - lo);
      x[j] = orig;
      const err = Math.abs(analytic[j] - numeric[j]) / (atol + rtol * Math.abs(numeric[j]));
      if (!(err <= worst)) {
        worst = err;
        where = `input ${i} element ${j}: analytic ${analytic[j]}, numeric ${numeric[j]}`;
      }
    }
    grads.push({ analytic, numeric });
    leaves[i].grad?.dispose();
  });
  leaves.forEach((l, i) => l !== inputs[i] && l.dispose());
  const ok = worst <= 1;
  if (!ok && opts.raise) throw new Error(`[gradCheck] gradients differ (worst ratio ${worst.toFixed(3)}) at ${where}`);
  return { ok, worst, grads };
}
