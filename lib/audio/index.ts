/**
 * Audio: WAV/FLAC I/O, resampling, FFT/STFT, log-mel and Kaldi features, MFCC, SpecAugment,
 * CMVN, mixing and enhancement metrics.
 *
 * The DSP core is pure TypeScript on Float32Array/Float64Array (CPU, float64 arithmetic) and
 * returns plain arrays with their sizes, so it runs without the native addon (data loaders,
 * tests). The `...Tensor` wrappers below convert those results to float32 Tensors with the
 * library's time-major layout: features (frames, dim), batches (B, T, F).
 *
 * Glossary:
 *   FeatureItem { data (numFrames, dim), numFrames, dim }, returned by fbank, kaldiFbank, mfcc, ...
 *              and taken by data.collate / batchIterator (one type from producer to batch)
 *   lengths    Int32Array (B) of valid frames per item; padding is on the right
 */

import { CreateOptions, Tensor, tensor } from '../tensor';
import { FloatArray, fail, isFloat32Array, isInt32Array } from './check';
import { kaldiFbank, KaldiFbankOptions, kaldiMfcc, KaldiMfccOptions } from './kaldi';
import { fbank, FbankOptions, FeatureItem } from './mel';
import { mfcc, MfccOptions } from './mfcc';
import { specAugment, SpecAugmentOptions } from './specaugment';
import { FrameOptions, spectrogram, stft, StftOptions } from './stft';

export type { FloatArray } from './check';
export * from './rng';
export * from './resample';
export * from './fft';
export * from './window';
export * from './stft';
export * from './mel';
export * from './kaldi';
export * from './mfcc';
export * from './specaugment';
export * from './cmvn';
export * from './metrics';
export * from './wav';
export * from './flac';
export * from './flac_encode';

/** A FeatureItem (numFrames, dim) as a float32 Tensor of shape (numFrames, dim). */
export function featuresToTensor(f: FeatureItem, opts: CreateOptions = {}): Tensor {
  return tensor(f.data, [f.numFrames, f.dim], opts);
}

/** fbank (log-mel) of `signal` (n) as a Tensor (frames, nMels). */
export function fbankTensor(signal: FloatArray, opts: FbankOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return featuresToTensor(fbank(signal, opts), tensorOpts);
}

/** Kaldi fbank of `signal` (n) as a Tensor (frames, numMelBins [+ 1]). */
export function kaldiFbankTensor(signal: FloatArray, opts: KaldiFbankOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return featuresToTensor(kaldiFbank(signal, opts), tensorOpts);
}

/** MFCC of `signal` (n) as a Tensor (frames, nMfcc). */
export function mfccTensor(signal: FloatArray, opts: MfccOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return featuresToTensor(mfcc(signal, opts), tensorOpts);
}

/** Kaldi MFCC of `signal` (n) as a Tensor (frames, numCeps). */
export function kaldiMfccTensor(signal: FloatArray, opts: KaldiMfccOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return featuresToTensor(kaldiMfcc(signal, opts), tensorOpts);
}

/** |STFT|^power of `signal` (n) as a Tensor (frames, nFft/2 + 1). */
export function spectrogramTensor(signal: FloatArray, opts: FrameOptions & { power?: number }, tensorOpts: CreateOptions = {}): Tensor {
  const s = spectrogram(Float32Array.from(signal), opts);
  return tensor(s.data, [s.frames, s.bins], tensorOpts);
}

/** STFT of `signal` (n) as two Tensors re, im of shape (frames, bins). */
export function stftTensor(signal: FloatArray, opts: StftOptions, tensorOpts: CreateOptions = {}): { re: Tensor; im: Tensor } {
  const s = stft(Float32Array.from(signal), opts);
  return { re: tensor(s.re, [s.frames, s.bins], tensorOpts), im: tensor(s.im, [s.frames, s.bins], tensorOpts) };
}

/**
 * SpecAugment of a float32 Tensor (B, T, F) with valid lengths (B) (Int32Array or int32 Tensor);
 * reads the values back to the CPU, augments (see specAugment) and returns a new Tensor (B, T, F)
 * on the input's device.
 */
export function specAugmentTensor(features: Tensor, lengths: Int32Array | Tensor, opts: SpecAugmentOptions = {}): Tensor {
  const op = 'specAugment';
  if (features.ndim !== 3) fail(op, `features must have shape (B, T, F), got ${features.ndim} dims`);
  const [B, T, F] = features.shape;
  const data = features.dataSync();
  if (!isFloat32Array(data)) fail(op, `features must be float32 or bfloat16, got ${features.dtype}`);
  const lens = isInt32Array(lengths) ? lengths : (lengths as Tensor).dataSync();
  if (!isInt32Array(lens)) fail(op, 'lengths must be an Int32Array or an int32 Tensor');
  const out = specAugment(data, [B, T, F], lens, { ...opts, inPlace: true });
  return tensor(out.data, [B, T, F], { device: features.device });
}
