/**
 * collate.ts — batching glue between `data` and the feature models: items (or an already collated
 * data.Batch) -> the padded tensors a model's loss / evaluate / hiddenStates take, and a
 * `BatchSource` (task.ts) over a list of items with data.planBatches, seeded per epoch. A user
 * writes no padding code.
 *
 * Glossary:
 *   item         { id?, features: FeatureItem | (numFrames, F) Tensor, targets? | text? | phones? }
 *   AsrBatch     features (B, T, F) float32, lengths (B), targets (B, S) int32 right-padded with 0,
 *                targetLengths (B), refs (the targets per item, host copies for error rates)
 *   ReconstructionBatch  features (B, T, F), lengths (B)
 *   dispose()    a batch owns its tensors; a BatchSource made here disposes each batch when the
 *                consumer asks for the next one (or stops), so an epoch holds one batch at a time
 */
import { FeatureItem } from '../audio/mel';
import { Batch, collate, planBatches } from '../data/batching';
import { Tokenizer } from '../data/tokenizer';
import { fromTypedArray } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import { toFeatureItem } from './features';
import type { BatchSource } from './task';

/** One utterance for CTC: features and its targets (ids), or text/phones for a tokenizer. */
export interface AsrItem {
  id?: string;
  features: FeatureItem | Tensor;
  /** token ids (no blank): used as given */
  targets?: ArrayLike<number>;
  /** transcript for a 'char' tokenizer */
  text?: string;
  /** phone sequence for a 'phone' tokenizer */
  phones?: readonly string[];
}

/** One utterance for masked reconstruction. */
export interface FeatureOnlyItem {
  id?: string;
  features: FeatureItem | Tensor;
}

/** What CtcAsr takes: tensors on one device, host lengths and reference ids. */
export interface AsrBatch {
  ids: string[];
  /** (B, T, F) float32, zero right padding */
  features: Tensor;
  /** (B) valid frames */
  lengths: Int32Array;
  /** (B, S) int32, right-padded with 0 */
  targets: Tensor;
  /** (B) valid target tokens */
  targetLengths: Int32Array;
  /** targets per item (host copies) */
  refs: Int32Array[];
  dispose(): void;
}

/** What MaskedReconstruction takes. */
export interface ReconstructionBatch {
  ids: string[];
  /** (B, T, F) float32, zero right padding */
  features: Tensor;
  /** (B) valid frames */
  lengths: Int32Array;
  dispose(): void;
}

export interface CollateOptions {
  device?: Device;
}

function isDataBatch(x: unknown): x is Batch {
  const b = x as Batch;
  return !!b && typeof b === 'object' && !Array.isArray(b) && Array.isArray(b.shape) && ArrayBuffer.isView(b.features);
}

/** Targets of one item: given ids, else the tokenizer's encoding of its text/phones. */
function itemTargets(it: AsrItem, i: number, tokenizer: Tokenizer | null | undefined): Int32Array {
  const name = `item ${i}${it.id !== undefined ? ` (${it.id})` : ''}`;
  if (it.targets !== undefined) {
    const t = Int32Array.from(it.targets as ArrayLike<number>);
    t.forEach((v, k) => {
      if (!Number.isInteger((it.targets as ArrayLike<number>)[k]) || v < 0) throw new Error(`[collateAsr] ${name} targets[${k}] = ${(it.targets as ArrayLike<number>)[k]} is not a token id ≥ 0`);
    });
    return t;
  }
  if (!tokenizer) throw new Error(`[collateAsr] ${name} has no targets and no tokenizer was given to encode its text/phones`);
  const src = tokenizer.kind === 'char' ? it.text : it.phones;
  if (src === undefined) throw new Error(`[collateAsr] ${name} has no ${tokenizer.kind === 'char' ? 'text' : 'phones'} for the ${tokenizer.kind} tokenizer (and no targets)`);
  return tokenizer.encode(src);
}

function upload(batch: Batch, device: Device | undefined): { features: Tensor; lengths: Int32Array } {
  return { features: fromTypedArray(batch.features, batch.shape, { device, copy: true }), lengths: Int32Array.from(batch.lengths) };
}

function asrFromData(batch: Batch, device: Device | undefined): AsrBatch {
  if (!batch.targets || !batch.targetShape || !batch.targetLengths) throw new Error('[collateAsr] the data.Batch has no targets (give batchIterator a tokenizer)');
  const [B, S] = batch.targetShape;
  const refs = Array.from({ length: B }, (_, b) => batch.targets!.slice(b * S, b * S + batch.targetLengths![b]));
  const { features, lengths } = upload(batch, device);
  const targets = fromTypedArray(batch.targets, batch.targetShape, { device, copy: true });
  return {
    ids: batch.ids, features, lengths, targets, targetLengths: Int32Array.from(batch.targetLengths), refs,
    dispose() {
      features.dispose();
      targets.dispose();
    },
  };
}

