/**
 * FFT of any size on the CPU, float64: a mixed-radix (4, 2, 3, 5) Stockham autosort FFT for
 * sizes whose prime factors are 2, 3, 5 (400 = 4*4*5*5, 512 = 4^4*2), Bluestein's chirp-z for
 * every other size (97, 2049 = 3*683) through a power-of-two FFT of size >= 2n - 1. Plans hold
 * twiddles and scratch and are cached by size; a transform allocates nothing.
 *
 * Glossary:
 *   N         transform size of the plan
 *   W_N^t     exp(-2 pi i t / N): the forward twiddle; the inverse uses its conjugate
 *   sign      +1 forward, -1 inverse (unnormalised; `ifft` divides by N)
 *   stage     one radix-p pass over the data: L = current sub-length, s = stride = N / L
 *   rfft      real FFT of even N through one complex FFT of N/2 (pack x[2k] + i x[2k+1], then
 *             split the even/odd spectra), so a 400-point frame costs a 200-point complex FFT
 */

import { checkPositiveInt, fail } from './check';

export interface Complex {
  re: Float64Array;
  im: Float64Array;
}

/** Complex FFT plan of size n: twiddle table, radix list or Bluestein state, scratch buffers. */
export class FftPlan {
  readonly n: number;
  readonly factors: number[]; // radices in stage order; empty when Bluestein is used
  private readonly cos: Float64Array; // (n) cos(2 pi t / n)
  private readonly sin: Float64Array; // (n) sin(2 pi t / n)
  private readonly workRe: Float64Array; // (n) ping-pong buffer for the Stockham stages
  private readonly workIm: Float64Array; // (n)
  private readonly parkRe: Float64Array; // (n) copy of the input for in-place calls
  private readonly parkIm: Float64Array; // (n)
  private readonly blue: Bluestein | null;

  constructor(n: number) {
    checkPositiveInt('fft', 'n', n);
    this.n = n;
    this.factors = factorize(n);
    const tableSize = this.factors.length > 0 ? n : 0;
    this.cos = new Float64Array(tableSize);
    this.sin = new Float64Array(tableSize);
    for (let t = 0; t < tableSize; t++) {
      // Reduce the angle to the first half-turn's symmetric form so cos/sin stay exact at t = n/4, n/2.
      const a = (2 * Math.PI * t) / n;
      this.cos[t] = 4 * t === n || 4 * t === 3 * n ? 0 : Math.cos(a);
      this.sin[t] = 2 * t === n ? 0 : Math.sin(a);
    }
    this.workRe = new Float64Array(n);
    this.workIm = new Float64Array(n);
    this.parkRe = new Float64Array(n);
    this.parkIm = new Float64Array(n);
    this.blue = this.factors.length > 0 || n === 1 ? null : new Bluestein(n);
  }

  /** Unnormalised transform: out = sum_t in[t] W_N^{sign * k t}. `out` may be the same arrays as
   *  `in`. Shapes: inRe, inIm, outRe, outIm (n). */
  transform(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array, inverse = false): void {
    const n = this.n;
    if (n === 1) {
      outRe[0] = inRe[0];
      outIm[0] = inIm[0];
      return;
    }
    if (this.blue) {
      this.blue.transform(inRe, inIm, outRe, outIm, inverse);
      return;
    }
    const sign = inverse ? -1 : 1;
    const stages = this.factors.length;
    let srcRe = inRe;
    let srcIm = inIm;
    if (inRe === outRe || inIm === outIm) {
      // In-place call: park the input so that no stage reads what it is writing.
      this.parkRe.set(inRe);
      this.parkIm.set(inIm);
      srcRe = this.parkRe;
      srcIm = this.parkIm;
    }
    let L = n;
    let s = 1;
    for (let i = 0; i < stages; i++) {
      const p = this.factors[i];
      // Stages alternate between `work` and `out`, counted back so the last one lands in `out`.
      const toOut = (stages - 1 - i) % 2 === 0;
      const dstRe = toOut ? outRe : this.workRe;
      const dstIm = toOut ? outIm : this.workIm;
      if (p === 4) this.radix4(L, s, srcRe, srcIm, dstRe, dstIm, sign);
      else if (p === 2) this.radix2(L, s, srcRe, srcIm, dstRe, dstIm, sign);
      else if (p === 3) this.radix3(L, s, srcRe, srcIm, dstRe, dstIm, sign);
      else this.radix5(L, s, srcRe, srcIm, dstRe, dstIm, sign);
      srcRe = dstRe;
      srcIm = dstIm;
      L /= p;
      s *= p;
    }
  }

