// mamba_ref.ts — a float64 reference of the whole Mamba mixer (mamba-ssm's slow path), for tests.
import { nn } from '../../lib';

const silu = (v: number) => v / (1 + Math.exp(-v));
const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));

/** float64 Mamba forward for one item x (L, C) with `len` valid steps (out (L, C)). */
export function mambaRef(m: nn.Mamba, x: Float32Array, L: number, len: number, reverse: boolean): Float64Array {
  const sd = Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, Float64Array.from(v.dataSync())]));
  const C = m.dModel, E = m.dInner, N = m.dState, R = m.dtRank, W = m.dConv;
  const lin = (inp: Float64Array, rows: number, w: Float64Array, outF: number, inF: number, b?: Float64Array) => {
    const o = new Float64Array(rows * outF);
    for (let r = 0; r < rows; ++r) for (let j = 0; j < outF; ++j) {
      let s = b ? b[j] : 0;
      for (let i = 0; i < inF; ++i) s += inp[r * inF + i] * w[j * inF + i];
      o[r * outF + j] = s;
    }
    return o;
  };
  const xz = lin(Float64Array.from(x), L, sd['in_proj.weight'], 2 * E, C);
  // time order: the valid steps, reversed when `reverse`
  const order = Array.from({ length: len }, (_, i) => (reverse ? len - 1 - i : i));
  const xc = new Float64Array(L * E);
  for (let k = 0; k < len; ++k) for (let e = 0; e < E; ++e) {
    let s = sd['conv1d.bias'][e];
    for (let j = 0; j < W; ++j) {
      const src = k - (W - 1) + j;
      if (src >= 0) s += sd['conv1d.weight'][e * W + j] * xz[order[src] * 2 * E + e];
    }
    xc[order[k] * E + e] = silu(s);
  }
  const xdbl = lin(xc, L, sd['x_proj.weight'], R + 2 * N, E);
  const dtIn = new Float64Array(L * R);
  for (let t = 0; t < L; ++t) for (let r = 0; r < R; ++r) dtIn[t * R + r] = xdbl[t * (R + 2 * N) + r];
  const dt = lin(dtIn, L, sd['dt_proj.weight'], E, R, sd['dt_proj.bias']);
  const y = new Float64Array(L * E);
  for (let e = 0; e < E; ++e) {
    const h = new Float64Array(N);
    for (const t of order) {
      const d = softplus(dt[t * E + e]);
      let acc = 0;
      for (let n = 0; n < N; ++n) {
        const A = -Math.exp(sd.A_log[e * N + n]);
        h[n] = Math.exp(d * A) * h[n] + d * xdbl[t * (R + 2 * N) + R + n] * xc[t * E + e];
        acc += xdbl[t * (R + 2 * N) + R + N + n] * h[n];
      }
      y[t * E + e] = (acc + sd.D[e] * xc[t * E + e]) * silu(xz[t * 2 * E + E + e]);
    }
  }
  return lin(y, L, sd['out_proj.weight'], C, E);
}

