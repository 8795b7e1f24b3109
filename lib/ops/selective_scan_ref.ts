/**
 * selective_scan_ref.ts — the float64 reference of selectiveScan and causalConv1d: plain loops,
 * every option, forward and a reverse-mode backward, written for reading, not speed. Tests
 * compare the native ops against these (and these against finite differences).
 *
 * Glossary as in selective_scan.ts: u, delta, z (B, D, L); A (D, N); Bm, Cm (B, G, N, L);
 * Dskip, deltaBias (D); states (B, D, N); len = lengths[b] (valid steps, right padding).
 */
import { Tensor } from '../tensor/tensor';

/** Values with a shape, in float64 (row-major). */
export interface RefArray {
  data: Float64Array;
  shape: number[];
}

/** A reference input: a Tensor (read with dataSync) or values with a shape. */
export type RefInput = Tensor | { data: ArrayLike<number>; shape: readonly number[] };

export interface ScanRefOptions {
  D?: RefInput | null;
  z?: RefInput | null;
  deltaBias?: RefInput | null;
  deltaSoftplus?: boolean;
  initialState?: RefInput | null;
  lengths?: ArrayLike<number> | Tensor | null;
  reverse?: boolean;
}

export interface ScanRefGrads {
  u: RefArray; delta: RefArray; A: RefArray; B: RefArray; C: RefArray;
  D: RefArray | null; z: RefArray | null; deltaBias: RefArray | null; initialState: RefArray | null;
}

export interface ScanRefResult {
  out: RefArray;
  lastState: RefArray;
  /** Gradients for an upstream gradient of out (B, D, L) and/or lastState (B, D, N); null = zeros. */
  backward(dout: ArrayLike<number> | null, dlast?: ArrayLike<number> | null): ScanRefGrads;
}

function read(x: RefInput): RefArray {
  if (x instanceof Tensor) return { data: Float64Array.from(x.dataSync()), shape: [...x.shape] };
  return { data: Float64Array.from(x.data), shape: [...x.shape] };
}

function readOpt(x: RefInput | null | undefined): RefArray | null {
  return x === undefined || x === null ? null : read(x);
}

function zeros(shape: number[]): RefArray {
  return { data: new Float64Array(shape.reduce((p, d) => p * d, 1)), shape };
}