  // Each stage: for j < m = L/p, q < s: y_k = (sum_r a_r W_p^{rk}) * W_N^{jks},
  // a_r = src[q + s(j + rm)], written to dst[q + s(pj + k)] (decimation in frequency, autosort).
  private radix2(L: number, s: number, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, sign: number): void {
    const m = L / 2;
    for (let j = 0; j < m; j++) {
      const wr = this.cos[j * s];
      const wi = -sign * this.sin[j * s];
      for (let q = 0; q < s; q++) {
        const a = q + s * j;
        const b = a + s * m;
        const ar = xr[a], ai = xi[a], br = xr[b], bi = xi[b];
        const o = q + s * 2 * j;
        yr[o] = ar + br;
        yi[o] = ai + bi;
        const dr = ar - br, di = ai - bi;
        yr[o + s] = dr * wr - di * wi;
        yi[o + s] = dr * wi + di * wr;
      }
    }
  }

  private radix4(L: number, s: number, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, sign: number): void {
    const m = L / 4;
    const { cos, sin } = this;
    for (let j = 0; j < m; j++) {
      const w1r = cos[j * s], w1i = -sign * sin[j * s];
      const w2r = cos[2 * j * s], w2i = -sign * sin[2 * j * s];
      const w3r = cos[3 * j * s], w3i = -sign * sin[3 * j * s];
      for (let q = 0; q < s; q++) {
        const i0 = q + s * j, i1 = i0 + s * m, i2 = i1 + s * m, i3 = i2 + s * m;
        const t0r = xr[i0] + xr[i2], t0i = xi[i0] + xi[i2];
        const t1r = xr[i0] - xr[i2], t1i = xi[i0] - xi[i2];
        const t2r = xr[i1] + xr[i3], t2i = xi[i1] + xi[i3];
        const t3r = xr[i1] - xr[i3], t3i = xi[i1] - xi[i3];
        // y1 = t1 - i*sign*t3, y3 = t1 + i*sign*t3 (W_4 = -i forward)
        const y1r = t1r + sign * t3i, y1i = t1i - sign * t3r;
        const y2r = t0r - t2r, y2i = t0i - t2i;
        const y3r = t1r - sign * t3i, y3i = t1i + sign * t3r;
        const o = q + s * 4 * j;
        yr[o] = t0r + t2r;
        yi[o] = t0i + t2i;
        yr[o + s] = y1r * w1r - y1i * w1i;
        yi[o + s] = y1r * w1i + y1i * w1r;
        yr[o + 2 * s] = y2r * w2r - y2i * w2i;
        yi[o + 2 * s] = y2r * w2i + y2i * w2r;
        yr[o + 3 * s] = y3r * w3r - y3i * w3i;
        yi[o + 3 * s] = y3r * w3i + y3i * w3r;
      }
    }
  }

