// conv_helpers.ts — float64 references and case builders shared by the conv tests: every
// (output, tap) product scattered in plain loops, independent of the native kernels.
import { DType, Device, ops, Tensor, tensor } from '../../lib';
import { bf16Round, closeness, randomArray } from '../helpers/reference';

export const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** One conv problem in conv2d terms (1-D: H = kh = 1). */
export interface Geo { N: number; Cin: number; Cout: number; G: number; H: number; W: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; Ho: number; Wo: number }

export interface Grads { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array }

/**
 * float64 conv and its gradients by scattering every (output, tap) product:
 * y[n, o, oy, ox] += w[o, c, ky, kx] x[n, g*cinG + c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw].
 * transposed: the same products with x and y swapped (x is the conv's output side).
 */
export function reference(g: Geo, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, dy: ArrayLike<number>,
  transposed: boolean): Grads {
  const cinG = g.Cin / g.G, coutG = g.Cout / g.G;
  const big = new Float64Array(g.N * g.Cin * g.H * g.W);     // conv input side
  const small = new Float64Array(g.N * g.Cout * g.Ho * g.Wo); // conv output side
  const dBig = new Float64Array(big.length), dSmall = new Float64Array(small.length);
  const dw = new Float64Array(w.length);
  const bigIn = transposed ? null : x, smallIn = transposed ? x : null;
  const gradBig = transposed ? dy : null, gradSmall = transposed ? null : dy;
  for (let n = 0; n < g.N; ++n) for (let o = 0; o < g.Cout; ++o) {
    const grp = Math.floor(o / coutG);
    for (let c = 0; c < cinG; ++c) for (let ky = 0; ky < g.kh; ++ky) for (let kx = 0; kx < g.kw; ++kx) {
      const wi = ((o * cinG + c) * g.kh + ky) * g.kw + kx;
      for (let oy = 0; oy < g.Ho; ++oy) for (let ox = 0; ox < g.Wo; ++ox) {
        const iy = oy * g.sh - g.ph + ky * g.dh, ix = ox * g.sw - g.pw + kx * g.dw;
        if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
        const bi = ((n * g.Cin + grp * cinG + c) * g.H + iy) * g.W + ix;
        const si = ((n * g.Cout + o) * g.Ho + oy) * g.Wo + ox;
        if (bigIn) {
          small[si] += w[wi] * bigIn[bi];
          dBig[bi] += w[wi] * gradSmall![si];
          dw[wi] += bigIn[bi] * gradSmall![si];
        } else {
          big[bi] += w[wi] * smallIn![si];
          dSmall[si] += w[wi] * gradBig![bi];
          dw[wi] += smallIn![si] * gradBig![bi];
        }
      }
    }
  }
  const out = transposed ? big : small;
  const gOut = dy;
  const C = transposed ? g.Cin : g.Cout;
  const P = out.length / (g.N * C);
  const db = new Float64Array(C);
  for (let i = 0; i < out.length; ++i) {
    const ch = Math.floor(i / P) % C;
    if (b) out[i] += b[ch];
    db[ch] += gOut[i];
  }
  return { y: out, dx: transposed ? dSmall : dBig, dw, db };
}

export type Kind = 'conv1d' | 'conv2d' | 'convT';
export interface Case { kind: Kind; x: number[]; w: number[]; bias?: boolean; opts: Record<string, unknown>; geo: Geo }

export function geo1(N: number, Cin: number, L: number, Cout: number, K: number, s = 1, p = 0, d = 1, G = 1, Lout?: number): Geo {
  const Lo = Lout ?? Math.floor((L + 2 * p - d * (K - 1) - 1) / s) + 1;
  return { N, Cin, Cout, G, H: 1, W: L, kh: 1, kw: K, sh: 1, sw: s, ph: 0, pw: p, dh: 1, dw: d, Ho: 1, Wo: Lo };
}

export function c1(N: number, Cin: number, L: number, Cout: number, K: number, o: { s?: number; p?: number | 'same' | 'valid'; d?: number; G?: number; bias?: boolean } = {}): Case {
  const s = o.s ?? 1, d = o.d ?? 1, G = o.G ?? 1;
  const p = o.p === 'same' ? Math.floor(d * (K - 1) / 2) : o.p === 'valid' ? 0 : o.p ?? 0;
  const Lout = o.p === 'same' ? L : undefined;
  return { kind: 'conv1d', x: [N, Cin, L], w: [Cout, Cin / G, K], bias: o.bias, opts: { stride: s, padding: o.p ?? 0, dilation: d, groups: G },
    geo: geo1(N, Cin, L, Cout, K, s, p, d, G, Lout) };
}

