/** lib/models/hubert — HuBERT: k-means targets, masked pre-training, CTC fine-tuning, cluster quality. */
export { KMeans, kmeansPlusPlus, inertiaOf } from './kmeans';
export type { KMeansOptions, KMeansFitInfo } from './kmeans';
