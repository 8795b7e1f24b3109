/** types.ts — dtype and device names shared by the whole library. */

/** Element type: float32 everywhere; bfloat16 for CUDA matmul/attention/scan inputs; int32 for lengths, labels, indices. */
export type DType = 'float32' | 'bfloat16' | 'int32';
/** Where a tensor's memory lives. */
export type Device = 'cpu' | 'cuda';
/** What dataSync()/data() return: Float32Array (float32, and bfloat16 widened) or Int32Array. */
export type TypedData = Float32Array | Int32Array;
/** Shape: an array of integer dims >= 0; [] is a scalar. */
export type Shape = readonly number[];

export const DTYPES: readonly DType[] = ['float32', 'bfloat16', 'int32'];
export const DEVICES: readonly Device[] = ['cpu', 'cuda'];

export function isDType(x: unknown): x is DType {
  return x === 'float32' || x === 'bfloat16' || x === 'int32';
}
export function isDevice(x: unknown): x is Device {
  return x === 'cpu' || x === 'cuda';
}
