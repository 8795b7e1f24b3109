/** lib/data — manifests, corpus builders, tokenizers, the embedded corpus, noise, batching. */
export * from './manifest';
export * from './builders';
export * from './tokenizer';
export * from './corpus';
export * from './espeak';
export * from './noise';
export * from './batching';
export * from './synth';
export { Rng as DataRng, deriveSeed, shuffleInPlace } from './rng';
export * from './tensors';
export * from './layouts';
export * from './dataroot';