  private radix3(L: number, s: number, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, sign: number): void {
    const m = L / 3;
    const c = sign * (Math.sqrt(3) / 2); // sin(2 pi / 3)
    const { cos, sin } = this;
    for (let j = 0; j < m; j++) {
      const w1r = cos[j * s], w1i = -sign * sin[j * s];
      const w2r = cos[2 * j * s], w2i = -sign * sin[2 * j * s];
      for (let q = 0; q < s; q++) {
        const i0 = q + s * j, i1 = i0 + s * m, i2 = i1 + s * m;
        const t1r = xr[i1] + xr[i2], t1i = xi[i1] + xi[i2];
        const t2r = xr[i1] - xr[i2], t2i = xi[i1] - xi[i2];
        const m1r = xr[i0] - 0.5 * t1r, m1i = xi[i0] - 0.5 * t1i;
        const m2r = c * t2i, m2i = -c * t2r; // -i * sign * sqrt(3)/2 * t2
        const y1r = m1r + m2r, y1i = m1i + m2i;
        const y2r = m1r - m2r, y2i = m1i - m2i;
        const o = q + s * 3 * j;
        yr[o] = xr[i0] + t1r;
        yi[o] = xi[i0] + t1i;
        yr[o + s] = y1r * w1r - y1i * w1i;
        yi[o + s] = y1r * w1i + y1i * w1r;
        yr[o + 2 * s] = y2r * w2r - y2i * w2i;
        yi[o + 2 * s] = y2r * w2i + y2i * w2r;
      }
    }
  }

  private radix5(L: number, s: number, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array, sign: number): void {
    const m = L / 5;
    const c1 = Math.cos((2 * Math.PI) / 5), c2 = Math.cos((4 * Math.PI) / 5);
    const s1 = sign * Math.sin((2 * Math.PI) / 5), s2 = sign * Math.sin((4 * Math.PI) / 5);
    const { cos, sin } = this;
    for (let j = 0; j < m; j++) {
      const js = j * s;
      const w1r = cos[js], w1i = -sign * sin[js];
      const w2r = cos[2 * js], w2i = -sign * sin[2 * js];
      const w3r = cos[3 * js], w3i = -sign * sin[3 * js];
      const w4r = cos[4 * js], w4i = -sign * sin[4 * js];
      for (let q = 0; q < s; q++) {
        const i0 = q + js, i1 = i0 + s * m, i2 = i1 + s * m, i3 = i2 + s * m, i4 = i3 + s * m;
        const t1r = xr[i1] + xr[i4], t1i = xi[i1] + xi[i4];
        const t2r = xr[i2] + xr[i3], t2i = xi[i2] + xi[i3];
        const t3r = xr[i1] - xr[i4], t3i = xi[i1] - xi[i4];
        const t4r = xr[i2] - xr[i3], t4i = xi[i2] - xi[i3];
        const b1r = xr[i0] + c1 * t1r + c2 * t2r, b1i = xi[i0] + c1 * t1i + c2 * t2i;
        const b2r = xr[i0] + c2 * t1r + c1 * t2r, b2i = xi[i0] + c2 * t1i + c1 * t2i;
        const d1r = s1 * t3r + s2 * t4r, d1i = s1 * t3i + s2 * t4i;
        const d2r = s2 * t3r - s1 * t4r, d2i = s2 * t3i - s1 * t4i;
        // y1 = b1 - i d1, y4 = b1 + i d1, y2 = b2 - i d2, y3 = b2 + i d2 (sign folded into s1, s2)
        const y1r = b1r + d1i, y1i = b1i - d1r;
        const y4r = b1r - d1i, y4i = b1i + d1r;
        const y2r = b2r + d2i, y2i = b2i - d2r;
        const y3r = b2r - d2i, y3i = b2i + d2r;
        const o = q + 5 * js;
        yr[o] = xr[i0] + t1r + t2r;
        yi[o] = xi[i0] + t1i + t2i;
        yr[o + s] = y1r * w1r - y1i * w1i;
        yi[o + s] = y1r * w1i + y1i * w1r;
        yr[o + 2 * s] = y2r * w2r - y2i * w2i;
        yi[o + 2 * s] = y2r * w2i + y2i * w2r;
        yr[o + 3 * s] = y3r * w3r - y3i * w3i;
        yi[o + 3 * s] = y3r * w3i + y3i * w3r;
        yr[o + 4 * s] = y4r * w4r - y4i * w4i;
        yi[o + 4 * s] = y4r * w4i + y4i * w4r;
      }
    }
  }
}

/** Radices 4, 2, 3, 5 in stage order, or [] when n has another prime factor (Bluestein). */
function factorize(n: number): number[] {
  const out: number[] = [];
  let r = n;
  while (r % 4 === 0) { out.push(4); r /= 4; }
  while (r % 2 === 0) { out.push(2); r /= 2; }
  while (r % 3 === 0) { out.push(3); r /= 3; }
  while (r % 5 === 0) { out.push(5); r /= 5; }
  return r === 1 ? out : [];
}

