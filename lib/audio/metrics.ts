/**
 * Mixing at a target SNR and speech-enhancement metrics (SI-SDR, segmental SNR, log-spectral
 * distance). All sums are float64.
 *
 * Glossary:
 *   SNR      10 log10(sum clean^2 / sum noise^2) in dB over the whole signal
 *   SI-SDR   scale-invariant SDR (Le Roux et al., 2019): target = (<est, ref> / <ref, ref>) ref,
 *            SI-SDR = 10 log10(|target|^2 / |est - target|^2), after removing both means
 *   segSNR   mean over frames of 10 log10(|ref_f|^2 / (|ref_f - est_f|^2 + eps) + eps), each
 *            clamped to [-10, 35] dB (Hansen & Pellom; pysepm's SNRseg: 30 ms Hann frames,
 *            75 % overlap)
 *   LSD      mean over frames of sqrt(mean over bins of (log10 P_ref - log10 P_est)^2), P the
 *            power spectrogram (Kuleshov et al. 2017, NU-Wave); `db: true` scales by 10
 */

import { checkFinite, checkPositive, checkPositiveInt, checkSignal, fail, FloatArray } from './check';
import { Rng } from './rng';
import { allocLike, spectrogram } from './stft';

const EPS64 = 2.220446049250313e-16; // float64 epsilon, pysepm's eps

export interface MixOptions {
  /** Start sample in the noise. Default 0, or uniform random when `seed` is given. */
  offset?: number;
  /** Draw the noise offset from this seed. */
  seed?: number;
}

export interface MixResult<T extends FloatArray> {
  mixture: T; // (n) clean + scaled noise
  noise: T; // (n) the scaled noise segment that was added
  scale: number; // gain applied to the noise
  offset: number; // noise sample that lines up with clean[0]
}

/**
 * Mixes `clean` (n) with `noise` (m) at `snrDb`: the noise is read from `offset` and looped
 * (wrapping to its start) or cropped to n samples, then scaled so that 10 log10(sum clean^2 /
 * sum noise'^2) = snrDb exactly (in float64; float32 storage moves it by < 1e-5 dB). Returns
 * the mixture, the scaled noise, the gain and the offset, in clean's array type.
 */
export function mixAtSnr<T extends FloatArray>(clean: T, noise: FloatArray, snrDb: number, opts: MixOptions = {}): MixResult<T> {
  const op = 'mixAtSnr';
  checkSignal(op, 'clean', clean);
  checkSignal(op, 'noise', noise);
  checkFinite(op, 'snrDb', snrDb);
  const n = clean.length;
  const m = noise.length;
  let offset = opts.offset ?? 0;
  if (opts.offset === undefined && opts.seed !== undefined) {
    offset = new Rng(opts.seed).int(0, m >= n ? m - n : m - 1);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset >= m) fail(op, `offset must be an integer in [0, ${m}), got ${offset}`);
  const seg = new Float64Array(n); // (n)
  for (let i = 0; i < n; i++) seg[i] = noise[(offset + i) % m];
  let ec = 0;
  let en = 0;
  for (let i = 0; i < n; i++) {
    ec += clean[i] * clean[i];
    en += seg[i] * seg[i];
  }
  if (ec === 0) fail(op, 'clean signal has zero energy; SNR is undefined');
  if (en === 0) fail(op, 'noise segment has zero energy; cannot reach a finite SNR');
  const scale = Math.sqrt(ec / (en * Math.pow(10, snrDb / 10)));
  const mixture = allocLike(clean, n);
  const scaled = allocLike(clean, n);
  for (let i = 0; i < n; i++) {
    scaled[i] = seg[i] * scale;
    mixture[i] = clean[i] + scaled[i];
  }
  return { mixture, noise: scaled, scale, offset };
}

/** SNR in dB of `signal` against `noise`, both (n): 10 log10(sum s^2 / sum n^2). */
export function snr(signal: FloatArray, noise: FloatArray): number {
  const op = 'snr';
  checkSignal(op, 'signal', signal);
  checkSignal(op, 'noise', noise);
  sameLength(op, signal, noise);
  let es = 0;
  let en = 0;
  for (let i = 0; i < signal.length; i++) {
    es += signal[i] * signal[i];
    en += noise[i] * noise[i];
  }
  return 10 * Math.log10(es / en);
}

/**
 * Scale-invariant SDR in dB of `est` against `ref`, both (n) (see glossary). zeroMean (default
 * true) removes each signal's mean first, as in the paper and torchmetrics. A perfect scaled copy
 * returns Infinity (or ~140 dB in float32 rounding).
 */