export function c2(N: number, Cin: number, H: number, W: number, Cout: number, k: [number, number], s: [number, number], p: [number, number],
  d: [number, number], G: number, bias = true): Case {
  const out = (i: number, kk: number, ss: number, pp: number, dd: number) => Math.floor((i + 2 * pp - dd * (kk - 1) - 1) / ss) + 1;
  return { kind: 'conv2d', x: [N, Cin, H, W], w: [Cout, Cin / G, ...k], bias, opts: { stride: s, padding: p, dilation: d, groups: G },
    geo: { N, Cin, Cout, G, H, W, kh: k[0], kw: k[1], sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1], Ho: out(H, k[0], s[0], p[0], d[0]), Wo: out(W, k[1], s[1], p[1], d[1]) } };
}

/** convTranspose1d x (N, Cin, L), w (Cin, Cout/G, K): the conv from (N, Cout, Lout) to (N, Cin, L). */
export function ct(N: number, Cin: number, L: number, Cout: number, K: number, s = 1, p = 0, op = 0, d = 1, G = 1, bias = true): Case {
  const Lout = (L - 1) * s - 2 * p + d * (K - 1) + op + 1;
  const gc = geo1(N, Cout, Lout, Cin, K, s, p, d, G, L);
  return { kind: 'convT', x: [N, Cin, L], w: [Cin, Cout / G, K], bias, opts: { stride: s, padding: p, outputPadding: op, dilation: d, groups: G }, geo: gc };
}

export function call(c: Case, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  if (c.kind === 'conv1d') return ops.conv1d(x, w, b, c.opts);
  if (c.kind === 'conv2d') return ops.conv2d(x, w, b, c.opts);
  return ops.convTranspose1d(x, w, b, c.opts);
}

/** closeness with atol relative to the largest reference value (sums of many products grow with sqrt(terms)). */
export function check(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol: number, atol: number): void {
  let big = 1;
  for (let i = 0; i < want.length; ++i) big = Math.max(big, Math.abs(want[i]));
  const e = closeness(got, want, rtol, atol * big);
  if (!(e <= 1)) throw new Error(`${what}: closeness ${e}`);
}

export function runCase(c: Case, device: Device, dtype: DType, rtol: number, atol: number): void {
  const round = dtype === 'bfloat16' ? bf16Round : Math.fround;
  const biasC = c.kind === 'convT' ? c.geo.Cin : c.geo.Cout;
  const xv = randomArray(prod(c.x)).map(round);
  const wv = randomArray(prod(c.w)).map(round);
  const bv = c.bias ? randomArray(biasC).map(Math.fround) : null;
  const x = tensor(Float32Array.from(xv), c.x, { device, dtype, requiresGrad: true });
  const w = tensor(Float32Array.from(wv), c.w, { device, dtype, requiresGrad: true });
  const b = bv ? tensor(Float32Array.from(bv), [biasC], { device, requiresGrad: true }) : null;
  const y = call(c, x, w, b);
  const dy = randomArray(y.size).map(round);
  const ref = reference(c.geo, xv, wv, bv, dy, c.kind === 'convT');
  // Plain throws, not jest's expect: the CPU-kernel test runs this in a child process too.
  if (y.dtype !== dtype) throw new Error(`y dtype ${y.dtype}, expected ${dtype}`);
  if (y.size !== ref.y.length) throw new Error(`y has ${y.size} elements, expected ${ref.y.length}`);
  check(y.dataSync(), ref.y, 'y', rtol, atol);
  y.backward(tensor(Float32Array.from(dy), y.shape, { device, dtype }));
  check(x.grad!.dataSync(), ref.dx, 'dx', rtol, atol);
  check(w.grad!.dataSync(), ref.dw, 'dweight', rtol, atol * 4);
  if (b) check(b.grad!.dataSync(), ref.db, 'dbias', rtol, atol * 4);
}