/** Bluestein's chirp-z: X_k = w_k * sum_t (x_t w_t) conj(w_{k-t}), w_k = exp(-i pi k^2 / n), the
 *  convolution done by a power-of-two FFT of size m >= 2n - 1 (n = 2049 -> m = 4096). */
class Bluestein {
  private readonly n: number;
  private readonly m: number;
  private readonly inner: FftPlan;
  private readonly wr: Float64Array; // (n) chirp
  private readonly wi: Float64Array; // (n)
  private readonly bRe: Float64Array; // (m) FFT of the conjugate chirp, wrapped
  private readonly bIm: Float64Array; // (m)
  private readonly aRe: Float64Array; // (m) scratch
  private readonly aIm: Float64Array; // (m)

  constructor(n: number) {
    this.n = n;
    let m = 1;
    while (m < 2 * n - 1) m *= 2;
    this.m = m;
    this.inner = fftPlan(m);
    this.wr = new Float64Array(n);
    this.wi = new Float64Array(n);
    // k^2 mod 2n, kept exact by stepping (k+1)^2 = k^2 + 2k + 1, so angles stay in [0, 2 pi).
    let k2 = 0;
    for (let k = 0; k < n; k++) {
      const a = (Math.PI * k2) / n;
      this.wr[k] = Math.cos(a);
      this.wi[k] = -Math.sin(a);
      k2 = (k2 + 2 * k + 1) % (2 * n);
    }
    this.bRe = new Float64Array(m);
    this.bIm = new Float64Array(m);
    for (let k = 0; k < n; k++) {
      this.bRe[k] = this.wr[k];
      this.bIm[k] = -this.wi[k];
      if (k > 0) {
        this.bRe[m - k] = this.wr[k];
        this.bIm[m - k] = -this.wi[k];
      }
    }
    this.inner.transform(this.bRe, this.bIm, this.bRe, this.bIm);
    this.aRe = new Float64Array(m);
    this.aIm = new Float64Array(m);
  }

  /** The inverse is conj(FFT(conj(x))), so one chirp serves both directions. */
  transform(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array, inverse: boolean): void {
    const { n, m, wr, wi, aRe, aIm, bRe, bIm } = this;
    const cs = inverse ? -1 : 1;
    for (let k = 0; k < n; k++) {
      const xr = inRe[k], xi = cs * inIm[k];
      aRe[k] = xr * wr[k] - xi * wi[k];
      aIm[k] = xr * wi[k] + xi * wr[k];
    }
    aRe.fill(0, n);
    aIm.fill(0, n);
    this.inner.transform(aRe, aIm, aRe, aIm);
    for (let k = 0; k < m; k++) {
      const r = aRe[k] * bRe[k] - aIm[k] * bIm[k];
      aIm[k] = aRe[k] * bIm[k] + aIm[k] * bRe[k];
      aRe[k] = r;
    }
    this.inner.transform(aRe, aIm, aRe, aIm, true);
    const inv = 1 / m;
    for (let k = 0; k < n; k++) {
      const cr = aRe[k] * inv, ci = aIm[k] * inv;
      outRe[k] = cr * wr[k] - ci * wi[k];
      outIm[k] = cs * (cr * wi[k] + ci * wr[k]);
    }
  }
}

/** Real FFT plan of size n: forward gives bins 0..floor(n/2); inverse takes them back. */
export class RealFftPlan {
  readonly n: number;
  readonly bins: number; // floor(n/2) + 1
  private readonly half: FftPlan; // n/2 (even n) or n (odd n)
  private readonly tr: Float64Array; // (n/2 + 1) cos(2 pi k / n)
  private readonly ti: Float64Array; // (n/2 + 1) sin(2 pi k / n)
  private readonly pRe: Float64Array; // (n/2 or n) packed input of the complex FFT
  private readonly pIm: Float64Array;
  private readonly zRe: Float64Array; // (n/2 or n) its output
  private readonly zIm: Float64Array;

