/** lib/models — the paper's task models on the shared encoder spec. */
export * from './encoder_spec';
export type { LossOutput, HiddenStates, TaskModel, BatchSource } from './task';
export * from './masking';
export * from './hubert';
export * from './decode';
export * from './metrics';
