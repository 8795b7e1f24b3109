/**
 * Mel filterbanks with torchaudio.functional.melscale_fbanks semantics, and `fbank`: log-mel
 * features (torchaudio.transforms.MelSpectrogram, then a log) for ASR front ends.
 *
 * Glossary:
 *   htk        mel = 2595 log10(1 + f / 700)
 *   slaney     linear below 1 kHz (3 mels per 200 Hz), logarithmic above (27 mels per factor
 *              6.4), the Auditory Toolbox / librosa default
 *   nFreqs     nFft/2 + 1 spectrum bins at frequencies linspace(0, floor(sr/2), nFreqs)
 *   fb         filterbank (nFreqs, nMels): triangle m rises from f_pts[m] to f_pts[m+1] and falls
 *              to f_pts[m+2], f_pts = n_mels + 2 points equally spaced in mel from fMin to fMax
 *   norm       null: triangle peak 1; 'slaney': area-normalised, times 2 / (f_pts[m+2] - f_pts[m])
 *   SparseMel  the same fb stored per mel as (first bin, weights): 80 mels over 201 bins keep
 *              ~2 x 201 nonzeros of 16080, so a frame's mel costs ~400 multiply-adds
 */

import { checkFinite, checkPositive, checkPositiveInt, checkRate, checkSignal, fail, FloatArray } from './check';
import { realFftPlan } from './fft';
import { Framer, PadMode } from './stft';
import { WindowSpec } from './window';

export type MelScale = 'htk' | 'slaney';
export type MelNorm = null | 'slaney';

const SLANEY_F_SP = 200 / 3; // Hz per mel below 1 kHz
const SLANEY_MIN_LOG_HZ = 1000;
const SLANEY_MIN_LOG_MEL = SLANEY_MIN_LOG_HZ / SLANEY_F_SP; // 15
const SLANEY_LOGSTEP = Math.log(6.4) / 27;

/** Hz to mel on the HTK or Slaney scale (torchaudio's `_hz_to_mel`). */
export function hzToMel(f: number, scale: MelScale = 'htk'): number {
  if (scale === 'htk') return 2595 * Math.log10(1 + f / 700);
  if (f >= SLANEY_MIN_LOG_HZ) return SLANEY_MIN_LOG_MEL + Math.log(f / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
  return f / SLANEY_F_SP;
}

/** Mel to Hz, the inverse of hzToMel (torchaudio's `_mel_to_hz`). */
export function melToHz(m: number, scale: MelScale = 'htk'): number {
  if (scale === 'htk') return 700 * (Math.pow(10, m / 2595) - 1);
  if (m >= SLANEY_MIN_LOG_MEL) return SLANEY_MIN_LOG_HZ * Math.exp(SLANEY_LOGSTEP * (m - SLANEY_MIN_LOG_MEL));
  return SLANEY_F_SP * m;
}

/**
 * Triangular mel filterbank exactly as torchaudio.functional.melscale_fbanks(nFreqs, fMin, fMax,
 * nMels, sampleRate, norm, melScale): shape (nFreqs, nMels), row-major, float64. Filters that
 * fall between two bins come out all-zero (torchaudio warns; we do not).
 */
export function melscaleFbanks(
  nFreqs: number, fMin: number, fMax: number, nMels: number, sampleRate: number,
  norm: MelNorm = null, melScale: MelScale = 'htk',
): Float64Array {
  const op = 'melscaleFbanks';
  checkPositiveInt(op, 'nFreqs', nFreqs);
  checkPositiveInt(op, 'nMels', nMels);
  checkRate(op, 'sampleRate', sampleRate);
  checkFinite(op, 'fMin', fMin, 0);
  checkFinite(op, 'fMax', fMax, 0);
  if (!(fMin < fMax)) fail(op, `fMin = ${fMin} must be below fMax = ${fMax}`);
  if (melScale !== 'htk' && melScale !== 'slaney') fail(op, `melScale must be 'htk' or 'slaney', got ${JSON.stringify(melScale)}`);
  if (norm !== null && norm !== 'slaney') fail(op, `norm must be null or 'slaney', got ${JSON.stringify(norm)}`);
  const top = Math.floor(sampleRate / 2); // torchaudio uses sample_rate // 2
  const mMin = hzToMel(fMin, melScale);
  const mMax = hzToMel(fMax, melScale);
  const fPts = new Float64Array(nMels + 2); // (nMels + 2)
  for (let i = 0; i < nMels + 2; i++) fPts[i] = melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1), melScale);
  const fb = new Float64Array(nFreqs * nMels); // (nFreqs, nMels)
  for (let k = 0; k < nFreqs; k++) {
    const f = nFreqs === 1 ? 0 : (top * k) / (nFreqs - 1);
    for (let m = 0; m < nMels; m++) {
      const down = (f - fPts[m]) / (fPts[m + 1] - fPts[m]); // rising edge
      const up = (fPts[m + 2] - f) / (fPts[m + 2] - fPts[m + 1]); // falling edge
      let v = Math.max(0, Math.min(down, up));
      if (norm === 'slaney') v *= 2 / (fPts[m + 2] - fPts[m]);
      fb[k * nMels + m] = v;
    }
  }
  return fb;
}