  constructor(n: number) {
    checkPositiveInt('rfft', 'n', n);
    this.n = n;
    this.bins = Math.floor(n / 2) + 1;
    const even = n % 2 === 0 && n > 1;
    const h = even ? n / 2 : n;
    this.half = fftPlan(h);
    this.pRe = new Float64Array(h);
    this.pIm = new Float64Array(h);
    this.zRe = new Float64Array(h);
    this.zIm = new Float64Array(h);
    this.tr = new Float64Array(this.bins);
    this.ti = new Float64Array(this.bins);
    for (let k = 0; k < this.bins; k++) {
      this.tr[k] = Math.cos((2 * Math.PI * k) / n);
      this.ti[k] = Math.sin((2 * Math.PI * k) / n);
    }
  }

  /** X_k = sum_t x_t W_n^{kt}, k = 0..n/2. Shapes: x (n) -> outRe, outIm (bins). */
  forward(x: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    const { n, pRe, pIm, zRe, zIm } = this;
    if (n % 2 === 1 || n === 1) {
      for (let t = 0; t < n; t++) {
        pRe[t] = x[t];
        pIm[t] = 0;
      }
      this.half.transform(pRe, pIm, zRe, zIm);
      for (let k = 0; k < this.bins; k++) {
        outRe[k] = zRe[k];
        outIm[k] = zIm[k];
      }
      return;
    }
    const h = n / 2;
    for (let t = 0; t < h; t++) {
      pRe[t] = x[2 * t];
      pIm[t] = x[2 * t + 1];
    }
    this.half.transform(pRe, pIm, zRe, zIm);
    const { tr, ti } = this;
    for (let k = 0; k <= h; k++) {
      const a = k === h ? 0 : k;
      const b = k === 0 ? 0 : h - k;
      const zr = zRe[a], zi = zIm[a], cr = zRe[b], ci = -zIm[b]; // Z_k and conj(Z_{h-k})
      const er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci); // even-sample spectrum E_k
      const or = 0.5 * (zi - ci), oi = -0.5 * (zr - cr); // odd-sample spectrum O_k = (Z_k - conj Z_{h-k}) / 2i
      const wr = tr[k], wi = -ti[k]; // W_n^k
      outRe[k] = er + or * wr - oi * wi;
      outIm[k] = ei + or * wi + oi * wr;
    }
  }

  /** x_t = (1/n) sum over the Hermitian-extended spectrum; the imaginary parts of bin 0 (and of
   *  bin n/2 for even n) are ignored, as torch.fft.irfft does. Shapes: re, im (bins) -> out (n). */
  inverse(re: Float64Array, im: Float64Array, out: Float64Array): void {
    const { n, pRe, pIm, zRe, zIm } = this;
    if (n % 2 === 1 || n === 1) {
      pRe[0] = re[0];
      pIm[0] = 0;
      for (let k = 1; k < this.bins; k++) {
        pRe[k] = re[k];
        pIm[k] = im[k];
        pRe[n - k] = re[k];
        pIm[n - k] = -im[k];
      }
      this.half.transform(pRe, pIm, zRe, zIm, true);
      for (let t = 0; t < n; t++) out[t] = zRe[t] / n;
      return;
    }
    const h = n / 2;
    const { tr, ti } = this;
    for (let k = 0; k < h; k++) {
      const xr = re[k], xi = k === 0 ? 0 : im[k];
      const cr = re[h - k], ci = h - k === h || k === 0 ? 0 : -im[h - k]; // conj(X_{h-k})
      const er = 0.5 * (xr + cr), ei = 0.5 * (xi + ci);
      const dr = 0.5 * (xr - cr), di = 0.5 * (xi - ci);
      const wr = tr[k], wi = ti[k]; // W_n^{-k}
      const or = dr * wr - di * wi, oi = dr * wi + di * wr;
      pRe[k] = er - oi; // Z = E + i O
      pIm[k] = ei + or;
    }
    this.half.transform(pRe, pIm, zRe, zIm, true);
    const inv = 1 / h; // E and O are size-h spectra of the even and odd samples
    for (let t = 0; t < h; t++) {
      out[2 * t] = zRe[t] * inv;
      out[2 * t + 1] = zIm[t] * inv;
    }
  }
}

