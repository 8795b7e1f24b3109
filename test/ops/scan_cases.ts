/**
 * scan_cases.ts — random selective-scan problems and the comparisons the scan tests share.
 *
 * Error metric (stated once): err(x, ref) = max |x - ref| / max |ref| over a whole tensor. An
 * element-wise relative error is meaningless for gradients that pass through zero.
 */
import { Device, DType, selectiveScan, SelectiveScanOptions, Tensor, tensor } from '../../lib';
import { RefArray, ScanRefResult, selectiveScanRef } from '../../lib/ops/selective_scan_ref';
import { bf16Round } from '../helpers/reference';

export interface ScanCase {
  B: number; D: number; L: number; N: number;
  /** 0: B, C are (B, N, L); G >= 1: (B, G, N, L). */
  G: number;
  D_?: boolean; z?: boolean; bias?: boolean; softplus?: boolean; init?: boolean; last?: boolean;
  /** Lengths per batch item, or 'mixed' for [0, L, random...]. */
  lengths?: number[] | 'mixed';
  reverse?: boolean;
}

export function uniform(n: number, lo: number, hi: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; ++i) a[i] = lo + Math.random() * (hi - lo);
  return a;
}

/** The raw values of one problem (float32-representable, or bfloat16-representable when asked). */
export interface ScanValues {
  c: ScanCase;
  u: Float64Array; delta: Float64Array; A: Float64Array; Bm: Float64Array; Cm: Float64Array;
  Dk: Float64Array | null; z: Float64Array | null; bias: Float64Array | null; init: Float64Array | null;
  lengths: Int32Array | null;
  bcShape: number[];
}

export function makeValues(c: ScanCase, dtype: DType = 'float32'): ScanValues {
  const round = dtype === 'bfloat16' ? bf16Round : Math.fround;
  const r = (a: Float64Array): Float64Array => a.map(round);
  const f = (a: Float64Array): Float64Array => a.map(Math.fround);
  const n = c.B * c.D * c.L;
  const G = Math.max(1, c.G);
  const bcShape = c.G === 0 ? [c.B, c.N, c.L] : [c.B, G, c.N, c.L];
  let lengths: Int32Array | null = null;
  if (c.lengths === 'mixed') {
    lengths = new Int32Array(c.B);
    for (let b = 0; b < c.B; ++b) lengths[b] = b === 0 ? 0 : b === 1 ? c.L : Math.floor(Math.random() * (c.L + 1));
  } else if (c.lengths) {
    lengths = Int32Array.from(c.lengths);
  }
  return {
    c,
    u: r(uniform(n, -1, 1)),
    // With softplus, delta is pre-activation (dt ~ 0.3..1); without, dt itself in [0.01, 0.6].
    delta: r(c.softplus ? uniform(n, -2, 0.5) : uniform(n, 0.01, 0.6)),
    A: f(uniform(c.D * c.N, -2, -0.2)),
    Bm: r(uniform(c.B * G * c.N * c.L, -1, 1)),
    Cm: r(uniform(c.B * G * c.N * c.L, -1, 1)),
    Dk: c.D_ ? f(uniform(c.D, -1, 1)) : null,
    z: c.z ? r(uniform(n, -2, 2)) : null,
    bias: c.bias ? f(uniform(c.D, -1, 0.5)) : null,
    init: c.init ? f(uniform(c.B * c.D * c.N, -1, 1)) : null,
    lengths,
    bcShape,
  };
}

export interface ScanTensors {
  u: Tensor; delta: Tensor; A: Tensor; B: Tensor; C: Tensor; opts: SelectiveScanOptions;
  leaves: Record<string, Tensor>;
}

