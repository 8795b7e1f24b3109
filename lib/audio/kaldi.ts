/**
 * Kaldi-compatible filterbank and MFCC features, matching torchaudio.compliance.kaldi.fbank and
 * .mfcc (and so Kaldi's compute-fbank-feats / compute-mfcc-feats), option for option, defaults
 * included (torchaudio's: dither 0, energy_floor 1). VTLN warping is not implemented.
 *
 * Glossary:
 *   window_size     frameLength ms * sampleFrequency (25 ms -> 400 samples at 16 kHz)
 *   window_shift    frameShift ms * sampleFrequency (10 ms -> 160)
 *   padded          FFT size: next power of two >= window_size when roundToPowerOfTwo (512)
 *   snipEdges       true: frames = 1 + floor((n - window_size) / shift), all inside the signal;
 *                   false: frames = floor((n + shift/2) / shift), edges mirrored (x[-1] = x[0])
 *   kaldi mel       1127 ln(1 + f / 700)
 *   bins            numMelBins triangles equally spaced in Kaldi mel between lowFreq and highFreq,
 *                   evaluated at the mel of FFT bin k = 0..padded/2 - 1 (the Nyquist bin gets 0)
 *   eps             float32 epsilon 1.1920929e-7: floor under the energies before the log
 *   samples         used as given: Kaldi reads int16 values, so multiply [-1, 1] audio by 32768
 *                   to get Kaldi's numbers (the log offset is 2 ln 32768 = 20.79 per bin)
 */

import { checkFinite, checkPositive, checkNonNegativeInt, checkPositiveInt, checkRate, checkSignal, fail, FloatArray } from './check';
import { realFftPlan } from './fft';
import { FeatureItem, SparseMel } from './mel';
import { liftering } from './mfcc';
import { Rng } from './rng';
import { makeWindow } from './window';

export type KaldiWindow = 'povey' | 'hanning' | 'hamming' | 'rectangular' | 'blackman';

export interface KaldiFbankOptions {
  blackmanCoeff?: number; // 0.42
  /** Gaussian noise of this standard deviation is added to each frame (seeded). Default 0. */
  dither?: number;
  /** Seed for the dither noise. Default 0. */
  seed?: number;
  energyFloor?: number; // 1.0 (torchaudio's default; Kaldi's binary uses 0)
  frameLength?: number; // 25 ms
  frameShift?: number; // 10 ms
  highFreq?: number; // 0 = Nyquist; negative = offset below Nyquist
  htkCompat?: boolean; // false: energy first; true: energy last
  lowFreq?: number; // 20 Hz
  minDuration?: number; // 0 s
  numMelBins?: number; // 23
  preemphasisCoefficient?: number; // 0.97
  rawEnergy?: boolean; // true: energy before preemphasis and window
  removeDcOffset?: boolean; // true
  roundToPowerOfTwo?: boolean; // true
  sampleFrequency?: number; // 16000
  snipEdges?: boolean; // true
  subtractMean?: boolean; // false
  useEnergy?: boolean; // false
  useLogFbank?: boolean; // true
  usePower?: boolean; // true
  /** Only 1 (no VTLN) is supported. */
  vtlnWarp?: number;
  windowType?: KaldiWindow; // 'povey'
}

export interface KaldiMfccOptions extends Omit<KaldiFbankOptions, 'useLogFbank' | 'usePower'> {
  cepstralLifter?: number; // 22
  numCeps?: number; // 13
}

const EPS = 1.1920928955078125e-7; // torch.finfo(torch.float32).eps, torchaudio's _get_epsilon

/** Kaldi's mel scale, 1127 ln(1 + f / 700). */
export function kaldiMel(f: number): number {
  return 1127 * Math.log(1 + f / 700);
}

/**
 * Kaldi mel triangles as torchaudio.compliance.kaldi.get_mel_banks computes them (no VTLN):
 * shape (numBins, padded / 2), row-major, float64. highFreq <= 0 means Nyquist + highFreq.
 */
