/**
 * attention_helpers.ts — shared by the attention tests: one case = random inputs, the op's
 * forward and autograd gradients on a device, and the float64 reference on the same inputs.
 */
import { attentionRef, AttentionRefOptions } from '../../lib/ops/attention_ref';
import { DType, Device, ops, tensor } from '../../lib';
import { bf16Round, philoxUniform, randomArray } from '../helpers/reference';

export interface AttnCase {
  B: number;
  H: number;
  Lq: number;
  Lk: number;
  Dh: number;
  causal?: boolean;
  keyLengths?: number[];
  queryLengths?: number[];
  scale?: number;
  dropout?: number;
  seed?: number;
  deterministic?: boolean;
}

export function caseName(c: AttnCase): string {
  let s = `B${c.B} H${c.H} Lq${c.Lq} Lk${c.Lk} Dh${c.Dh}`;
  if (c.causal) s += ' causal';
  if (c.keyLengths) s += ` kl[${c.keyLengths}]`;
  if (c.queryLengths) s += ` ql[${c.queryLengths}]`;
  if (c.dropout) s += ` p${c.dropout}`;
  if (c.deterministic) s += ' det';
  return s;
}

/** max |x - y| / max |y| (normwise relative error); exact match required when y is all 0. */
export function normErr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`length ${x.length} vs ${y.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; ++i) {
    const e = Math.abs(x[i] - y[i]);
    if (!(e <= num)) num = e; // NaN fails
    den = Math.max(den, Math.abs(y[i]));
  }
  return den === 0 ? num : num / den;
}

/** The Philox keep rule of native/ops/attention (float32 compare of a 24-bit uniform). */
export function philoxKeep(c: AttnCase, seed: number): (b: number, h: number, i: number, j: number) => boolean {
  const p32 = Math.fround(c.dropout ?? 0);
  const s = BigInt(seed);
  return (b, h, i, j) => philoxUniform(s, 0n, ((b * c.H + h) * c.Lq + i) * c.Lk + j) >= p32;
}

export interface CaseResult {
  out: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  ref: { out: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array };
}

/** Runs one case on `device` in `dtype` with fresh random inputs; `qScale` sharpens the softmax. */
export function runCase(c: AttnCase, device: Device, dtype: DType = 'float32', qScale = 2, withRef = true): CaseResult {
  const { B, H, Lq, Lk, Dh } = c;
  const round = dtype === 'bfloat16' ? bf16Round : Math.fround;
  const q = Float32Array.from(randomArray(B * H * Lq * Dh, qScale), round);
  const k = Float32Array.from(randomArray(B * H * Lk * Dh), round);
  const v = Float32Array.from(randomArray(B * H * Lk * Dh), round);
  const g = Float32Array.from(randomArray(B * H * Lq * Dh), round);
  const seed = c.seed ?? Math.floor(Math.random() * 2 ** 31);
  const qt = tensor(q, [B, H, Lq, Dh], { device, dtype, requiresGrad: true });
  const kt = tensor(k, [B, H, Lk, Dh], { device, dtype, requiresGrad: true });
  const vt = tensor(v, [B, H, Lk, Dh], { device, dtype, requiresGrad: true });
  const out = ops.attention(qt, kt, vt, {
    causal: c.causal,
    keyLengths: c.keyLengths ? Int32Array.from(c.keyLengths) : undefined,
    queryLengths: c.queryLengths ? Int32Array.from(c.queryLengths) : undefined,
    scale: c.scale,
    dropout: c.dropout,
    seed,
    deterministic: c.deterministic,
  });
  out.backward(tensor(g, [B, H, Lq, Dh], { device, dtype }));
  const res: CaseResult = {
    out: out.dataSync() as Float32Array,
    dq: qt.grad!.dataSync() as Float32Array,
    dk: kt.grad!.dataSync() as Float32Array,
    dv: vt.grad!.dataSync() as Float32Array,
    ref: { out: new Float64Array(0), dq: new Float64Array(0), dk: new Float64Array(0), dv: new Float64Array(0) },
  };
  [out, qt, kt, vt, qt.grad!, kt.grad!, vt.grad!].forEach((t) => t.dispose());
  if (withRef) {
    const ro: AttentionRefOptions = {
      causal: c.causal, keyLengths: c.keyLengths, queryLengths: c.queryLengths, scale: c.scale, dropout: c.dropout,
      keep: c.dropout ? philoxKeep(c, seed) : undefined,
    };
    const r = attentionRef(q, k, v, [B, H, Lq, Lk, Dh], ro);
    const gr = r.backward(g);
    res.ref = { out: r.out, ...gr };
  }
  return res;
}
