/** lib/models/hubert — HuBERT: k-means targets, masked pre-training, CTC fine-tuning, cluster quality. */
export { KMeans, kmeansPlusPlus, inertiaOf } from './kmeans';
export type { KMeansOptions, KMeansFitInfo } from './kmeans';
export { clusterQuality, qualityFromTable, QualityAccumulator } from './quality';
export type { ClusterQuality } from './quality';
export { mfcc39, resampleLabels, checkLabelLength, stackFrames, learnTargets, mfccTargets, layerFeatures, layerTargets, writeLabels, readLabels } from './targets';
export type { Targets, TargetOptions } from './targets';
