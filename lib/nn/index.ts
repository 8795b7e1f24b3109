/** lib/nn — modules and layers with PyTorch's names and semantics. */
export { Module } from './module';
export type { Parameter } from './module';
export * from './layers';
export * as init from './init';
