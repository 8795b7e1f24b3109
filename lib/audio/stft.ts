/**
 * Short-time Fourier transform and its inverse with torch.stft / torch.istft semantics, laid out
 * time-major: (frames, bins), like every (B, L, C) tensor in this library (torch gives (bins,
 * frames)). Work is float64; outputs take the input's array type.
 *
 * Glossary:
 *   nFft       FFT size; bins = nFft/2 + 1 when onesided (201 for nFft = 400)
 *   hop        hopLength, samples between frame starts (default nFft / 4, as torch)
 *   winLength  window length <= nFft; the window is zero-padded centred to nFft
 *   center     pad nFft/2 samples each side first, so frame t is centred on sample t*hop;
 *              frames = 1 + floor(n / hop) for even nFft
 *   envelope   sum over frames of window^2 at each output sample; iSTFT divides by it (NOLA:
 *              it must stay > 1e-11 everywhere in the kept range)
 */

import { checkPositiveInt, checkSignal, fail, FloatArray } from './check';
import { fftPlan, realFftPlan } from './fft';
import { resolveWindow, WindowSpec } from './window';

export type PadMode = 'reflect' | 'constant';

export interface FrameOptions {
  nFft: number;
  /** Default floor(nFft / 4). */
  hopLength?: number;
  /** Default nFft; must be <= nFft. */
  winLength?: number;
  /** Default 'hann'. */
  window?: WindowSpec;
  /** Periodic (DFT-even) window, torch's default. Default true. */
  periodic?: boolean;
  /** Default true. */
  center?: boolean;
  /** Padding used when center is true. Default 'reflect'. */
  padMode?: PadMode;
}

export interface StftOptions extends FrameOptions {
  /** Keep bins 0..nFft/2 only (Hermitian input). Default true. */
  onesided?: boolean;
  /** Multiply by nFft^-0.5 (torch.stft's `normalized`). Default false. */
  normalized?: boolean;
}

/** Complex STFT, time-major: re, im have shape (frames, bins). */
export interface StftResult<T extends FloatArray> {
  re: T;
  im: T;
  frames: number;
  bins: number;
}

/** A real (frames, bins) spectrogram. */
export interface SpectrogramResult<T extends FloatArray> {
  data: T;
  frames: number;
  bins: number;
}

/** New array of the same kind (Float32Array or Float64Array) as `like`. */
export function allocLike<T extends FloatArray>(like: T, n: number): T {
  return new (like.constructor as { new (n: number): T })(n);
}

/**
 * Cuts a signal into windowed frames without building the padded copy: frame t covers padded
 * samples [t*hop, t*hop + nFft), and only the edge frames map indices through the reflection.
 * One Framer is reused over a whole signal so the frame loop allocates nothing.
 */
export class Framer {
  readonly nFft: number;
  readonly hop: number;
  readonly winLength: number;
  readonly center: boolean;
  readonly padMode: PadMode;
  readonly window: Float64Array; // (nFft) zero-padded centred window
  readonly pad: number; // nFft/2 when centred, else 0

  constructor(op: string, o: FrameOptions) {
    checkPositiveInt(op, 'nFft', o.nFft);
    this.nFft = o.nFft;
    this.hop = o.hopLength ?? Math.floor(o.nFft / 4);
    this.winLength = o.winLength ?? o.nFft;
    checkPositiveInt(op, 'hopLength', this.hop);
    checkPositiveInt(op, 'winLength', this.winLength);
    if (this.winLength > this.nFft) fail(op, `winLength = ${this.winLength} is more than nFft = ${this.nFft}`);
    this.center = o.center ?? true;
    this.padMode = o.padMode ?? 'reflect';
    if (this.padMode !== 'reflect' && this.padMode !== 'constant') {
      fail(op, `padMode must be 'reflect' or 'constant', got ${JSON.stringify(this.padMode)}`);
    }
    this.window = resolveWindow(op, o.window ?? 'hann', this.winLength, this.nFft, o.periodic ?? true);
    this.pad = this.center ? Math.floor(this.nFft / 2) : 0;
  }

