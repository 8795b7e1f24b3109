/**
 * Band-limited resampling between any two integer sample rates: polyphase windowed-sinc with the
 * same kernel as torchaudio.functional.resample (`sinc_interp_kaiser` / `sinc_interp_hann`), so
 * outputs agree with torchaudio to float rounding.
 *
 * Glossary:
 *   orig, new   fromRate / g and toRate / g with g = gcd(fromRate, toRate); 16000 -> 44100 is
 *               orig = 160, new = 441: every 160 input samples give exactly 441 output samples
 *   phase p     output sample m = j*new + p (j = block, p in [0, new)) sits at input position
 *               j*orig + p*orig/new; each phase has its own fixed kernel h_p
 *   base        min(orig, new) * rolloff: the cutoff, in cycles per g-block, just under the lower
 *               Nyquist so that the transition band does not alias
 *   lpw         lowpassFilterWidth: zero crossings of the sinc kept on each side (6 by default)
 *   t           sinc argument in units of the cutoff period: t = base * (i/orig - m/new)
 *   h_p[q]      kernel tap: sinc(pi t) * window(t) * base/orig, for |t| < lpw
 */

import { checkFinite, checkPositiveInt, checkSignal, fail, FloatArray } from './check';

export type ResampleMethod = 'sinc_interp_kaiser' | 'sinc_interp_hann';

export interface ResampleOptions {
  /** Zero crossings of the sinc on each side; larger = sharper cutoff, slower. Default 6. */
  lowpassFilterWidth?: number;
  /** Cutoff as a fraction of the lower Nyquist frequency, in (0, 1]. Default 0.99. */
  rolloff?: number;
  /** Window applied to the sinc. Default 'sinc_interp_kaiser' (stopband ~ -90 dB). */
  method?: ResampleMethod;
  /** Kaiser beta; torchaudio's default 14.769656459379492 (resampy's kaiser_best). */
  beta?: number;
}

/** Polyphase kernel: for phase p, taps[p] applied to input samples j*orig + offset[p] + q. */
export interface ResampleKernel {
  orig: number;
  new: number;
  offsets: Int32Array; // (new)
  taps: Float64Array[]; // new x (taps of phase p)
}

const DEFAULT_BETA = 14.769656459379492;
const kernelCache = new Map<string, ResampleKernel>();
const CACHE_LIMIT = 16; // a pipeline uses a handful of rate pairs; 16 kernels of 44.1k phases ~ 5 MB

/** Greatest common divisor of two non-negative integers (Euclid). */
export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0, by its power series
 *  sum_k ((x/2)^k / k!)^2; for x <= 30 the terms fall below 1e-17 of the sum by k ~ 60. */
