/**
 * stoi.ts — Short-Time Objective Intelligibility (Taal, Hendriks, Heusdens, Jensen, IEEE TASLP
 * 2011) and its extended form ESTOI (Jensen & Taal, IEEE TASLP 2016), with the semantics of the
 * reference MATLAB code and pystoi, computed in float64 on arrays.
 *
 * Glossary:
 *   x, y        clean reference and processed signal, both resampled to FS = 10 kHz
 *   frame       256 samples (25.6 ms), Hann window w[k] = 0.5 − 0.5 cos(2π(k+1)/257) (MATLAB's
 *               hanning(256)), hop 128 (50 %); starts 0, 128, … < len − 256 (the reference's
 *               `1:K:(len−N)`, which leaves out a last frame ending exactly at len)
 *   silent      frames whose windowed clean energy is 40 dB or more below the loudest frame are
 *               removed from both signals, which are rebuilt by overlap-add of the kept frames
 *   TOB         15 one-third octave bands, centres 150 · 2^(j/3) Hz (150 Hz … 3.8 kHz); band j
 *               sums |X_k|² over FFT-512 bins [k_lo, k_hi), edges the bins nearest to
 *               150 · 2^((2j ∓ 1)/6) Hz; X_j(m) = sqrt of that sum
 *   segment     N = 30 consecutive TOB frames (384 ms) ending at frame m, for every m >= 30
 *   clipping    y scaled to x's segment energy per band, then limited to x · (1 + 10^(−β/20)),
 *               β = −15 dB (the lower signal-to-distortion bound)
 *   d           mean over bands and segments of the correlation of x and clipped y (STOI); ESTOI
 *               normalises each segment's rows (bands over time) then columns (frames over
 *               bands) to zero mean and unit norm and averages their inner products / N
 *
 * Differences from pystoi: resampling uses lib/audio's band-limited sinc (torchaudio's kernel)
 * instead of Octave's resample FIR (STOI moves by ~1e-3); fewer than 30 frames left after
 * silence removal gives NaN (pystoi warns and returns 1e-5, which would pass silently into an
 * average); ESTOI adds no random dither (pystoi adds 2e-16 noise before normalising).
 */
import { checkSignal, fail, FloatArray } from '../../audio/check';
import { realFftPlan } from '../../audio/fft';
import { resample } from '../../audio/resample';

export const STOI_FS = 10000;
const FRAME = 256;
const HOP = 128;
const NFFT = 512;
const BANDS = 15;
const MIN_FREQ = 150;
const SEG = 30;
const BETA_DB = -15;
const DYN_RANGE_DB = 40;
const EPS = 2.220446049250313e-16; // float64 epsilon, the reference's eps

/** Options of stoi(). */
export interface StoiOptions {
  /** ESTOI (Jensen & Taal 2016) instead of STOI. Default false. */
  extended?: boolean;
}

let hann: Float64Array | null = null;
/** MATLAB hanning(256): the symmetric 258-point Hann without its two zero end points. */
function window(): Float64Array {
  if (!hann) {
    hann = new Float64Array(FRAME);
    for (let k = 0; k < FRAME; k++) hann[k] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (k + 1)) / (FRAME + 1));
  }
  return hann;
}

let bandEdges: Int32Array | null = null;
/** [k_lo, k_hi) of each one-third octave band as FFT-512 bin indices at 10 kHz: (15 × 2). */
export function thirdOctaveBands(): Int32Array {
  if (bandEdges) return bandEdges;
  const e = new Int32Array(2 * BANDS);
  const bins = NFFT / 2 + 1;
  const nearest = (hz: number): number => {
    let best = 0;
    for (let k = 1; k < bins; k++) if ((k * STOI_FS / NFFT - hz) ** 2 < (best * STOI_FS / NFFT - hz) ** 2) best = k; // first on ties
    return best;
  };
  for (let j = 0; j < BANDS; j++) {
    e[2 * j] = nearest(MIN_FREQ * 2 ** ((2 * j - 1) / 6));
    e[2 * j + 1] = nearest(MIN_FREQ * 2 ** ((2 * j + 1) / 6));
  }
  return (bandEdges = e);
}

/** Frame starts 0, hop, … < len − FRAME (the reference's frame grid). */
function frameCount(len: number): number {
  return len > FRAME ? Math.ceil((len - FRAME) / HOP) : 0;
}

/** x, y with the frames that are silent in x removed and the rest overlap-added (windowed). */
function removeSilentFrames(x: Float64Array<ArrayBufferLike>, y: Float64Array<ArrayBufferLike>): [Float64Array, Float64Array] {
  const w = window();
  const n = frameCount(x.length);
  if (n === 0) return [new Float64Array(0), new Float64Array(0)];
  const energy = new Float64Array(n); // (frames) dB
  let top = -Infinity;
  for (let t = 0; t < n; t++) {
    let s = 0;
    for (let k = 0; k < FRAME; k++) {
      const v = w[k] * x[t * HOP + k];
      s += v * v;
    }
    energy[t] = 20 * Math.log10(Math.sqrt(s) + EPS);
    if (energy[t] > top) top = energy[t];
  }
  const keep: number[] = [];
  for (let t = 0; t < n; t++) if (energy[t] - top + DYN_RANGE_DB > 0) keep.push(t);
  const len = (keep.length - 1) * HOP + FRAME;
  const xs = new Float64Array(len);
  const ys = new Float64Array(len);
  keep.forEach((t, c) => {
    for (let k = 0; k < FRAME; k++) {
      xs[c * HOP + k] += x[t * HOP + k] * w[k];
      ys[c * HOP + k] += y[t * HOP + k] * w[k];
    }
  });
  return [xs, ys];
}