  /** Frame count for n samples, as torch: 1 + floor((n + 2 pad - nFft) / hop). Throws when the
   *  signal is too short for one frame or for reflect padding (torch's rule: pad < n). */
  frameCount(op: string, n: number): number {
    if (this.center && this.padMode === 'reflect' && this.pad >= n) {
      fail(op, `reflect padding of ${this.pad} samples needs a signal longer than ${this.pad}, got ${n} samples`);
    }
    const padded = n + 2 * this.pad;
    if (padded < this.nFft) fail(op, `signal of ${n} samples is shorter than nFft = ${this.nFft} (center = false)`);
    return 1 + Math.floor((padded - this.nFft) / this.hop);
  }

  /** Writes window * padded_signal[t*hop .. t*hop + nFft) into buf. Shapes: x (n), buf (nFft). */
  frame(x: FloatArray, t: number, buf: Float64Array): void {
    const { nFft, window: w } = this;
    const n = x.length;
    const start = t * this.hop - this.pad; // index of buf[0] in the unpadded signal
    if (start >= 0 && start + nFft <= n) {
      for (let j = 0; j < nFft; j++) buf[j] = x[start + j] * w[j];
      return;
    }
    const reflect = this.padMode === 'reflect';
    for (let j = 0; j < nFft; j++) {
      let i = start + j;
      if (i < 0 || i >= n) {
        if (!reflect) {
          buf[j] = 0;
          continue;
        }
        i = i < 0 ? -i : 2 * (n - 1) - i; // reflect without repeating the edge sample
      }
      buf[j] = x[i] * w[j];
    }
  }
}

/**
 * STFT of `signal` (n) with torch.stft semantics (see the module glossary); returns re, im of
 * shape (frames, bins), bins = nFft/2 + 1 (onesided) or nFft, in the input's array type.
 */
export function stft<T extends FloatArray>(signal: T, opts: StftOptions): StftResult<T> {
  const op = 'stft';
  checkSignal(op, 'signal', signal);
  const framer = new Framer(op, opts);
  const onesided = opts.onesided ?? true;
  const scale = opts.normalized ? 1 / Math.sqrt(framer.nFft) : 1;
  const nFft = framer.nFft;
  const frames = framer.frameCount(op, signal.length);
  const half = Math.floor(nFft / 2) + 1;
  const bins = onesided ? half : nFft;
  const re = allocLike(signal, frames * bins); // (frames, bins)
  const im = allocLike(signal, frames * bins); // (frames, bins)
  const plan = realFftPlan(nFft);
  const buf = new Float64Array(nFft); // (nFft)
  const xr = new Float64Array(half); // (half)
  const xi = new Float64Array(half); // (half)
  for (let t = 0; t < frames; t++) {
    framer.frame(signal, t, buf);
    plan.forward(buf, xr, xi);
    const o = t * bins;
    for (let k = 0; k < half; k++) {
      re[o + k] = xr[k] * scale;
      im[o + k] = xi[k] * scale;
    }
    for (let k = half; k < bins; k++) {
      re[o + k] = xr[nFft - k] * scale; // X_{nFft-k} = conj(X_k) for real input
      im[o + k] = -xi[nFft - k] * scale;
    }
  }
  return { re, im, frames, bins };
}

/**
 * Magnitude (power = 1) or power (power = 2, default) spectrogram, |X|^power, of shape
 * (frames, nFft/2 + 1), as torchaudio.transforms.Spectrogram with pad = 0 (its `normalized`
 * divides by sqrt(sum window^2), which differs from torch.stft's and is not offered here).
 */
export function spectrogram<T extends FloatArray>(signal: T, opts: FrameOptions & { power?: number }): SpectrogramResult<T> {
  const op = 'spectrogram';
  checkSignal(op, 'signal', signal);
  const power = opts.power ?? 2;
  if (!(power > 0) || !Number.isFinite(power)) fail(op, `power must be a finite number > 0, got ${power}`);
  const framer = new Framer(op, opts);
  const frames = framer.frameCount(op, signal.length);
  const bins = Math.floor(framer.nFft / 2) + 1;
  const data = allocLike(signal, frames * bins); // (frames, bins)
  const plan = realFftPlan(framer.nFft);
  const buf = new Float64Array(framer.nFft);
  const xr = new Float64Array(bins);
  const xi = new Float64Array(bins);
  for (let t = 0; t < frames; t++) {
    framer.frame(signal, t, buf);
    plan.forward(buf, xr, xi);
    for (let k = 0; k < bins; k++) {
      const p = xr[k] * xr[k] + xi[k] * xi[k];
      data[t * bins + k] = power === 2 ? p : power === 1 ? Math.sqrt(p) : Math.pow(p, power / 2);
    }
  }
  return { data, frames, bins };
}

