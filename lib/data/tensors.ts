/**
 * tensors.ts — a collated Batch (plain typed arrays, made without the addon) as Tensors on a
 * device: features (B, T, F) float32, lengths (B) int32, and targets (B, S) / targetLengths (B)
 * int32 when present — the form the models and ctcLoss take.
 */
import { fromTypedArray } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import { Batch } from './batching';

export interface BatchTensors {
  ids: string[];
  features: Tensor;
  lengths: Tensor;
  targets?: Tensor;
  targetLengths?: Tensor;
}

/** Moves a Batch to `device` (copies; the Batch's arrays stay usable). */
export function batchToTensors(batch: Batch, opts: { device?: Device } = {}): BatchTensors {
  const device = opts.device;
  const out: BatchTensors = {
    ids: batch.ids,
    features: fromTypedArray(batch.features, batch.shape, { device, copy: true }),
    lengths: fromTypedArray(batch.lengths, [batch.lengths.length], { device, copy: true }),
  };
  if (batch.targets && batch.targetShape && batch.targetLengths) {
    out.targets = fromTypedArray(batch.targets, batch.targetShape, { device, copy: true });
    out.targetLengths = fromTypedArray(batch.targetLengths, [batch.targetLengths.length], { device, copy: true });
  }
  return out;
}