export function siSdr(est: FloatArray, ref: FloatArray, opts: { zeroMean?: boolean } = {}): number {
  const op = 'siSdr';
  checkSignal(op, 'est', est);
  checkSignal(op, 'ref', ref);
  sameLength(op, est, ref);
  const n = est.length;
  let me = 0;
  let mr = 0;
  if (opts.zeroMean ?? true) {
    for (let i = 0; i < n; i++) {
      me += est[i];
      mr += ref[i];
    }
    me /= n;
    mr /= n;
  }
  let dot = 0;
  let rr = 0;
  for (let i = 0; i < n; i++) {
    dot += (est[i] - me) * (ref[i] - mr);
    rr += (ref[i] - mr) * (ref[i] - mr);
  }
  if (rr === 0) fail(op, 'ref has zero energy (after mean removal); SI-SDR is undefined');
  const alpha = dot / rr;
  let tt = 0;
  let ee = 0;
  for (let i = 0; i < n; i++) {
    const t = alpha * (ref[i] - mr);
    const e = est[i] - me - t;
    tt += t * t;
    ee += e * e;
  }
  return 10 * Math.log10(tt / ee);
}

export interface SegSnrOptions {
  sampleRate?: number; // 16000
  /** Frame length in samples. Default round(0.03 * sampleRate) (30 ms). */
  frameLength?: number;
  /** Hop in samples. Default floor(0.25 * 0.03 * sampleRate) (75 % overlap). */
  hopLength?: number;
  minDb?: number; // -10
  maxDb?: number; // 35
}

/**
 * Segmental SNR in dB of `est` against `ref`, both (n): full frames only, each weighted by
 * pysepm's Hann 0.5 (1 - cos(2 pi k / (N + 1))), k = 1..N, per-frame SNR clamped to
 * [minDb, maxDb], then averaged. Returns { mean, frames } with frames (count) per-frame values.
 */
export function segmentalSnr(est: FloatArray, ref: FloatArray, opts: SegSnrOptions = {}): { mean: number; frames: Float64Array } {
  const op = 'segmentalSnr';
  checkSignal(op, 'est', est);
  checkSignal(op, 'ref', ref);
  sameLength(op, est, ref);
  const sr = opts.sampleRate ?? 16000;
  checkPositive(op, 'sampleRate', sr);
  const N = opts.frameLength ?? Math.round(0.03 * sr);
  const hop = opts.hopLength ?? Math.floor(0.25 * 0.03 * sr);
  checkPositiveInt(op, 'frameLength', N);
  checkPositiveInt(op, 'hopLength', hop);
  const lo = opts.minDb ?? -10;
  const hi = opts.maxDb ?? 35;
  if (!(lo <= hi)) fail(op, `minDb = ${lo} must not exceed maxDb = ${hi}`);
  const n = est.length;
  if (n < N) fail(op, `signals of ${n} samples are shorter than one frame of ${N}`);
  const count = 1 + Math.floor((n - N) / hop);
  const w = new Float64Array(N);
  for (let k = 0; k < N; k++) w[k] = 0.5 * (1 - Math.cos((2 * Math.PI * (k + 1)) / (N + 1)));
  const frames = new Float64Array(count); // (count)
  let sum = 0;
  for (let f = 0; f < count; f++) {
    let es = 0;
    let en = 0;
    for (let k = 0; k < N; k++) {
      const r = ref[f * hop + k] * w[k];
      const d = r - est[f * hop + k] * w[k];
      es += r * r;
      en += d * d;
    }
    const v = Math.min(hi, Math.max(lo, 10 * Math.log10(es / (en + EPS64) + EPS64)));
    frames[f] = v;
    sum += v;
  }
  return { mean: sum / count, frames };
}

export interface LsdOptions {
  nFft?: number; // 512 (32 ms at 16 kHz)
  hopLength?: number; // nFft / 4
  winLength?: number; // nFft
  /** Added to both power spectra before the log. Default 1e-10. */
  eps?: number;
  /** Report in dB (10 log10) instead of log10 units. Default false. */
  db?: boolean;
}

/**
 * Log-spectral distance between `est` and `ref`, both (n): power spectrograms (periodic Hann,
 * centred, reflect padding), LSD_t = sqrt(mean_k (log10(P_ref + eps) - log10(P_est + eps))^2),
 * averaged over frames. Returns the mean (log10 units, or dB with db: true).
 */
export function logSpectralDistance(est: FloatArray, ref: FloatArray, opts: LsdOptions = {}): number {
  const op = 'logSpectralDistance';
  checkSignal(op, 'est', est);
  checkSignal(op, 'ref', ref);
  sameLength(op, est, ref);
  const nFft = opts.nFft ?? 512;
  const eps = opts.eps ?? 1e-10;
  checkPositive(op, 'eps', eps);
  const frameOpts = { nFft, hopLength: opts.hopLength ?? Math.floor(nFft / 4), winLength: opts.winLength ?? nFft, power: 2 };
  const a = spectrogram(Float64Array.from(est), frameOpts);
  const b = spectrogram(Float64Array.from(ref), frameOpts);
  const unit = opts.db ? 10 : 1;
  let total = 0;
  for (let t = 0; t < a.frames; t++) {
    let s = 0;
    for (let k = 0; k < a.bins; k++) {
      const d = unit * (Math.log10(b.data[t * a.bins + k] + eps) - Math.log10(a.data[t * a.bins + k] + eps));
      s += d * d;
    }
    total += Math.sqrt(s / a.bins);
  }
  return total / a.frames;
}

function sameLength(op: string, a: FloatArray, b: FloatArray): void {
  if (a.length !== b.length) fail(op, `signals must have the same length, got ${a.length} and ${b.length}`);
}
