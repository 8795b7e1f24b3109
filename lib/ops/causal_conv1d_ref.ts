/**
 * causal_conv1d_ref.ts — the float64 reference of causalConv1d: plain loops, every option,
 * forward and a reverse-mode backward. Tests compare the native op against it.
 */
import { Tensor } from '../tensor/tensor';
import { RefArray, RefInput } from './selective_scan_ref';

function read(x: RefInput): RefArray {
  if (x instanceof Tensor) return { data: Float64Array.from(x.dataSync()), shape: [...x.shape] };
  return { data: Float64Array.from(x.data), shape: [...x.shape] };
}
const readOpt = (x: RefInput | null | undefined): RefArray | null => (x === undefined || x === null ? null : read(x));
const zeros = (shape: number[]): RefArray => ({ data: new Float64Array(shape.reduce((p, d) => p * d, 1)), shape });
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export interface ConvRefOptions {
  activation?: 'silu' | null;
  initialState?: RefInput | null;
  lengths?: ArrayLike<number> | Tensor | null;
}

export interface ConvRefGrads {
  x: RefArray; weight: RefArray; bias: RefArray | null; initialState: RefArray | null;
}

export interface ConvRefResult {
  out: RefArray;
  finalState: RefArray;
  backward(dout: ArrayLike<number> | null, dfinal?: ArrayLike<number> | null): ConvRefGrads;
}

/** Causal depthwise conv1d in float64 (see causalConv1d). */
export function causalConv1dRef(xIn: RefInput, wIn: RefInput, bIn: RefInput | null | undefined,
  opts: ConvRefOptions = {}): ConvRefResult {
  const x = read(xIn), w = read(wIn), bias = readOpt(bIn), init = readOpt(opts.initialState);
  const [Bn, Dn, L] = x.shape;
  const W = w.shape[1];
  const silu = opts.activation === 'silu';
  const lens = new Int32Array(Bn).fill(L);
  if (opts.lengths) {
    const l = opts.lengths instanceof Tensor ? opts.lengths.dataSync() : opts.lengths;
    for (let b = 0; b < Bn; ++b) lens[b] = l[b];
  }
  const at = (row: number, t: number): number =>
    t >= 0 ? x.data[row * L + t] : init ? init.data[row * (W - 1) + W - 1 + t] : 0;
  const pre = (row: number, d: number, t: number): number => {
    let s = bias ? bias.data[d] : 0;
    for (let k = 0; k < W; ++k) s += w.data[d * W + k] * at(row, t - (W - 1) + k);
    return s;
  };
  const out = zeros([Bn, Dn, L]);
  const fin = zeros([Bn, Dn, W - 1]);
  for (let b = 0; b < Bn; ++b) {
    for (let d = 0; d < Dn; ++d) {
      const row = b * Dn + d;
      for (let t = 0; t < lens[b]; ++t) {
        const p = pre(row, d, t);
        out.data[row * L + t] = silu ? p * sigmoid(p) : p;
      }
      for (let j = 0; j < W - 1; ++j) fin.data[row * (W - 1) + j] = at(row, lens[b] - (W - 1) + j);
    }
  }
  const backward = (dout: ArrayLike<number> | null, dfinal?: ArrayLike<number> | null): ConvRefGrads => {
    const g: ConvRefGrads = {
      x: zeros([Bn, Dn, L]), weight: zeros([Dn, W]), bias: bias ? zeros([Dn]) : null,
      initialState: init ? zeros([Bn, Dn, W - 1]) : null,
    };
    for (let b = 0; b < Bn; ++b) {
      for (let d = 0; d < Dn; ++d) {
        const row = b * Dn + d, len = lens[b];
        // d/d(input at time s), s >= -(W-1): accumulated into x or initialState.
        const addInput = (s: number, v: number): void => {
          if (s >= 0) g.x.data[row * L + s] += v;
          else if (init) g.initialState!.data[row * (W - 1) + W - 1 + s] += v;
        };
        for (let t = 0; t < len; ++t) {
          const go = dout ? dout[row * L + t] : 0;
          let dp = go;
          if (silu) {
            const p = pre(row, d, t), s = sigmoid(p);
            dp = go * s * (1 + p * (1 - s));
          }
          if (bias) g.bias!.data[d] += dp;
          for (let k = 0; k < W; ++k) {
            g.weight.data[d * W + k] += dp * at(row, t - (W - 1) + k);
            addInput(t - (W - 1) + k, dp * w.data[d * W + k]);
          }
        }
        if (dfinal) for (let j = 0; j < W - 1; ++j) addInput(len - (W - 1) + j, dfinal[row * (W - 1) + j]);
      }
    }
    return g;
  };
  return { out, finalState: fin, backward };
}
