/**
 * MFCC (torchaudio.transforms.MFCC semantics on top of `fbank`) and delta features
 * (torchaudio.functional.compute_deltas), time-major (frames, dim).
 *
 * Glossary:
 *   DCT-II     c_k = s_k sum_m x_m cos(pi/M (m + 1/2) k); ortho: s_0 = sqrt(1/M), s_k = sqrt(2/M);
 *              norm null: s_k = 2 (torchaudio's create_dct)
 *   lifter L   cepstral liftering c_k *= 1 + L/2 sin(pi k / L) (HTK / Kaldi), 0 = off
 *   topDb      dB log-mels are clamped to (utterance max - topDb), torchaudio's AmplitudeToDB(80)
 *   delta      d_t = sum_{n=1..N} n (c_{t+n} - c_{t-n}) / (2 sum n^2), N = (winLength - 1) / 2,
 *              edges replicate c_0 and c_{T-1}
 */

import { checkFinite, checkPositiveInt, checkSignal, fail, FloatArray } from './check';
import { fbank, FbankOptions, FeatureItem } from './mel';
import { Framer } from './stft';

/** DCT-II matrix as torchaudio.functional.create_dct(nMfcc, nMels, norm): shape (nMels, nMfcc),
 *  row-major, float64; mfcc = logmel (frames, nMels) @ dct. */
export function createDct(nMfcc: number, nMels: number, norm: 'ortho' | null = 'ortho'): Float64Array {
  const op = 'createDct';
  checkPositiveInt(op, 'nMfcc', nMfcc);
  checkPositiveInt(op, 'nMels', nMels);
  const d = new Float64Array(nMels * nMfcc); // (nMels, nMfcc)
  for (let m = 0; m < nMels; m++) {
    for (let k = 0; k < nMfcc; k++) {
      const c = Math.cos((Math.PI / nMels) * (m + 0.5) * k);
      d[m * nMfcc + k] = norm === null ? 2 * c : (k === 0 ? Math.sqrt(1 / nMels) : Math.sqrt(2 / nMels)) * c;
    }
  }
  return d;
}

/** Lifter coefficients 1 + L/2 sin(pi k / L), k = 0..n-1. Shape: (n). */
export function liftering(n: number, lifter: number): Float64Array {
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) w[k] = 1 + 0.5 * lifter * Math.sin((Math.PI * k) / lifter);
  return w;
}

export interface MfccOptions extends Omit<FbankOptions, 'log'> {
  /** Coefficients kept. Default 40 (torchaudio). */
  nMfcc?: number;
  /** DCT normalisation. Default 'ortho'. */
  dctNorm?: 'ortho' | null;
  /** true: ln(mel + 1e-6) (torchaudio log_mels = True); false: dB with topDb. Default false. */
  logMels?: boolean;
  /** dB dynamic range kept over the utterance; null = no clamp. Default 80. */
  topDb?: number | null;
  /** Cepstral lifter L; 0 = off. Default 0. */
  lifter?: number;
  /** Replace c0 by ln(max(frame energy, floor)), the energy of the windowed frame. Default false. */
  useEnergy?: boolean;
}

/**
 * MFCC of `signal` (n): mel spectrogram from `fbank` (log 'none', same options and defaults:
 * nFft 400, hop 160, nMels 80), then dB log-mels with an 80 dB floor below the utterance peak
 * (or ln(mel + 1e-6) with logMels), DCT-II (ortho) keeping nMfcc, optional lifter and c0 ->
 * log-energy. Returns (frames, nMfcc). torchaudio.transforms.MFCC gives the same numbers when
 * given the same melkwargs (its own defaults are hop 200, n_mels 128).
 */