export interface IstftOptions extends FrameOptions {
  /** Input holds bins 0..nFft/2 only. Default: bins !== nFft. */
  onesided?: boolean;
  /** The STFT was computed with normalized = true. Default false. */
  normalized?: boolean;
  /** Output length; default nFft + hop (frames - 1) - 2 pad. Longer than that is zero-filled. */
  length?: number;
}

/**
 * Inverse STFT with torch.istft semantics: per frame inverse FFT, times the window, overlap-add,
 * divided by the window-square envelope, then the centre padding is trimmed. Shapes: re, im
 * (frames, bins) -> (length), in re's array type. With a COLA window (periodic hann, hop = nFft/4)
 * stft -> istft returns the signal to ~1e-15 in float64 and ~1e-7 relative in float32 (the
 * float32 storage of the spectrum, not the algorithm, sets that floor).
 */
export function istft<T extends FloatArray>(re: T, im: FloatArray, frames: number, opts: IstftOptions): T {
  const op = 'istft';
  checkSignal(op, 're', re);
  checkSignal(op, 'im', im);
  checkPositiveInt(op, 'frames', frames);
  const framer = new Framer(op, opts);
  const { nFft, hop, window: w, pad } = framer;
  if (re.length !== im.length) fail(op, `re and im must have the same length, got ${re.length} and ${im.length}`);
  if (re.length % frames !== 0) fail(op, `re has ${re.length} values, not a multiple of frames = ${frames}`);
  const bins = re.length / frames;
  const onesided = opts.onesided ?? bins !== nFft;
  const want = onesided ? Math.floor(nFft / 2) + 1 : nFft;
  if (bins !== want) fail(op, `expected ${want} bins for nFft = ${nFft} (onesided = ${onesided}), got ${bins}`);
  const scale = opts.normalized ? Math.sqrt(nFft) : 1;
  const expected = nFft + hop * (frames - 1); // overlap-added length before trimming
  const y = new Float64Array(expected); // (expected)
  const env = new Float64Array(expected); // (expected)
  const buf = new Float64Array(nFft);
  const half = Math.floor(nFft / 2) + 1;
  const br = new Float64Array(onesided ? half : nFft);
  const bi = new Float64Array(onesided ? half : nFft);
  const rplan = onesided ? realFftPlan(nFft) : null;
  const cplan = onesided ? null : fftPlan(nFft);
  const cr = new Float64Array(nFft);
  const ci = new Float64Array(nFft);
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < bins; k++) {
      br[k] = re[t * bins + k];
      bi[k] = im[t * bins + k];
    }
    if (rplan) {
      rplan.inverse(br, bi, buf);
    } else {
      cplan!.transform(br, bi, cr, ci, true);
      for (let j = 0; j < nFft; j++) buf[j] = cr[j] / nFft; // real part, as torch.istft with a real output
    }
    const o = t * hop;
    for (let j = 0; j < nFft; j++) {
      y[o + j] += buf[j] * scale * w[j];
      env[o + j] += w[j] * w[j];
    }
  }
  const start = pad;
  const length = opts.length ?? expected - 2 * pad;
  checkPositiveInt(op, 'length', length);
  const out = allocLike(re, length); // (length)
  const stop = Math.min(start + length, expected);
  for (let i = start; i < stop; i++) {
    if (!(env[i] > 1e-11)) {
      fail(op, `window envelope is ${env[i].toExponential(2)} at sample ${i - start}: window and hop ` +
        `(${hop}) fail the nonzero overlap-add (NOLA) condition`);
    }
    out[i - start] = y[i] / env[i];
  }
  return out;
}