/** A (nFreqs, nMels) filterbank stored sparsely per mel: mel m = sum_j weights[m][j] * p[start[m] + j]. */
export class SparseMel {
  readonly nFreqs: number;
  readonly nMels: number;
  readonly start: Int32Array; // (nMels)
  readonly weights: Float64Array[]; // nMels x (nonzero span)

  constructor(fb: Float64Array, nFreqs: number, nMels: number) {
    this.nFreqs = nFreqs;
    this.nMels = nMels;
    this.start = new Int32Array(nMels);
    this.weights = [];
    for (let m = 0; m < nMels; m++) {
      let first = -1;
      let last = -1;
      for (let k = 0; k < nFreqs; k++) {
        if (fb[k * nMels + m] !== 0) {
          if (first < 0) first = k;
          last = k;
        }
      }
      const w = new Float64Array(first < 0 ? 0 : last - first + 1);
      for (let j = 0; j < w.length; j++) w[j] = fb[(first + j) * nMels + m];
      this.start[m] = Math.max(first, 0);
      this.weights.push(w);
    }
  }

  /** out[m] = sum_k fb[k, m] * p[k]. Shapes: p (nFreqs), out (nMels). */
  apply(p: Float64Array, out: Float64Array): void {
    for (let m = 0; m < this.nMels; m++) {
      const w = this.weights[m];
      const s = this.start[m];
      let acc = 0;
      for (let j = 0; j < w.length; j++) acc += w[j] * p[s + j];
      out[m] = acc;
    }
  }
}

export type LogMode = 'ln' | 'db' | 'none';

export interface FbankOptions {
  sampleRate?: number; // 16000
  nFft?: number; // 400
  winLength?: number; // nFft (400)
  hopLength?: number; // 160
  nMels?: number; // 80
  window?: WindowSpec; // 'hann'
  periodic?: boolean; // true
  center?: boolean; // true
  padMode?: PadMode; // 'reflect'
  melScale?: MelScale; // 'htk'
  norm?: MelNorm; // null
  fMin?: number; // 0
  fMax?: number; // sampleRate / 2
  power?: number; // 2 (power); 1 = magnitude
  log?: LogMode; // 'ln'
  floor?: number; // 1e-10
}

/**
 * The one feature-item type of the library: a time-major (numFrames, dim) matrix, row-major.
 * Every producer returns it (fbank, kaldiFbank, mfcc, kaldiMfcc, the batcher's FeatureCache) and
 * every consumer takes it (data.collate, data.batchIterator's featurize, models.collate*), so the
 * output of `audio.fbankArray` goes straight into a batch.
 */
export interface FeatureItem {
  /** (numFrames, dim) row-major */
  data: Float32Array;
  numFrames: number;
  dim: number;
}

/** @deprecated the older name of FeatureItem (same fields). */
export type Features = FeatureItem;

const filterCache = new Map<string, SparseMel>();

/** Cached sparse filterbank for fbank's options (building one costs ~0.2 ms; fbank runs per utterance). */
export function sparseMel(nFreqs: number, fMin: number, fMax: number, nMels: number, sr: number, norm: MelNorm, scale: MelScale): SparseMel {
  const key = `${nFreqs}:${fMin}:${fMax}:${nMels}:${sr}:${norm}:${scale}`;
  let s = filterCache.get(key);
  if (!s) {
    s = new SparseMel(melscaleFbanks(nFreqs, fMin, fMax, nMels, sr, norm, scale), nFreqs, nMels);
    if (filterCache.size >= 32) filterCache.delete(filterCache.keys().next().value as string);
    filterCache.set(key, s);
  }
  return s;
}