export function kaldiMelBanks(numBins: number, padded: number, sampleFreq: number, lowFreq: number, highFreq: number): Float64Array {
  const op = 'kaldiFbank';
  if (!(numBins > 3)) fail(op, `numMelBins must be more than 3, got ${numBins}`);
  if (padded % 2 !== 0) fail(op, `padded window size must be even, got ${padded}`);
  const nyquist = 0.5 * sampleFreq;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < nyquist && high > 0 && high <= nyquist && lowFreq < high)) {
    fail(op, `need 0 <= lowFreq < highFreq <= Nyquist = ${nyquist} Hz, got lowFreq = ${lowFreq}, highFreq = ${high} (given ${highFreq})`);
  }
  const nFftBins = padded / 2;
  const binWidth = sampleFreq / padded;
  const melLow = kaldiMel(lowFreq);
  const melDelta = (kaldiMel(high) - melLow) / (numBins + 1);
  const banks = new Float64Array(numBins * nFftBins); // (numBins, padded/2)
  for (let b = 0; b < numBins; b++) {
    const left = melLow + b * melDelta;
    const center = melLow + (b + 1) * melDelta;
    const right = melLow + (b + 2) * melDelta;
    for (let k = 0; k < nFftBins; k++) {
      const mel = kaldiMel(binWidth * k);
      const up = (mel - left) / (center - left);
      const down = (right - mel) / (right - center);
      banks[b * nFftBins + k] = Math.max(0, Math.min(up, down));
    }
  }
  return banks;
}

/**
 * Kaldi filterbank features of `signal` (n), as torchaudio.compliance.kaldi.fbank: per frame
 * [dither] -> remove DC -> [raw log-energy] -> pre-emphasis -> window -> zero-pad -> |FFT|^2 ->
 * Kaldi mel -> ln(max(., eps)). Returns (frames, numMelBins [+ 1 energy column]); the energy
 * column is first, or last with htkCompat. Float64 inside, Float32Array out.
 */
export function kaldiFbank(signal: FloatArray, opts: KaldiFbankOptions = {}): FeatureItem {
  const op = 'kaldiFbank';
  checkSignal(op, 'signal', signal);
  const o = resolveOptions(op, opts);
  const n = signal.length;
  if (n < o.minDuration * o.sampleFrequency) return { data: new Float32Array(0), numFrames: 0, dim: 0 };
  if (o.windowSize < 2 || o.windowSize > n) {
    fail(op, `signal of ${n} samples is shorter than one frame of ${o.windowSize} samples (${o.frameLength} ms at ${o.sampleFrequency} Hz)`);
  }
  const nBins = o.numMelBins;
  const half = o.padded / 2;
  const banks = kaldiMelBanks(nBins, o.padded, o.sampleFrequency, o.lowFreq, o.highFreq); // (nBins, half)
  const bankT = new Float64Array(half * nBins); // (half, nBins): SparseMel's (nFreqs, nMels) layout
  for (let b = 0; b < nBins; b++) for (let k = 0; k < half; k++) bankT[k * nBins + b] = banks[b * half + k];
  const mel = new SparseMel(bankT, half, nBins);
  const energies = new Float64Array(nBins); // (nBins)
  const window = kaldiWindow(o.windowType, o.windowSize, o.blackmanCoeff); // (windowSize)
  const frames = o.snipEdges
    ? 1 + Math.floor((n - o.windowSize) / o.windowShift)
    : Math.floor((n + Math.floor(o.windowShift / 2)) / o.windowShift);
  const pad = o.snipEdges ? 0 : Math.floor(o.windowSize / 2) - Math.floor(o.windowShift / 2);
  const dim = nBins + (o.useEnergy ? 1 : 0);
  const melCol = o.useEnergy && !o.htkCompat ? 1 : 0;
  const out = new Float32Array(frames * dim); // (frames, dim)
  const plan = realFftPlan(o.padded);
  const buf = new Float64Array(o.padded); // (padded) the frame, zero tail
  const re = new Float64Array(half + 1);
  const im = new Float64Array(half + 1);
  const spec = new Float64Array(half); // (padded/2) Nyquist bin dropped: its bank weight is 0
  const rng = o.dither !== 0 ? new Rng(o.seed) : null;
  const logFloor = o.energyFloor !== 0 ? Math.log(o.energyFloor) : -Infinity;
  const ws = o.windowSize;
  for (let t = 0; t < frames; t++) {
    const start = t * o.windowShift - pad;
    for (let j = 0; j < ws; j++) {
      let i = start + j;
      if (i < 0) i = -i - 1; // Kaldi mirrors with the edge sample repeated
      else if (i >= n) i = 2 * n - 1 - i;
      buf[j] = signal[i];
    }
    if (rng) for (let j = 0; j < ws; j++) buf[j] += rng.normal() * o.dither;
    if (o.removeDcOffset) {
      let mean = 0;
      for (let j = 0; j < ws; j++) mean += buf[j];
      mean /= ws;
      for (let j = 0; j < ws; j++) buf[j] -= mean;
    }
    let logEnergy = 0;
    if (o.rawEnergy) logEnergy = frameLogEnergy(buf, ws, logFloor);
    const c = o.preemphasisCoefficient;
    if (c !== 0) {
      for (let j = ws - 1; j > 0; j--) buf[j] -= c * buf[j - 1];
      buf[0] -= c * buf[0]; // replicate padding: x[-1] = x[0]
    }
    for (let j = 0; j < ws; j++) buf[j] *= window[j];
    buf.fill(0, ws);
    if (!o.rawEnergy) logEnergy = frameLogEnergy(buf, o.padded, logFloor);
    plan.forward(buf, re, im);
    for (let k = 0; k < half; k++) {
      const p = re[k] * re[k] + im[k] * im[k];
      spec[k] = o.usePower ? p : Math.sqrt(p);
    }
    const row = t * dim;
    mel.apply(spec, energies);
    for (let b = 0; b < nBins; b++) {
      out[row + melCol + b] = o.useLogFbank ? Math.log(Math.max(energies[b], EPS)) : energies[b];
    }
    if (o.useEnergy) out[row + (o.htkCompat ? nBins : 0)] = logEnergy;
  }
  if (o.subtractMean) subtractColumnMean(out, frames, dim);
  return { data: out, numFrames: frames, dim };
}

