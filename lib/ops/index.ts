/** lib/ops — typed op functions, each with its gradient. */
export * from './elementwise';
export * from './shape';
export * from './reduce';
export * from './matmul';
import './methods';
export { attention } from './attention';
export type { AttentionOptions } from './attention';
export { attentionRef } from './attention_ref';
export type { AttentionRefOptions, AttentionRefResult } from './attention_ref';
export { selectiveScan } from './selective_scan';
export type { SelectiveScanOptions, SelectiveScanResult, Lengths } from './selective_scan';
export { selectiveScanRef } from './selective_scan_ref';
export type { RefArray, RefInput, ScanRefOptions, ScanRefResult, ScanRefGrads } from './selective_scan_ref';
export { causalConv1d } from './causal_conv1d';
export type { CausalConv1dOptions, CausalConv1dResult } from './causal_conv1d';
export { causalConv1dRef } from './causal_conv1d_ref';
export type { ConvRefOptions, ConvRefResult, ConvRefGrads } from './causal_conv1d_ref';