/**
 * Log-mel filterbank features of `signal` (n): torchaudio MelSpectrogram (STFT with the given
 * window and centring, |X|^power, mel filterbank) then log: 'ln' = ln(max(x, floor)), 'db' =
 * 10 log10(max(x, floor)) for power 2 or 20 log10 for power 1 (AmplitudeToDB with amin = floor,
 * ref 1, no top_db), 'none' = the mel spectrogram itself. Returns data (numFrames, nMels),
 * numFrames = 1 + floor(n / hop) when centred. Float64 inside, Float32Array out.
 */
export function fbank(signal: FloatArray, opts: FbankOptions = {}): FeatureItem {
  const op = 'fbank';
  checkSignal(op, 'signal', signal);
  const sr = opts.sampleRate ?? 16000;
  checkRate(op, 'sampleRate', sr);
  const nFft = opts.nFft ?? 400;
  checkPositiveInt(op, 'nFft', nFft);
  const winLength = opts.winLength ?? nFft;
  checkPositiveInt(op, 'winLength', winLength);
  if (nFft < winLength) fail(op, `nFft = ${nFft} is less than winLength = ${winLength}`);
  const nMels = opts.nMels ?? 80;
  checkPositiveInt(op, 'nMels', nMels);
  const nFreqs = Math.floor(nFft / 2) + 1;
  if (nMels > nFreqs) fail(op, `nMels = ${nMels} is more than the ${nFreqs} frequency bins of nFft = ${nFft}`);
  const fMin = opts.fMin ?? 0;
  const fMax = opts.fMax ?? sr / 2;
  checkFinite(op, 'fMin', fMin, 0);
  checkFinite(op, 'fMax', fMax);
  if (fMax > sr / 2) fail(op, `fMax = ${fMax} Hz is above the Nyquist frequency ${sr / 2} Hz of sampleRate = ${sr}`);
  if (!(fMin < fMax)) fail(op, `fMin = ${fMin} Hz must be below fMax = ${fMax} Hz`);
  const power = opts.power ?? 2;
  checkPositive(op, 'power', power);
  const log = opts.log ?? 'ln';
  if (log !== 'ln' && log !== 'db' && log !== 'none') fail(op, `log must be 'ln', 'db' or 'none', got ${JSON.stringify(log)}`);
  const floor = opts.floor ?? 1e-10;
  checkPositive(op, 'floor', floor);

  const framer = new Framer(op, {
    nFft, winLength, hopLength: opts.hopLength ?? 160, window: opts.window ?? 'hann',
    periodic: opts.periodic ?? true, center: opts.center ?? true, padMode: opts.padMode ?? 'reflect',
  });
  const mel = sparseMel(nFreqs, fMin, fMax, nMels, sr, opts.norm ?? null, opts.melScale ?? 'htk');
  const frames = framer.frameCount(op, signal.length);
  const plan = realFftPlan(nFft);
  const out = new Float32Array(frames * nMels); // (frames, nMels)
  const buf = new Float64Array(nFft); // (nFft) windowed frame
  const re = new Float64Array(nFreqs); // (nFreqs)
  const im = new Float64Array(nFreqs); // (nFreqs)
  const spec = new Float64Array(nFreqs); // (nFreqs) |X|^power
  const row = new Float64Array(nMels); // (nMels)
  const dbScale = power === 1 ? 20 : 10; // AmplitudeToDB: 10 for power, 20 for magnitude
  for (let t = 0; t < frames; t++) {
    framer.frame(signal, t, buf);
    plan.forward(buf, re, im);
    for (let k = 0; k < nFreqs; k++) {
      const p = re[k] * re[k] + im[k] * im[k];
      spec[k] = power === 2 ? p : power === 1 ? Math.sqrt(p) : Math.pow(p, power / 2);
    }
    mel.apply(spec, row);
    const o = t * nMels;
    if (log === 'ln') for (let m = 0; m < nMels; m++) out[o + m] = Math.log(row[m] > floor ? row[m] : floor);
    else if (log === 'db') for (let m = 0; m < nMels; m++) out[o + m] = dbScale * Math.log10(row[m] > floor ? row[m] : floor);
    else for (let m = 0; m < nMels; m++) out[o + m] = row[m];
  }
  return { data: out, numFrames: frames, dim: nMels };
}
