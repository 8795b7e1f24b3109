// Float64 references of the optimizer updates (torch.optim's formulas, written out per element)
// and small helpers shared by the optimizer tests.
import { Device, DType, Tensor, tensor } from '../../lib';

export interface SgdRefHyper { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
export interface AdamRefHyper { lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; amsgrad?: boolean; decoupled?: boolean }

/** One parameter's float64 state for the references. */
export interface RefState { step: number; m?: number[]; v?: number[]; vmax?: number[] }

export function sgdRefStep(p: number[], g: number[], st: RefState, h: SgdRefHyper): void {
  const mu = h.momentum ?? 0, tau = h.dampening ?? 0, wd = h.weightDecay ?? 0;
  for (let i = 0; i < p.length; ++i) {
    let d = g[i] + wd * p[i];
    if (mu !== 0) {
      if (!st.m) st.m = new Array(p.length).fill(0);
      st.m[i] = st.step === 0 ? d : mu * st.m[i] + (1 - tau) * d;
      d = h.nesterov ? d + mu * st.m[i] : st.m[i];
    }
    p[i] -= h.lr * d;
  }
  st.step += 1;
}

export function adamRefStep(p: number[] | Float64Array, g: ArrayLike<number>, st: RefState, h: AdamRefHyper): void {
  const b1 = h.beta1 ?? 0.9, b2 = h.beta2 ?? 0.999, eps = h.eps ?? 1e-8, wd = h.weightDecay ?? 0;
  st.step += 1;
  const t = st.step;
  st.m ??= new Array(p.length).fill(0);
  st.v ??= new Array(p.length).fill(0);
  if (h.amsgrad) st.vmax ??= new Array(p.length).fill(0);
  const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
  for (let i = 0; i < p.length; ++i) {
    let gi = g[i];
    if (h.decoupled) p[i] *= 1 - h.lr * wd;
    else gi += wd * p[i];
    st.m[i] = b1 * st.m[i] + (1 - b1) * gi;
    st.v[i] = b2 * st.v[i] + (1 - b2) * gi * gi;
    let v = st.v[i];
    if (h.amsgrad) {
      st.vmax![i] = Math.max(st.vmax![i], v);
      v = st.vmax![i];
    }
    p[i] -= (h.lr / bc1) * st.m[i] / (Math.sqrt(v) / Math.sqrt(bc2) + eps);
  }
}

/** Deterministic pseudo-random values in [-1, 1) (a fresh stream per seed). */
export function randomValues(n: number, seed: number): number[] {
  let s = (seed * 2654435761 + 12345) >>> 0;
  const out: number[] = new Array(n);
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** randomValues as float32 straight into a typed array (millions of elements in milliseconds). */
export function randomF32(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761 + 12345) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Values a float32 (or bfloat16) tensor would hold, as float64. */
export function rounded(xs: number[], dtype: DType = 'float32'): number[] {
  const f = Float32Array.from(xs);
  if (dtype === 'float32') return Array.from(f);
  const u = new Uint32Array(f.buffer);
  return Array.from(u, (x) => {
    const r = (x + 0x7fff + ((x >>> 16) & 1)) & 0xffff0000;
    return new Float32Array(new Uint32Array([r >>> 0]).buffer)[0];
  });
}

export function param(values: number[], shape: number[], device: Device, dtype: DType = 'float32'): Tensor {
  return tensor(values, shape, { device, dtype, requiresGrad: true });
}

/** Replaces p.grad with `values` (disposing the old grad). */
export function setGrad(p: Tensor, values: number[], dtype: DType = p.dtype): void {
  p.grad?.dispose();
  p.grad = tensor(values, p.shape, { device: p.device, dtype });
}

/** max |a - b| / (atol + rtol |b|) <= 1, with the worst index in the message. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what = ''): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; ++i) {
    const r = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    if (!(r <= worst)) { worst = r; at = i; }
  }
  if (!(worst <= 1)) {
    throw new Error(`${what} mismatch at ${at}: got ${actual[at]}, expected ${expected[at]} (atol ${atol}, rtol ${rtol})`);
  }
}

export const values = (t: Tensor): number[] => Array.from(t.dataSync());
