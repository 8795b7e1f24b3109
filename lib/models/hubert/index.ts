/** lib/models/hubert — HuBERT: k-means targets, masked pre-training, CTC fine-tuning, cluster quality. */
export { KMeans, kmeansPlusPlus, inertiaOf } from './kmeans';
export type { KMeansOptions, KMeansFitInfo } from './kmeans';
export { clusterQuality, qualityFromTable, QualityAccumulator } from './quality';
export type { ClusterQuality } from './quality';
export { mfcc39, resampleLabels, checkLabelLength, stackFrames, learnTargets, mfccTargets, layerFeatures, layerTargets, writeLabels, readLabels } from './targets';
export type { Targets, TargetOptions } from './targets';
export { hubertBase, hubertTiny, resolveHubert, resolveBackbone } from './config';
export type { HubertOptions, HubertBackboneOptions, HubertMaskOptions, ResolvedHubert, ResolvedBackbone } from './config';
export { HubertBackbone, gradScale, utteranceNorm } from './backbone';
export { Hubert } from './hubert';
export type { HubertBatch, HubertForward } from './hubert';
export { HubertCtc } from './hubert_ctc';
export type { HubertCtcOptions, HubertCtcBatch } from './hubert_ctc';
export { collateHubert, hubertBatchSource } from './batch';
export type { HubertItem, OwnedHubertBatch } from './batch';
export { fromTorchaudioHubert, loadTorchaudioHubert } from './interop';
