/**
 * api.ts — the `audio` namespace of the package (`import { audio } from 'mamba-speech'`).
 *
 * Everything of lib/audio, with the feature functions in their fixed Tensor form:
 *   audio.fbank(signal, opts)       -> Tensor (frames, nMels)
 *   audio.kaldiFbank(signal, opts)  -> Tensor (frames, numMelBins [+ 1 with useEnergy])
 *   audio.mfcc(signal, opts)        -> Tensor (frames, nMfcc)
 *   audio.kaldiMfcc(signal, opts)   -> Tensor (frames, numCeps)
 * The array-level versions stay available as fbankArray, kaldiFbankArray, mfccArray,
 * kaldiMfccArray (FeatureItem { data, numFrames, dim }), for loaders that never touch the addon;
 * a FeatureItem goes straight into data.collate and models.collate*.
 */
import { CreateOptions, Tensor } from '../tensor';
import { FloatArray } from './check';
import { fbankTensor, kaldiFbankTensor, kaldiMfccTensor, mfccTensor } from './index';
import { KaldiFbankOptions, KaldiMfccOptions } from './kaldi';
import { FbankOptions } from './mel';
import { MfccOptions } from './mfcc';

export * from './index';
export { fbank as fbankArray } from './mel';
export { kaldiFbank as kaldiFbankArray, kaldiMfcc as kaldiMfccArray } from './kaldi';
export { mfcc as mfccArray } from './mfcc';

/** Log-mel filterbank features of `signal` (n samples) as a float32 Tensor (frames, nMels); options as torchaudio (see FbankOptions). */
export function fbank(signal: FloatArray, opts: FbankOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return fbankTensor(signal, opts, tensorOpts);
}

/** torchaudio.compliance.kaldi.fbank of `signal` (n samples) as a Tensor (frames, numMelBins). */
export function kaldiFbank(signal: FloatArray, opts: KaldiFbankOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return kaldiFbankTensor(signal, opts, tensorOpts);
}

/** MFCC (DCT-II ortho of log-mel, optional lifter) of `signal` as a Tensor (frames, nMfcc). */
export function mfcc(signal: FloatArray, opts: MfccOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return mfccTensor(signal, opts, tensorOpts);
}

/** Kaldi MFCC of `signal` as a Tensor (frames, numCeps). */
export function kaldiMfcc(signal: FloatArray, opts: KaldiMfccOptions = {}, tensorOpts: CreateOptions = {}): Tensor {
  return kaldiMfccTensor(signal, opts, tensorOpts);
}
