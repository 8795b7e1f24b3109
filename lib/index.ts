/**
 * mamba-speech — Mamba- and attention-based speech models in Node.js: TypeScript over a native
 * C++/CUDA addon. See README.md for the API and docs/architecture.md for the design.
 */
export * from './tensor';
import * as ops from './ops';
export { ops };
export * from './ops';
export * from './autograd';
export * as optim from './optim';
export * as audio from './audio/api';
export * as data from './data';
export * as io from './io';
export * as nn from './nn';
export * as mi from './mi';
export * as models from './models';
export * as plot from './plot';
export * as train from './train';
export * as analysis from './analysis';
export { reproduce } from './reproduce';
export type { ReproduceOptions, ReproduceResult, ReproduceEvent } from './reproduce';
