/** util.ts — small tensor helpers of lib/optim: state-buffer copies and creation. */
import { native } from '../native';
import { recycled, Tensor } from '../tensor/tensor';
import { DType, Device, Shape } from '../tensor/types';

export function shapeStr(s: Shape): string {
  return `(${s.join(', ')})`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A float32 copy of `t` on `device` that shares nothing with `t` (requiresGrad off). The
 *  native to() always makes a fresh contiguous tensor, also when nothing changes. */
export function copyToDevice(t: Tensor, device: Device): Tensor {
  return new Tensor(t.handle('copy').to('float32', device, recycled()));
}

/** A new tensor of `shape` holding `values` (row-major), or zeros when `values` is null. */
export function fromValues(values: ArrayLike<number> | null, shape: Shape, device: Device, dtype: DType): Tensor {
  if (values === null) return new Tensor(native.fill([...shape], 0, dtype, device, recycled()));
  const data = Float32Array.from(values as ArrayLike<number>);
  return new Tensor(native.fromTypedArray(data, [...shape], dtype, device, true, recycled()));
}
