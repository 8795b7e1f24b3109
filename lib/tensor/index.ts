/** lib/tensor — the Tensor class, creation, scopes, devices and memory. */
export { Tensor, shapeString } from './tensor';
export type { ToOptions } from './tensor';
export * from './types';
export { tidy, keep, scopeDepth } from './scope';
export { tensor, fromTypedArray, full, zeros, ones, arange, rand, randn, manualSeed, getRngState, setRngState } from './creation';
export type { CreateOptions, RandomOptions, RngState } from './creation';
export { buildInfo, cudaAvailable, getDefaultDevice, setDefaultDevice, synchronize, setNumThreads } from './device';
export type { BuildInfo } from './device';
export { memory, emptyCache } from './memory';
export type { MemoryInfo } from './memory';
