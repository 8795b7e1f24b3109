/**
 * batch.ts — HuBERT batches: utterances (waveform or features, plus cluster labels) -> the padded
 * tensors Hubert.loss / evaluate / hiddenStates take, and a BatchSource over a corpus.
 *
 * Glossary:
 *   item      { id?, input: Float32Array waveform | FeatureItem | (numFrames, F) Tensor, labels? }
 *   batch     features (B, T, F) on the device (waveforms as (B, S, 1)), lengths (B) on the
 *             host, labels per item (host Int32Arrays, at the targets' label rate)
 *   source    models.makeBatchSource over input lengths (data.planBatches: B × T <= maxFrames,
 *             seeded shuffle per epoch): epoch(e) yields the same batches in the same order every
 *             time, and disposes each batch when the next one is asked for
 * For HubertCtc, models.collateAsr / asrBatchSource make the batches (waveforms as FeatureItems
 * of dim 1).
 */
import { FeatureItem } from '../../audio/mel';
import { Batch, collate } from '../../data/batching';
import { fromTypedArray } from '../../tensor/creation';
import { Tensor } from '../../tensor/tensor';
import { Device } from '../../tensor/types';
import { BatchSourceOptions, makeBatchSource } from '../collate';
import type { BatchSource } from '../task';
import type { HubertBatch } from './hubert';

/** One utterance for Hubert. */
export interface HubertItem {
  id?: string;
  /** a waveform (one value per sample) or features (numFrames, F) */
  input: Float32Array | FeatureItem | Tensor;
  /** cluster ids at the label rate (needed by loss / evaluate) */
  labels?: ArrayLike<number>;
}

/** A HubertBatch that owns its tensors. */
export type OwnedHubertBatch = HubertBatch & { ids: string[]; lengths: Int32Array; dispose(): void };

function asFeatureItem(x: HubertItem['input'], where: string): FeatureItem {
  if (x instanceof Float32Array || Object.prototype.toString.call(x) === '[object Float32Array]') {
    const a = x as Float32Array;
    return { data: a, numFrames: a.length, dim: 1 };
  }
  if (x instanceof Tensor) {
    if (x.ndim !== 2 || x.dtype === 'int32') throw new Error(`[${where}] a Tensor input must be float (numFrames, F), got ${x.dtype} (${x.shape.join(', ')})`);
    return { data: x.dataSync() as Float32Array, numFrames: x.shape[0], dim: x.shape[1] };
  }
  const f = x as FeatureItem;
  if (!f || typeof f !== 'object' || !ArrayBuffer.isView(f.data) || !Number.isInteger(f.numFrames) || !Number.isInteger(f.dim) || f.data.length !== f.numFrames * f.dim) {
    throw new Error(`[${where}] input must be a Float32Array waveform, a FeatureItem { data, numFrames, dim } or a (numFrames, F) Tensor`);
  }
  return f;
}

function fromData(batch: Batch, labels: Int32Array[] | undefined, device: Device | undefined): OwnedHubertBatch {
  const features = fromTypedArray(batch.features, batch.shape, { device, copy: true });
  return { ids: batch.ids, features, lengths: Int32Array.from(batch.lengths), ...(labels ? { labels } : {}), dispose: () => features.dispose() };
}

/** Collates items into a HubertBatch on `device` (labels kept per item on the host). */
export function collateHubert(items: readonly HubertItem[], opts: { device?: Device } = {}): OwnedHubertBatch {
  if (!Array.isArray(items) || items.length === 0) throw new Error('[collateHubert] expected a non-empty array of items');
  const rows = items.map((it, i) => ({ id: it.id ?? String(i), features: asFeatureItem(it.input, 'collateHubert') }));
  const withLabels = items.filter((it) => it.labels !== undefined).length;
  if (withLabels !== 0 && withLabels !== items.length) throw new Error('[collateHubert] some items have labels and some do not');
  const labels = withLabels ? items.map((it) => Int32Array.from(it.labels!)) : undefined;
  return fromData(collate(rows), labels, opts.device);
}

/** A BatchSource of HubertBatches over `items` (see the glossary; models.makeBatchSource). */
export function hubertBatchSource(items: readonly HubertItem[], opts: BatchSourceOptions): BatchSource<OwnedHubertBatch> {
  if (!Array.isArray(items) || items.length === 0) throw new Error('[hubertBatchSource] no items');
  const rows = items.map((it, i) => ({ id: it.id ?? String(i), features: asFeatureItem(it.input, 'hubertBatchSource'), labels: it.labels === undefined ? undefined : Int32Array.from(it.labels) }));
  const make = (rs: typeof rows): OwnedHubertBatch => fromData(collate(rs), rs.every((r) => r.labels) ? rs.map((r) => r.labels!) : undefined, opts.device);
  return makeBatchSource(rows, rows.map((r) => r.features.numFrames), make, opts);
}