export function mfcc(signal: FloatArray, opts: MfccOptions = {}): FeatureItem {
  const op = 'mfcc';
  checkSignal(op, 'signal', signal);
  const nMfcc = opts.nMfcc ?? 40;
  const nMels = opts.nMels ?? 80;
  checkPositiveInt(op, 'nMfcc', nMfcc);
  if (nMfcc > nMels) fail(op, `nMfcc = ${nMfcc} is more than nMels = ${nMels}`);
  const topDb = opts.topDb === undefined ? 80 : opts.topDb;
  if (topDb !== null) checkFinite(op, 'topDb', topDb, 0);
  const lifter = opts.lifter ?? 0;
  checkFinite(op, 'lifter', lifter);
  const floor = opts.floor ?? 1e-10;
  const mel = fbank(signal, { ...opts, log: 'none' });
  const { numFrames: frames } = mel;
  const logMel = new Float64Array(frames * nMels); // (frames, nMels)
  if (opts.logMels) {
    for (let i = 0; i < logMel.length; i++) logMel[i] = Math.log(mel.data[i] + 1e-6);
  } else {
    const mult = (opts.power ?? 2) === 1 ? 20 : 10;
    let max = -Infinity;
    for (let i = 0; i < logMel.length; i++) {
      logMel[i] = mult * Math.log10(Math.max(mel.data[i], floor));
      if (logMel[i] > max) max = logMel[i];
    }
    if (topDb !== null) for (let i = 0; i < logMel.length; i++) logMel[i] = Math.max(logMel[i], max - topDb);
  }
  const out = cepstra(logMel, frames, nMels, nMfcc, opts.dctNorm === undefined ? 'ortho' : opts.dctNorm, lifter);
  if (opts.useEnergy) {
    const energy = frameEnergies(op, signal, opts);
    for (let t = 0; t < frames; t++) out[t * nMfcc] = Math.log(Math.max(energy[t], floor));
  }
  return { data: out, numFrames: frames, dim: nMfcc };
}

/** DCT-II of each row of logMel (frames, nMels) keeping nMfcc, then lifter; -> (frames, nMfcc). */
export function cepstra(logMel: FloatArray, frames: number, nMels: number, nMfcc: number, norm: 'ortho' | null = 'ortho', lifter = 0): Float32Array {
  const op = 'cepstra';
  if (logMel.length !== frames * nMels) fail(op, `logMel has ${logMel.length} values, expected frames * nMels = ${frames * nMels}`);
  const dct = createDct(nMfcc, nMels, norm); // (nMels, nMfcc)
  const lift = lifter !== 0 ? liftering(nMfcc, lifter) : null;
  const out = new Float32Array(frames * nMfcc); // (frames, nMfcc)
  const acc = new Float64Array(nMfcc);
  for (let t = 0; t < frames; t++) {
    acc.fill(0);
    for (let m = 0; m < nMels; m++) {
      const x = logMel[t * nMels + m];
      const r = m * nMfcc;
      for (let k = 0; k < nMfcc; k++) acc[k] += x * dct[r + k];
    }
    for (let k = 0; k < nMfcc; k++) out[t * nMfcc + k] = lift ? acc[k] * lift[k] : acc[k];
  }
  return out;
}

/** Energy sum(w x)^2 of each windowed frame, framed exactly as fbank frames. Shape: (frames). */
function frameEnergies(op: string, signal: FloatArray, opts: FbankOptions): Float64Array {
  const nFft = opts.nFft ?? 400;
  const framer = new Framer(op, {
    nFft, winLength: opts.winLength ?? nFft, hopLength: opts.hopLength ?? 160, window: opts.window ?? 'hann',
    periodic: opts.periodic ?? true, center: opts.center ?? true, padMode: opts.padMode ?? 'reflect',
  });
  const frames = framer.frameCount(op, signal.length);
  const buf = new Float64Array(nFft);
  const e = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    framer.frame(signal, t, buf);
    let s = 0;
    for (let j = 0; j < nFft; j++) s += buf[j] * buf[j];
    e[t] = s;
  }
  return e;
}

/**
 * Delta (time-derivative) features as torchaudio.functional.compute_deltas, along the frame
 * axis of a time-major (frames, dim) matrix (torchaudio works on (..., dim, time); the numbers
 * are the same), replicate padding at the edges. winLength odd >= 3, default 5. Returns
 * (frames, dim); apply twice for delta-deltas.
 */
export function computeDeltas(features: FloatArray, frames: number, dim: number, winLength = 5): Float32Array {
  const op = 'computeDeltas';
  checkSignal(op, 'features', features);
  checkPositiveInt(op, 'frames', frames);
  checkPositiveInt(op, 'dim', dim);
  checkPositiveInt(op, 'winLength', winLength);
  if (winLength < 3) fail(op, `winLength must be >= 3, got ${winLength}`);
  if (features.length !== frames * dim) fail(op, `features has ${features.length} values, expected frames * dim = ${frames}*${dim}`);
  const N = Math.floor((winLength - 1) / 2);
  const denom = (N * (N + 1) * (2 * N + 1)) / 3; // 2 sum_{n=1..N} n^2
  const out = new Float32Array(frames * dim); // (frames, dim)
  for (let t = 0; t < frames; t++) {
    for (let d = 0; d < dim; d++) {
      let acc = 0;
      for (let n = 1; n <= N; n++) {
        const hi = Math.min(t + n, frames - 1);
        const lo = Math.max(t - n, 0);
        acc += n * (features[hi * dim + d] - features[lo * dim + d]);
      }
      out[t * dim + d] = acc / denom;
    }
  }
  return out;
}
