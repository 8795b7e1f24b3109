/** lib/optim — SGD, Adam, AdamW (one fused native update over all parameters), gradient clipping, lr schedules. */
export { Optimizer } from './optimizer';
export type {
  BaseHyper, BufferName, ParamGroup, ParamGroupInput, ParamsInput, ParamStateDict, OptimizerStateDict, StateDictOptions,
} from './optimizer';
export { SGD } from './sgd';
export type { SGDHyper, SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamHyper, AdamOptions } from './adam';
export { clipGradNorm, clipGradNormAndRead } from './clip';
export type { ClipGradNormOptions } from './clip';
export { constant, warmupCosine, warmupLinear, warmupPolynomial, noam, LRScheduler } from './schedule';
export type { Schedule, WarmupDecayOptions, NoamOptions, LRSchedulerState } from './schedule';
