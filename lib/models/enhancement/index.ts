/** lib/models/enhancement — speech enhancement: MaskEnhancer, its tensor STFT, losses, STOI and data pairs. */
export { MaskEnhancer, LearnableSigmoid } from './enhancer';
export type { MaskEnhancerOptions, EnhancerLossWeights, EnhancerOutput } from './enhancer';
export { Stft, tensorStft, tensorIstft, frameMask, sampleMask } from './stft';
export type { TensorStftOptions, TensorSpectrum } from './stft';
export { maskedFrameMse, compressedMagnitudeLoss, complexLoss, siSdrPerItem, negativeSiSdrLoss } from './losses';
export { stoi, thirdOctaveBands, STOI_FS } from './stoi';
export type { StoiOptions } from './stoi';
export { utteranceMetrics, MetricAverager } from './metrics';
export type { UtteranceMetrics } from './metrics';
export {
  synthEnhancementPairs, loadEnhancementPairs, loadVoiceBankPairs, collateEnhancement, enhancementBatches, snrSet,
} from './data';
export type { EnhancementPair, EnhancementBatch, PairNoiseOptions, EnhancementBatchOptions } from './data';