/** Tensors for the values on a device; every float input requires grad. */
export function makeTensors(v: ScanValues, device: Device, dtype: DType = 'float32', lengthsAsTensor = false): ScanTensors {
  const c = v.c;
  const io = { device, dtype, requiresGrad: true };
  const f32 = { device, dtype: 'float32' as DType, requiresGrad: true };
  const t = (a: Float64Array, shape: number[], o: typeof io) => tensor(Float32Array.from(a), shape, o);
  const leaves: Record<string, Tensor> = {
    u: t(v.u, [c.B, c.D, c.L], io),
    delta: t(v.delta, [c.B, c.D, c.L], io),
    A: t(v.A, [c.D, c.N], f32),
    B: t(v.Bm, v.bcShape, io),
    C: t(v.Cm, v.bcShape, io),
  };
  if (v.Dk) leaves.D = t(v.Dk, [c.D], f32);
  if (v.z) leaves.z = t(v.z, [c.B, c.D, c.L], io);
  if (v.bias) leaves.deltaBias = t(v.bias, [c.D], f32);
  if (v.init) leaves.initialState = t(v.init, [c.B, c.D, c.N], f32);
  const opts: SelectiveScanOptions = {
    D: leaves.D, z: leaves.z, deltaBias: leaves.deltaBias, initialState: leaves.initialState,
    deltaSoftplus: c.softplus === true, reverse: c.reverse === true, returnLastState: c.last === true,
    lengths: v.lengths ? (lengthsAsTensor ? tensor(v.lengths, [c.B], { device, dtype: 'int32' }) : v.lengths) : null,
  };
  return { u: leaves.u, delta: leaves.delta, A: leaves.A, B: leaves.B, C: leaves.C, opts, leaves };
}

export function reference(v: ScanValues): ScanRefResult {
  const c = v.c;
  const w = (data: Float64Array | null, shape: number[]) => (data ? { data, shape } : null);
  return selectiveScanRef({ data: v.u, shape: [c.B, c.D, c.L] }, { data: v.delta, shape: [c.B, c.D, c.L] },
    { data: v.A, shape: [c.D, c.N] }, { data: v.Bm, shape: v.bcShape }, { data: v.Cm, shape: v.bcShape }, {
      D: w(v.Dk, [c.D]), z: w(v.z, [c.B, c.D, c.L]), deltaBias: w(v.bias, [c.D]),
      initialState: w(v.init, [c.B, c.D, c.N]), deltaSoftplus: c.softplus === true, reverse: c.reverse === true,
      lengths: v.lengths,
    });
}

/** max |x - ref| / max |ref| (0 when both are all zero). */
export function err(x: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (x.length !== ref.length) throw new Error(`length ${x.length} vs ${ref.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < x.length; ++i) {
    const e = Math.abs(x[i] - ref[i]);
    if (!(e <= num)) num = e; // NaN propagates as a failure
    den = Math.max(den, Math.abs(ref[i]));
  }
  return den === 0 ? num : num / den;
}

/** Runs forward + backward (from out and, when returned, lastState) and returns values and grads. */
export function runScan(s: ScanTensors, dout: Float64Array, dlast: Float64Array | null): {
  out: Float32Array; last: Float32Array | null; grads: Record<string, Float32Array>;
} {
  const { out, lastState } = selectiveScan(s.u, s.delta, s.A, s.B, s.C, s.opts);
  const device = s.u.device;
  const outVals = out.dataSync() as Float32Array;
  const lastVals = lastState ? (lastState.dataSync() as Float32Array) : null;
  const g = tensor(Float32Array.from(dout), [...out.shape], { device, dtype: out.dtype });
  out.backward(g, { retainGraph: dlast !== null && lastState !== undefined });
  if (lastState && dlast) lastState.backward(tensor(Float32Array.from(dlast), [...lastState.shape], { device }));
  const grads: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(s.leaves)) grads[k] = (t.grad ? t.grad.dataSync() : new Float32Array(t.size)) as Float32Array;
  return { out: outVals, last: lastVals, grads };
}

/** The reference's gradient arrays under the leaf names of makeTensors. */
export function refGrads(ref: ScanRefResult, dout: Float64Array, dlast: Float64Array | null): Record<string, RefArray | null> {
  const g = ref.backward(dout, dlast);
  return { u: g.u, delta: g.delta, A: g.A, B: g.B, C: g.C, D: g.D, z: g.z, deltaBias: g.deltaBias, initialState: g.initialState };
}