export function besselI0(x: number): number {
  const y = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= y / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Builds (or fetches from the cache) the polyphase kernel for fromRate -> toRate. Same taps as
 * torchaudio's `_get_sinc_resample_kernel`, except that taps with |t| >= lpw, which torchaudio
 * keeps as (numerically) zero entries of a (new, 2*width + orig) matrix, are dropped: 16 k ->
 * 44.1 k keeps ~13 of 174 taps per phase. Kernel shapes: offsets (new), taps[p] (taps_p).
 */
export function resampleKernel(fromRate: number, toRate: number, opts: ResampleOptions = {}): ResampleKernel {
  const op = 'resample';
  const lpw = opts.lowpassFilterWidth ?? 6;
  const rolloff = opts.rolloff ?? 0.99;
  const method = opts.method ?? 'sinc_interp_kaiser';
  const beta = opts.beta ?? DEFAULT_BETA;
  checkRates(op, fromRate, toRate);
  checkFinite(op, 'lowpassFilterWidth', lpw, Number.MIN_VALUE, 1e4);
  checkFinite(op, 'rolloff', rolloff, Number.MIN_VALUE, 1);
  checkFinite(op, 'beta', beta, 0, 1e3);
  if (method !== 'sinc_interp_kaiser' && method !== 'sinc_interp_hann') {
    fail(op, `method must be 'sinc_interp_kaiser' or 'sinc_interp_hann', got ${JSON.stringify(method)}`);
  }
  const key = `${fromRate}:${toRate}:${lpw}:${rolloff}:${method}:${beta}`;
  const hit = kernelCache.get(key);
  if (hit) return hit;

  const g = gcd(fromRate, toRate);
  const orig = fromRate / g;
  const nw = toRate / g;
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lpw * orig) / base); // input samples of support on each side
  const scale = base / orig; // unit DC gain: sum_q h_p[q] ~ 1 for every phase
  const i0beta = besselI0(beta);
  const offsets = new Int32Array(nw); // (new)
  const taps: Float64Array[] = [];
  const row = new Float64Array(2 * width + orig); // (K) torchaudio's full kernel row
  for (let p = 0; p < nw; p++) {
    let first = -1;
    let last = -1;
    for (let k = 0; k < row.length; k++) {
      const t = ((k - width) / orig - p / nw) * base;
      if (Math.abs(t) >= lpw) {
        row[k] = 0;
        continue;
      }
      if (first < 0) first = k;
      last = k;
      const win =
        method === 'sinc_interp_kaiser'
          ? besselI0(beta * Math.sqrt(1 - (t / lpw) * (t / lpw))) / i0beta
          : Math.cos((t * Math.PI) / lpw / 2) ** 2;
      const s = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
      row[k] = s * win * scale;
    }
    offsets[p] = first - width;
    taps.push(row.slice(first, last + 1));
  }
  const kernel: ResampleKernel = { orig, new: nw, offsets, taps };
  if (kernelCache.size >= CACHE_LIMIT) kernelCache.delete(kernelCache.keys().next().value as string);
  kernelCache.set(key, kernel);
  return kernel;
}

/**
 * Resamples `signal` (n) from `fromRate` to `toRate` Hz with a band-limited polyphase
 * windowed-sinc filter (see the module glossary); returns ceil(n * toRate / fromRate) samples,
 * of the same array type as the input, exactly as torchaudio.functional.resample does (zeros are
 * assumed outside the signal, so the first and last ~lpw/base blocks see an edge transient).
 * Equal rates return a copy. Rates must be positive integers (any pair; coprime pairs such as
 * 44100 -> 16001 just have many phases). Accumulates in float64.
 */
export function resample<T extends FloatArray>(signal: T, fromRate: number, toRate: number, opts: ResampleOptions = {}): T {
  const op = 'resample';
  checkSignal(op, 'signal', signal, true);
  const kernel = resampleKernel(fromRate, toRate, opts);
  const n = signal.length;
  if (fromRate === toRate) return signal.slice() as T;
  const { orig, offsets, taps } = kernel;
  const nw = kernel.new;
  const outLength = Math.ceil((nw * n) / orig);
  const out = new (signal.constructor as { new (n: number): T })(outLength); // (outLength)
  for (let m = 0; m < outLength; m++) {
    const p = m % nw;
    const j = (m - p) / nw;
    const h = taps[p];
    const start = j * orig + offsets[p]; // input index of tap 0
    const q0 = start < 0 ? -start : 0;
    const q1 = Math.min(h.length, n - start);
    let acc = 0;
    for (let q = q0; q < q1; q++) acc += signal[start + q] * h[q];
    out[m] = acc;
  }
  return out;
}

function checkRates(op: string, fromRate: number, toRate: number): void {
  for (const [name, v] of [['fromRate', fromRate], ['toRate', toRate]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      fail(op, `${name} must be a finite sample rate > 0, got ${v}`);
    }
    if (!Number.isInteger(v)) fail(op, `${name} must be an integer number of Hz, got ${v}`);
  }
  checkPositiveInt(op, 'fromRate', fromRate);
  checkPositiveInt(op, 'toRate', toRate);
}