const softplus = (x: number): number => (x <= 20 ? Math.log1p(Math.exp(x)) : x);
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** The selective scan in float64 (see selectiveScan for the math and options). */
export function selectiveScanRef(uIn: RefInput, deltaIn: RefInput, AIn: RefInput, BIn: RefInput, CIn: RefInput,
  opts: ScanRefOptions = {}): ScanRefResult {
  const u = read(uIn), delta = read(deltaIn), A = read(AIn), Bm = read(BIn), Cm = read(CIn);
  const Dk = readOpt(opts.D), z = readOpt(opts.z), bias = readOpt(opts.deltaBias), init = readOpt(opts.initialState);
  const [Bn, Dn, L] = u.shape;
  const N = A.shape[1];
  const G = Bm.shape.length === 4 ? Bm.shape[1] : 1;
  const gsize = Dn / G;
  const lens = new Int32Array(Bn).fill(L);
  if (opts.lengths) {
    const l = opts.lengths instanceof Tensor ? opts.lengths.dataSync() : opts.lengths;
    for (let b = 0; b < Bn; ++b) lens[b] = l[b];
  }
  const softplusOn = opts.deltaSoftplus === true, reverse = opts.reverse === true;
  const out = zeros([Bn, Dn, L]);
  const last = zeros([Bn, Dn, N]);
  // Per row: states after each processed step (len x N), pre-gate y, dt; kept for backward.
  const hsAll: Float64Array[] = [];
  const yAll: Float64Array[] = [];
  const posOf = (len: number, k: number): number => (reverse ? len - 1 - k : k);
  for (let b = 0; b < Bn; ++b) {
    for (let d = 0; d < Dn; ++d) {
      const row = b * Dn + d, off = row * L, len = lens[b];
      const goff = (b * G + Math.floor(d / gsize)) * N * L;
      const h = new Float64Array(N);
      for (let n = 0; n < N; ++n) h[n] = init ? init.data[row * N + n] : 0;
      const hs = new Float64Array(len * N);
      const ys = new Float64Array(len);
      for (let k = 0; k < len; ++k) {
        const t = posOf(len, k);
        const x = delta.data[off + t] + (bias ? bias.data[d] : 0);
        const dt = softplusOn ? softplus(x) : x;
        let y = 0;
        for (let n = 0; n < N; ++n) {
          h[n] = Math.exp(dt * A.data[d * N + n]) * h[n] + dt * Bm.data[goff + n * L + t] * u.data[off + t];
          y += Cm.data[goff + n * L + t] * h[n];
          hs[k * N + n] = h[n];
        }
        y += (Dk ? Dk.data[d] : 0) * u.data[off + t];
        ys[k] = y;
        out.data[off + t] = z ? y * z.data[off + t] * sigmoid(z.data[off + t]) : y;
      }
      for (let n = 0; n < N; ++n) last.data[row * N + n] = h[n];
      hsAll.push(hs);
      yAll.push(ys);
    }
  }

  const backward = (dout: ArrayLike<number> | null, dlast?: ArrayLike<number> | null): ScanRefGrads => {
    const g: ScanRefGrads = {
      u: zeros([Bn, Dn, L]), delta: zeros([Bn, Dn, L]), A: zeros([Dn, N]), B: zeros([...Bm.shape]), C: zeros([...Cm.shape]),
      D: Dk ? zeros([Dn]) : null, z: z ? zeros([Bn, Dn, L]) : null, deltaBias: bias ? zeros([Dn]) : null,
      initialState: init ? zeros([Bn, Dn, N]) : null,
    };
    for (let b = 0; b < Bn; ++b) {
      for (let d = 0; d < Dn; ++d) {
        const row = b * Dn + d, off = row * L, len = lens[b];
        const goff = (b * G + Math.floor(d / gsize)) * N * L;
        const hs = hsAll[row], ys = yAll[row];
        const gh = new Float64Array(N); // dLoss/dh after the current step, from later steps
        for (let n = 0; n < N; ++n) gh[n] = dlast ? dlast[row * N + n] : 0;
        for (let k = len - 1; k >= 0; --k) {
          const t = posOf(len, k);
          const x = delta.data[off + t] + (bias ? bias.data[d] : 0);
          const dt = softplusOn ? softplus(x) : x;
          const uu = u.data[off + t];
          const go = dout ? dout[off + t] : 0;
          let dy = go;
          if (z) {
            const zz = z.data[off + t], s = sigmoid(zz);
            dy = go * zz * s;
            g.z!.data[off + t] = go * ys[k] * s * (1 + zz * (1 - s));
          }
          if (Dk) g.D!.data[d] += dy * uu;
          let du = (Dk ? Dk.data[d] : 0) * dy, ddt = 0;
          for (let n = 0; n < N; ++n) {
            const Bv = Bm.data[goff + n * L + t], Cv = Cm.data[goff + n * L + t];
            const a = Math.exp(dt * A.data[d * N + n]);
            const hprev = k > 0 ? hs[(k - 1) * N + n] : init ? init.data[row * N + n] : 0;
            const gv = gh[n] + Cv * dy;
            g.C.data[goff + n * L + t] += dy * hs[k * N + n];
            g.B.data[goff + n * L + t] += gv * dt * uu;
            ddt += gv * (Bv * uu + A.data[d * N + n] * a * hprev);
            du += gv * dt * Bv;
            g.A.data[d * N + n] += gv * a * hprev * dt;
            gh[n] = a * gv;
          }
          const dx = softplusOn ? ddt * sigmoid(x) : ddt;
          g.u.data[off + t] = du;
          g.delta.data[off + t] = dx;
          if (bias) g.deltaBias!.data[d] += dx;
        }
        if (init) for (let n = 0; n < N; ++n) g.initialState!.data[row * N + n] = gh[n];
      }
    }
    return g;
  };
  return { out, lastState: last, backward };
}