/**
 * A CtcAsr batch from items (features as FeatureItem or (numFrames, F) Tensor; targets as ids, or
 * text/phones encoded by `tokenizer`) or from a data.Batch with targets (batchIterator's output).
 * Features (B, T, F) and targets (B, S) go to `device`; lengths stay on the host.
 */
export function collateAsr(input: readonly AsrItem[] | Batch, tokenizer?: Tokenizer | null, opts: CollateOptions = {}): AsrBatch {
  if (isDataBatch(input)) return asrFromData(input, opts.device);
  if (!Array.isArray(input)) throw new Error('[collateAsr] expected an array of items or a data.Batch');
  if (input.length === 0) throw new Error('[collateAsr] empty batch: no items');
  const rows = input.map((it, i) => ({
    id: it.id ?? String(i),
    features: toFeatureItem(it.features, 'collateAsr'),
    targets: itemTargets(it, i, tokenizer),
  }));
  return asrFromData(collate(rows), opts.device);
}

/** A MaskedReconstruction batch from items (FeatureItem or (numFrames, F) Tensor features) or a
 *  data.Batch: features (B, T, F) on `device`, lengths (B) on the host. */
export function collateReconstruction(input: readonly FeatureOnlyItem[] | Batch, opts: CollateOptions = {}): ReconstructionBatch {
  let batch: Batch;
  if (isDataBatch(input)) batch = input;
  else {
    if (!Array.isArray(input)) throw new Error('[collateReconstruction] expected an array of items or a data.Batch');
    if (input.length === 0) throw new Error('[collateReconstruction] empty batch: no items');
    batch = collate(input.map((it, i) => ({ id: it.id ?? String(i), features: toFeatureItem(it.features, 'collateReconstruction') })));
  }
  const { features, lengths } = upload(batch, opts.device);
  return { ids: batch.ids, features, lengths, dispose: () => features.dispose() };
}

/** Options of the BatchSource helpers: data.planBatches' (maxFrames budget B × T, seed; the
 *  epoch picks the shuffle) plus the device. */
export interface BatchSourceOptions {
  maxFrames: number;
  seed: number;
  /** false: sorted by length, the same every epoch (evaluation). Default true. */
  shuffle?: boolean;
  maxBatchSize?: number;
  device?: Device;
}

/**
 * A BatchSource over prepared rows: epoch(e) plans batches with data.planBatches(lengths, { seed,
 * epoch: e, ... }) — the same batches in the same order for the same e — and yields make(rows of
 * a batch), disposing each yielded batch when the next is requested or the loop ends.
 */
export function makeBatchSource<R, B extends { dispose(): void }>(rows: readonly R[], lengths: readonly number[], make: (rows: R[]) => B, opts: BatchSourceOptions): BatchSource<B> {
  if (rows.length === 0) throw new Error('[makeBatchSource] no items');
  const plan = (e: number) => planBatches(lengths, { maxFrames: opts.maxFrames, seed: opts.seed, epoch: e, shuffle: opts.shuffle ?? true, maxBatchSize: opts.maxBatchSize });
  plan(0); // checks maxFrames / maxBatchSize now, not at the first epoch
  return {
    *epoch(e: number): Generator<B> {
      let prev: B | null = null;
      try {
        for (const idx of plan(e)) {
          prev?.dispose();
          prev = null;
          prev = make(idx.map((i) => rows[i]));
          yield prev;
        }
      } finally {
        prev?.dispose();
      }
    },
    size: (e: number) => plan(e).length,
  };
}

/** A BatchSource of AsrBatches over `items` (features and targets checked and encoded once, here). */
export function asrBatchSource(items: readonly AsrItem[], tokenizer: Tokenizer | null, opts: BatchSourceOptions): BatchSource<AsrBatch> {
  const rows = items.map((it, i) => ({ id: it.id ?? String(i), features: toFeatureItem(it.features, 'asrBatchSource'), targets: itemTargets(it, i, tokenizer) }));
  return makeBatchSource(rows, rows.map((r) => r.features.numFrames), (rs) => asrFromData(collate(rs), opts.device), opts);
}

/** A BatchSource of ReconstructionBatches over `items`. */
export function reconstructionBatchSource(items: readonly FeatureOnlyItem[], opts: BatchSourceOptions): BatchSource<ReconstructionBatch> {
  const rows = items.map((it, i) => ({ id: it.id ?? String(i), features: toFeatureItem(it.features, 'reconstructionBatchSource') }));
  return makeBatchSource(rows, rows.map((r) => r.features.numFrames), (rs) => collateReconstruction(collate(rs), opts), opts);
}