const complexPlans = new Map<number, FftPlan>();
const realPlans = new Map<number, RealFftPlan>();
const PLAN_CACHE_LIMIT = 64; // sizes in use at once are few; 64 plans of 4096 points ~ 8 MB

/** Cached complex FFT plan for size n. */
export function fftPlan(n: number): FftPlan {
  let p = complexPlans.get(n);
  if (!p) {
    p = new FftPlan(n);
    if (complexPlans.size >= PLAN_CACHE_LIMIT) complexPlans.delete(complexPlans.keys().next().value as number);
    complexPlans.set(n, p);
  }
  return p;
}

/** Cached real FFT plan for size n. */
export function realFftPlan(n: number): RealFftPlan {
  let p = realPlans.get(n);
  if (!p) {
    p = new RealFftPlan(n);
    if (realPlans.size >= PLAN_CACHE_LIMIT) realPlans.delete(realPlans.keys().next().value as number);
    realPlans.set(n, p);
  }
  return p;
}

/**
 * Forward complex DFT X_k = sum_t x_t exp(-2 pi i k t / n) of any size n >= 1. Shapes: re, im (n)
 * (im optional, zero if absent) -> { re, im } (n), float64, unnormalised (numpy/torch 'backward').
 */
export function fft(re: ArrayLike<number>, im?: ArrayLike<number>): Complex {
  return complexTransform('fft', re, im, false);
}

/** Inverse complex DFT with 1/n scaling, so ifft(fft(x)) = x. Shapes: re, im (n) -> (n). */
export function ifft(re: ArrayLike<number>, im?: ArrayLike<number>): Complex {
  const out = complexTransform('ifft', re, im, true);
  const inv = 1 / re.length;
  for (let k = 0; k < re.length; k++) {
    out.re[k] *= inv;
    out.im[k] *= inv;
  }
  return out;
}

/** Real-input DFT, bins 0..floor(n/2). Shapes: x (n) -> { re, im } (floor(n/2) + 1), float64. */
export function rfft(x: ArrayLike<number>): Complex {
  if (x.length === 0) fail('rfft', 'input is empty (0 samples)');
  const plan = realFftPlan(x.length);
  const out = { re: new Float64Array(plan.bins), im: new Float64Array(plan.bins) };
  plan.forward(Float64Array.from(x), out.re, out.im);
  return out;
}

/** Inverse of rfft with 1/n scaling. Shapes: re, im (bins) -> (n), n = 2 (bins - 1) by default;
 *  an odd n needs bins = (n + 1) / 2. */
export function irfft(re: ArrayLike<number>, im: ArrayLike<number>, n = 2 * (re.length - 1)): Float64Array {
  if (re.length !== im.length) fail('irfft', `re and im must have the same length, got ${re.length} and ${im.length}`);
  checkPositiveInt('irfft', 'n', n);
  if (Math.floor(n / 2) + 1 !== re.length) {
    fail('irfft', `n = ${n} needs ${Math.floor(n / 2) + 1} bins, got ${re.length}`);
  }
  const plan = realFftPlan(n);
  const out = new Float64Array(n);
  plan.inverse(Float64Array.from(re), Float64Array.from(im), out);
  return out;
}

function complexTransform(op: string, re: ArrayLike<number>, im: ArrayLike<number> | undefined, inverse: boolean): Complex {
  const n = re.length;
  if (n === 0) fail(op, 'input is empty (0 samples)');
  if (im && im.length !== n) fail(op, `re and im must have the same length, got ${n} and ${im.length}`);
  const outRe = Float64Array.from(re);
  const outIm = im ? Float64Array.from(im) : new Float64Array(n);
  fftPlan(n).transform(outRe, outIm, outRe, outIm, inverse);
  return { re: outRe, im: outIm };
}
