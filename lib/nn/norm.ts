/**
 * norm.ts — normalisation layers with PyTorch's names: LayerNorm (weight, bias), RMSNorm (weight),
 * GroupNorm (weight, bias), BatchNorm1d (weight, bias, running_mean, running_var,
 * num_batches_tracked). Shapes: LayerNorm/RMSNorm normalise the trailing `normalizedShape`
 * dims; GroupNorm and BatchNorm1d take (N, C, ...) (BatchNorm1d also (N, C)).
 */
import { native } from '../native';
import { batchNorm, groupNorm, layerNorm, rmsNorm } from '../ops/norm';
import { full, zeros } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { LayerOptions } from './layers';
import { Module } from './module';

const shapeOf = (s: number | readonly number[]): number[] => (typeof s === 'number' ? [s] : [...s]);

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(normalizedShape: number | readonly number[], readonly o: LayerOptions & { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    this.normalizedShape = shapeOf(normalizedShape);
    const affine = o.elementwiseAffine ?? true;
    this.weight = affine ? this.param('weight', full(this.normalizedShape, 1, { device: o.device })) : null;
    this.bias = affine && o.bias !== false ? this.param('bias', zeros(this.normalizedShape, { device: o.device })) : null;
  }
  /** x (..., *normalizedShape) -> same shape */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.o.eps ?? 1e-5);
  }
}

export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  weight: Tensor | null;
  constructor(normalizedShape: number | readonly number[], readonly o: LayerOptions & { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = shapeOf(normalizedShape);
    this.weight = (o.elementwiseAffine ?? true) ? this.param('weight', full(this.normalizedShape, 1, { device: o.device })) : null;
  }
  /** x (..., *normalizedShape) -> same shape */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.normalizedShape, this.weight, this.o.eps ?? 1e-6);
  }
}

export class GroupNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly o: LayerOptions & { eps?: number; affine?: boolean } = {}) {
    super();
    if (numChannels % numGroups !== 0) throw new Error(`[GroupNorm] numChannels ${numChannels} is not divisible by numGroups ${numGroups}`);
    const affine = o.affine ?? true;
    this.weight = affine ? this.param('weight', full([numChannels], 1, { device: o.device })) : null;
    this.bias = affine ? this.param('bias', zeros([numChannels], { device: o.device })) : null;
  }
  /** x (N, C, ...) -> same shape */
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.o.eps ?? 1e-5);
  }
}

export class BatchNorm1d extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  running_mean: Tensor | null;
  running_var: Tensor | null;
  num_batches_tracked: Tensor | null;
  constructor(readonly numFeatures: number, readonly o: LayerOptions & { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean } = {}) {
    super();
    const affine = o.affine ?? true;
    const track = o.trackRunningStats ?? true;
    this.weight = affine ? this.param('weight', full([numFeatures], 1, { device: o.device })) : null;
    this.bias = affine ? this.param('bias', zeros([numFeatures], { device: o.device })) : null;
    this.running_mean = track ? this.buffer('running_mean', zeros([numFeatures], { device: o.device })) : null;
    this.running_var = track ? this.buffer('running_var', full([numFeatures], 1, { device: o.device })) : null;
    // PyTorch stores int64; int32 here (loads from int64 files, range-checked).
    this.num_batches_tracked = track ? this.buffer('num_batches_tracked', zeros([], { device: 'cpu', dtype: 'int32' })) : null;
  }
  /** x (N, C) or (N, C, L) -> same shape; training uses batch statistics and updates the running ones. */
  forward(x: Tensor): Tensor {
    const useBatch = this.training || !this.running_mean;
    const y = batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, {
      training: useBatch, momentum: this.o.momentum ?? 0.1, eps: this.o.eps ?? 1e-5,
    });
    if (this.training && this.num_batches_tracked) {
      const next = this.num_batches_tracked.add(1);
      native.copyInto(this.num_batches_tracked.handle('BatchNorm1d'), next.handle('BatchNorm1d'));
      next.dispose();
    }
    return y;
  }
}