/**
 * Kaldi MFCC of `signal` (n), as torchaudio.compliance.kaldi.mfcc: log Kaldi fbank (power) ->
 * DCT-II ortho (first column sqrt(1/numMelBins)) keeping numCeps -> lifter 1 + L/2 sin(pi i / L)
 * -> with useEnergy, c0 replaced by the log energy; with htkCompat, c0/energy moves last (times
 * sqrt(2) when it is c0). Returns (frames, numCeps).
 */
export function kaldiMfcc(signal: FloatArray, opts: KaldiMfccOptions = {}): FeatureItem {
  const op = 'kaldiMfcc';
  const numCeps = opts.numCeps ?? 13;
  const lifter = opts.cepstralLifter ?? 22;
  const nMel = opts.numMelBins ?? 23;
  checkPositiveInt(op, 'numCeps', numCeps);
  checkFinite(op, 'cepstralLifter', lifter);
  if (numCeps > nMel) fail(op, `numCeps = ${numCeps} is more than numMelBins = ${nMel}`);
  const useEnergy = opts.useEnergy ?? false;
  const htk = opts.htkCompat ?? false;
  const fb = kaldiFbank(signal, { ...opts, useLogFbank: true, usePower: true, subtractMean: false });
  const { numFrames: frames, dim } = fb;
  const melOff = useEnergy && !htk ? 1 : 0;
  const lift = lifter !== 0 ? liftering(numCeps, lifter) : null; // (numCeps)
  const dct = new Float64Array(numCeps * nMel); // (numCeps, nMel), ortho DCT-II rows
  for (let k = 0; k < numCeps; k++) {
    for (let m = 0; m < nMel; m++) {
      dct[k * nMel + m] = k === 0 ? Math.sqrt(1 / nMel) : Math.sqrt(2 / nMel) * Math.cos((Math.PI / nMel) * (m + 0.5) * k);
    }
  }
  const out = new Float32Array(frames * numCeps); // (frames, numCeps)
  const c = new Float64Array(numCeps);
  for (let t = 0; t < frames; t++) {
    const row = t * dim;
    for (let k = 0; k < numCeps; k++) {
      let acc = 0;
      for (let m = 0; m < nMel; m++) acc += dct[k * nMel + m] * fb.data[row + melOff + m];
      c[k] = lift ? acc * lift[k] : acc;
    }
    if (useEnergy) c[0] = fb.data[row + (htk ? nMel : 0)];
    const o = t * numCeps;
    if (htk) {
      for (let k = 1; k < numCeps; k++) out[o + k - 1] = c[k];
      out[o + numCeps - 1] = useEnergy ? c[0] : c[0] * Math.SQRT2;
    } else {
      for (let k = 0; k < numCeps; k++) out[o + k] = c[k];
    }
  }
  if (opts.subtractMean) subtractColumnMean(out, frames, numCeps);
  return { data: out, numFrames: frames, dim: numCeps };
}

