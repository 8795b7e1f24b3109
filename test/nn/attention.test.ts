// MultiHeadAttention vs a float64 reference of torch.nn.MultiheadAttention's math, with key
// padding, causal masks and cross-attention; padded query rows are 0 before out_proj.
import { nn, ops, tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

function mhaRef(m: nn.MultiHeadAttention, q: Float32Array, kv: Float32Array, Lq: number, Lk: number, klen: number, qlen: number, causal: boolean): Float64Array {
  const sd = Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, Float64Array.from(v.dataSync())]));
  const E = m.embedDim, H = m.numHeads, Dh = m.headDim;
  const proj = (x: Float32Array, L: number, part: number) => {
    const o = new Float64Array(L * E);
    for (let t = 0; t < L; ++t) for (let j = 0; j < E; ++j) {
      let s = sd.in_proj_bias[part * E + j];
      for (let i = 0; i < E; ++i) s += x[t * E + i] * sd.in_proj_weight[(part * E + j) * E + i];
      o[t * E + j] = s;
    }
    return o;
  };
  const Q = proj(q, Lq, 0), K = proj(kv, Lk, 1), V = proj(kv, Lk, 2);
  const ctx = new Float64Array(Lq * E);
  for (let h = 0; h < H; ++h) for (let i = 0; i < qlen; ++i) {
    const s: number[] = [];
    for (let j = 0; j < Lk; ++j) {
      const visible = j < klen && (!causal || j <= i + (Lk - Lq));
      let d = 0;
      for (let c = 0; c < Dh; ++c) d += Q[i * E + h * Dh + c] * K[j * E + h * Dh + c];
      s.push(visible ? d / Math.sqrt(Dh) : -Infinity);
    }
    const mx = Math.max(...s);
    const p = s.map((v) => (mx === -Infinity ? 0 : Math.exp(v - mx)));
    const z = p.reduce((a, b) => a + b, 0) || 1;
    for (let c = 0; c < Dh; ++c) {
      let acc = 0;
      for (let j = 0; j < Lk; ++j) acc += (p[j] / z) * V[j * E + h * Dh + c];
      ctx[i * E + h * Dh + c] = acc;
    }
  }
  const out = new Float64Array(Lq * E);
  for (let t = 0; t < Lq; ++t) for (let j = 0; j < E; ++j) {
    let s = sd['out_proj.bias'][j];
    for (let i = 0; i < E; ++i) s += ctx[t * E + i] * sd['out_proj.weight'][j * E + i];
    out[t * E + j] = s;
  }
  return out;
}

describe.each(testDevices)('MultiHeadAttention on %s', (device) => {
  test('torch.nn.MultiheadAttention names and init', () => {
    const m = new nn.MultiHeadAttention(16, 4, { seed: 1, device });
    expect(m.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([
      ['in_proj_weight', [48, 16]], ['in_proj_bias', [48]], ['out_proj.weight', [16, 16]], ['out_proj.bias', [16]],
    ]);
    expect(Array.from(m.in_proj_bias!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(m.out_proj.bias!.dataSync()).every((v) => v === 0)).toBe(true);
    const bound = Math.sqrt(6 / (48 + 16));
    expect(Array.from(m.in_proj_weight.dataSync()).every((v) => Math.abs(v) <= bound)).toBe(true);
  });

  test.each([false, true])('self-attention with key/query padding vs float64 (causal = %s)', (causal) => {
    const [B, L, E] = [3, 7, 16];
    const m = new nn.MultiHeadAttention(E, 4, { seed: 2, device });
    // Non-zero biases so the test sees them.
    const sd = m.stateDict();
    m.loadStateDict({ ...sd, in_proj_bias: tensor(Float32Array.from(randomArray(48)), [48]), 'out_proj.bias': tensor(Float32Array.from(randomArray(16)), [16]) });
    const x = Float32Array.from(randomArray(B * L * E));
    const lens = [7, 3, 1];
    const y = m.forward(tensor(x, [B, L, E], { device }), { keyLengths: lens, queryLengths: lens, causal }).dataSync();
    for (let b = 0; b < B; ++b) {
      const xb = x.subarray(b * L * E, (b + 1) * L * E);
      const ref = mhaRef(m, xb, xb, L, L, lens[b], lens[b], causal);
      expect(closeness(y.subarray(b * L * E, (b + 1) * L * E), ref, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  test('cross-attention (Lq != Lk) and gradients to every parameter', () => {
    const [B, Lq, Lk, E] = [2, 5, 9, 8];
    const m = new nn.MultiHeadAttention(E, 2, { seed: 3, device });
    const q = Float32Array.from(randomArray(B * Lq * E));
    const kv = Float32Array.from(randomArray(B * Lk * E));
    const qt = tensor(q, [B, Lq, E], { device, requiresGrad: true });
    const kvt = tensor(kv, [B, Lk, E], { device });
    const y = m.forward(qt, { key: kvt, value: kvt, keyLengths: [9, 6] });
    for (let b = 0; b < B; ++b) {
      const ref = mhaRef(m, q.subarray(b * Lq * E, (b + 1) * Lq * E), kv.subarray(b * Lk * E, (b + 1) * Lk * E), Lq, Lk, [9, 6][b], Lq, false);
      expect(closeness(y.dataSync().subarray(b * Lq * E, (b + 1) * Lq * E), ref, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    }
    ops.sum(ops.square(y)).backward();
    for (const [n, p] of m.namedParameters()) expect({ n, ok: p.grad !== null }).toEqual({ n, ok: true });
    expect(qt.grad).not.toBeNull();
  });
});