/** One-third octave band magnitudes of x: (bands, frames) row-major, and the frame count. */
function tobSpectrum(x: Float64Array): { tob: Float64Array; frames: number } {
  const w = window();
  const frames = frameCount(x.length);
  const plan = realFftPlan(NFFT);
  const edges = thirdOctaveBands();
  const buf = new Float64Array(NFFT); // zero-padded frame; samples FRAME.. stay 0
  const re = new Float64Array(NFFT / 2 + 1);
  const im = new Float64Array(NFFT / 2 + 1);
  const tob = new Float64Array(BANDS * frames); // (bands, frames)
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < FRAME; k++) buf[k] = w[k] * x[t * HOP + k];
    plan.forward(buf, re, im);
    for (let j = 0; j < BANDS; j++) {
      let s = 0;
      for (let k = edges[2 * j]; k < edges[2 * j + 1]; k++) s += re[k] * re[k] + im[k] * im[k];
      tob[j * frames + t] = Math.sqrt(s);
    }
  }
  return { tob, frames };
}

/** v − mean(v), then / (|·| + eps), in place over v[o], v[o + s], … (n values). */
function centreNormalise(v: Float64Array, o: number, s: number, n: number): void {
  let m = 0;
  for (let i = 0; i < n; i++) m += v[o + i * s];
  m /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (v[o + i * s] -= m);
    ss += d * d;
  }
  const inv = 1 / (Math.sqrt(ss) + EPS);
  for (let i = 0; i < n; i++) v[o + i * s] *= inv;
}

/**
 * STOI (or ESTOI with `extended`) of `processed` against `clean`, both (n) at `sampleRate` Hz;
 * see the module glossary. Returns a number in about [−1, 1] (identical signals give 1 − ~1e-15;
 * noise unrelated to the clean signal ~0), or NaN when fewer than 30 frames (~0.4 s of
 * non-silent speech) remain after silent-frame removal.
 */
export function stoi(clean: FloatArray, processed: FloatArray, sampleRate: number, opts: StoiOptions = {}): number {
  const op = 'stoi';
  checkSignal(op, 'clean', clean);
  checkSignal(op, 'processed', processed);
  if (clean.length !== processed.length) fail(op, `clean and processed must have the same length, got ${clean.length} and ${processed.length}`);
  if (!Number.isInteger(sampleRate) || sampleRate < 1) fail(op, `sampleRate must be a positive integer (Hz), got ${sampleRate}`);
  let x: Float64Array<ArrayBufferLike> = Float64Array.from(clean);
  let y: Float64Array<ArrayBufferLike> = Float64Array.from(processed);
  if (sampleRate !== STOI_FS) {
    x = resample(x, sampleRate, STOI_FS);
    y = resample(y, sampleRate, STOI_FS);
  }
  [x, y] = removeSilentFrames(x, y);
  const X = tobSpectrum(x);
  const Y = tobSpectrum(y);
  const M = X.frames;
  if (M < SEG) return NaN;
  const segs = M - SEG + 1;
  const xs = new Float64Array(BANDS * SEG); // (bands, N) one segment
  const ys = new Float64Array(BANDS * SEG);
  const clip = 1 + 10 ** (-BETA_DB / 20);
  let total = 0;
  for (let m = 0; m < segs; m++) {
    for (let j = 0; j < BANDS; j++) {
      for (let i = 0; i < SEG; i++) {
        xs[j * SEG + i] = X.tob[j * M + m + i];
        ys[j * SEG + i] = Y.tob[j * M + m + i];
      }
    }
    if (opts.extended) {
      for (let j = 0; j < BANDS; j++) {
        centreNormalise(xs, j * SEG, 1, SEG); // rows: each band over the segment's frames
        centreNormalise(ys, j * SEG, 1, SEG);
      }
      for (let i = 0; i < SEG; i++) {
        centreNormalise(xs, i, SEG, BANDS); // columns: each frame over the bands
        centreNormalise(ys, i, SEG, BANDS);
      }
      let s = 0;
      for (let k = 0; k < BANDS * SEG; k++) s += xs[k] * ys[k];
      total += s / SEG;
      continue;
    }
    for (let j = 0; j < BANDS; j++) {
      const o = j * SEG;
      let ex = 0, ey = 0;
      for (let i = 0; i < SEG; i++) {
        ex += xs[o + i] * xs[o + i];
        ey += ys[o + i] * ys[o + i];
      }
      const alpha = Math.sqrt(ex) / (Math.sqrt(ey) + EPS); // y scaled to x's energy in this band
      for (let i = 0; i < SEG; i++) ys[o + i] = Math.min(alpha * ys[o + i], xs[o + i] * clip);
      centreNormalise(xs, o, 1, SEG);
      centreNormalise(ys, o, 1, SEG);
      let r = 0;
      for (let i = 0; i < SEG; i++) r += xs[o + i] * ys[o + i];
      total += r;
    }
  }
  return opts.extended ? total / segs : total / (segs * BANDS);
}