/** Kaldi's feature window of `size` points (symmetric). Shape: (size). */
export function kaldiWindow(type: KaldiWindow, size: number, blackmanCoeff = 0.42): Float64Array {
  switch (type) {
    case 'povey': return makeWindow('povey', size, false);
    case 'hanning': return makeWindow('hann', size, false);
    case 'hamming': return makeWindow('hamming', size, false);
    case 'rectangular': return makeWindow('rectangular', size, false);
    case 'blackman': return makeWindow('blackman', size, false, blackmanCoeff);
    default: return fail('kaldiFbank', `windowType must be povey, hanning, hamming, rectangular or blackman, got ${JSON.stringify(type)}`);
  }
}

function frameLogEnergy(buf: Float64Array, len: number, logFloor: number): number {
  let e = 0;
  for (let j = 0; j < len; j++) e += buf[j] * buf[j];
  return Math.max(Math.log(Math.max(e, EPS)), logFloor);
}

function subtractColumnMean(x: Float32Array, frames: number, dim: number): void {
  for (let d = 0; d < dim; d++) {
    let s = 0;
    for (let t = 0; t < frames; t++) s += x[t * dim + d];
    const mean = s / Math.max(frames, 1);
    for (let t = 0; t < frames; t++) x[t * dim + d] -= mean;
  }
}

function resolveOptions(op: string, opts: KaldiFbankOptions) {
  const o = {
    blackmanCoeff: opts.blackmanCoeff ?? 0.42,
    dither: opts.dither ?? 0,
    seed: opts.seed ?? 0,
    energyFloor: opts.energyFloor ?? 1,
    frameLength: opts.frameLength ?? 25,
    frameShift: opts.frameShift ?? 10,
    highFreq: opts.highFreq ?? 0,
    htkCompat: opts.htkCompat ?? false,
    lowFreq: opts.lowFreq ?? 20,
    minDuration: opts.minDuration ?? 0,
    numMelBins: opts.numMelBins ?? 23,
    preemphasisCoefficient: opts.preemphasisCoefficient ?? 0.97,
    rawEnergy: opts.rawEnergy ?? true,
    removeDcOffset: opts.removeDcOffset ?? true,
    roundToPowerOfTwo: opts.roundToPowerOfTwo ?? true,
    sampleFrequency: opts.sampleFrequency ?? 16000,
    snipEdges: opts.snipEdges ?? true,
    subtractMean: opts.subtractMean ?? false,
    useEnergy: opts.useEnergy ?? false,
    useLogFbank: opts.useLogFbank ?? true,
    usePower: opts.usePower ?? true,
    windowType: opts.windowType ?? 'povey',
  };
  checkRate(op, 'sampleFrequency', o.sampleFrequency);
  checkPositive(op, 'frameLength', o.frameLength);
  checkPositive(op, 'frameShift', o.frameShift);
  checkFinite(op, 'dither', o.dither, 0);
  checkFinite(op, 'energyFloor', o.energyFloor, 0);
  checkFinite(op, 'preemphasisCoefficient', o.preemphasisCoefficient, 0, 1);
  checkFinite(op, 'lowFreq', o.lowFreq);
  checkFinite(op, 'highFreq', o.highFreq);
  checkFinite(op, 'minDuration', o.minDuration, 0);
  checkNonNegativeInt(op, 'numMelBins', o.numMelBins);
  if ((opts.vtlnWarp ?? 1) !== 1) fail(op, `vtlnWarp = ${opts.vtlnWarp} is not supported (VTLN is not implemented); use 1`);
  const windowSize = Math.trunc(o.sampleFrequency * o.frameLength * 0.001); // int(), as torchaudio
  const windowShift = Math.trunc(o.sampleFrequency * o.frameShift * 0.001);
  if (windowShift <= 0) fail(op, `frameShift = ${o.frameShift} ms gives ${windowShift} samples; need at least 1`);
  if (windowSize < 2) fail(op, `frameLength = ${o.frameLength} ms gives ${windowSize} samples; need at least 2`);
  let padded = windowSize;
  if (o.roundToPowerOfTwo) {
    padded = 1;
    while (padded < windowSize) padded *= 2;
  }
  if (padded % 2 !== 0) fail(op, `window of ${padded} samples must be even (set roundToPowerOfTwo or an even frame)`);
  return { ...o, windowSize, windowShift, padded };
}
