/**
 * labels.ts — frame labels Y at a layer's frame rate: phones from alignments, CTC forced
 * alignments, or the user's own; and the phone inventory that turns names into class ids.
 *
 * Glossary:
 *   frameShift   seconds between the model's input frames (0.01 for 10 ms features)
 *   s            the model's time subsampling: layer frame j covers input frames [j·s, (j+1)·s)
 *   layer shift  frameShift · s seconds; layer frame j is labelled with the phone at its centre,
 *                t = (j + ½) · frameShift · s, i.e. alignment frame floor(t / alignment.frameShift)
 *                (clipped to the last one: a conv front end may emit a frame past the audio)
 *   -1           no label (utterance without an alignment entry is an error; a frame the CTC
 *                aligner could not label, or a user label < 0, is excluded from I(T; Y))
 *   fill         CTC labels: the Viterbi path's blank frames take the token of the span before
 *                them (the first span's token before it), so frames carry token segments as a
 *                phone alignment does; 'path' keeps blank (class `blank`) as its own class
 */
import { ctcForcedAlignBatch } from '../models/decode/forced_align';
import type { HiddenStates } from '../models/task';
import { Alignment, ManifestEntry } from '../data/manifest';
import { noGrad } from '../autograd/tape';
import { logSoftmax } from '../ops/reduce';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';

/** Per utterance of a batch: one label per layer frame (at least `lengths[b]` of them), or null when unlabelled. */
export type BatchLabels = Array<ArrayLike<number> | null>;

/** The user's labels: called per batch with the model's hidden states; returns labels per utterance (or a (B, T') int32 tensor). */
export type LabelFn<B = unknown> = (batch: B, hs: HiddenStates) => BatchLabels | Tensor;

/** Where phone alignments come from: manifest entries, a map id -> alignment, or a function. */
export type AlignmentSource = readonly ManifestEntry[] | ReadonlyMap<string, Alignment> | ((id: string) => Alignment | undefined);

/** Class ids for label names: a fixed list, or grown in order of first appearance and sorted at the end. */
export class Inventory {
  private readonly ids = new Map<string, number>();
  private readonly fixed: boolean;
  constructor(names?: readonly string[]) {
    this.fixed = !!names;
    names?.forEach((n, i) => this.ids.set(n, i));
  }
  id(name: string, op: string): number {
    let i = this.ids.get(name);
    if (i === undefined) {
      if (this.fixed) throw new Error(`[${op}] label '${name}' is not in the given phoneSet (${this.ids.size} names)`);
      this.ids.set(name, (i = this.ids.size));
    }
    return i;
  }
  /** Names sorted, and the map from provisional ids to sorted ids (identity for a fixed list). */
  finish(): { names: string[]; remap: Int32Array } {
    const names = [...this.ids.keys()];
    if (this.fixed) return { names, remap: Int32Array.from(names, (_, i) => i) };
    const sorted = [...names].sort();
    const pos = new Map(sorted.map((n, i) => [n, i]));
    return { names: sorted, remap: Int32Array.from(names, (n) => pos.get(n) as number) };
  }
}

function lookup(src: AlignmentSource): (id: string) => Alignment | undefined {
  if (typeof src === 'function') return src;
  if (src instanceof Map) return (id) => src.get(id);
  const m = new Map<string, Alignment>();
  for (const e of src as readonly ManifestEntry[]) if (e.alignment) m.set(e.id, e.alignment);
  return (id) => m.get(id);
}

/** Batch ids (data.Batch, models' AsrBatch, ... all carry `ids`). */
export function batchIds(op: string, batch: unknown, B: number): string[] {
  const ids = (batch as { ids?: unknown })?.ids;
  if (!Array.isArray(ids) || ids.length !== B || !ids.every((s) => typeof s === 'string')) {
    throw new Error(`[${op}] y = 'phones' needs batch.ids (one string per utterance, B = ${B}) to find each alignment; got ${Array.isArray(ids) ? `${ids.length} ids` : typeof ids}`);
  }
  return ids as string[];
}

/** Phone label of each layer frame of one utterance (see the glossary). */
export function phoneLabels(a: Alignment, frames: number, frameShift: number, subsampling: number, inv: Inventory, op: string): Int32Array {
  const perFrame: number[] = [];
  for (const [p, s, e] of a.segments) {
    const id = inv.id(p, op);
    for (let i = s; i < e; ++i) perFrame.push(id);
  }
  if (perFrame.length === 0) throw new Error(`[${op}] an alignment has no segments`);
  const out = new Int32Array(frames);
  const shift = frameShift * subsampling;
  for (let j = 0; j < frames; ++j) {
    const t = (j + 0.5) * shift;
    out[j] = perFrame[Math.min(perFrame.length - 1, Math.floor(t / a.frameShift + 1e-9))];
  }
  return out;
}

/** Labels of a batch from alignments. */
export function phoneBatchLabels(op: string, batch: unknown, hs: HiddenStates, src: AlignmentSource, frameShift: number, inv: Inventory): BatchLabels {
  const B = hs.lengths.length;
  const ids = batchIds(op, batch, B);
  const get = lookup(src);
  return ids.map((id, b) => {
    const a = get(id);
    if (!a) throw new Error(`[${op}] no alignment for utterance '${id}' (y = 'phones' needs one per utterance)`);
    return phoneLabels(a, hs.lengths[b], frameShift, hs.subsampling, inv, op);
  });
}

/** What a CTC model offers for forced alignment: forward(features, lengths) -> { logits (B, T', V), lengths }. */
interface CtcLike {
  forward(features: Tensor, lengths?: Int32Array | null): { logits: Tensor; lengths?: Int32Array };
}
interface CtcBatchLike {
  features: Tensor;
  lengths: Int32Array;
  targets: Tensor;
  targetLengths: Int32Array;
}

/**
 * CTC frame labels of a batch: the model's log-probabilities force-aligned to the batch's
 * targets (Viterbi over the CTC lattice, models.ctcForcedAlignBatch), 'fill' or 'path' (see the
 * glossary). An utterance with no feasible path gets null (its frames are left unlabelled).
 */
export function ctcBatchLabels(op: string, model: unknown, batch: unknown, hs: HiddenStates, mode: 'fill' | 'path', blank: number): { labels: BatchLabels; infeasible: number } {
  const m = model as CtcLike;
  const b = batch as CtcBatchLike;
  if (typeof m?.forward !== 'function') throw new Error(`[${op}] y = 'ctc' needs a CTC model with forward(features, lengths) -> { logits }`);
  if (!(b?.features instanceof Tensor) || !(b.targets instanceof Tensor) || !b.targetLengths) {
    throw new Error(`[${op}] y = 'ctc' needs batches with features, lengths, targets and targetLengths (models' AsrBatch)`);
  }
  const wasTraining = (m as unknown as { training?: boolean }).training;
  const setMode = (t: boolean): void => { (m as unknown as { train?: (on: boolean) => void }).train?.(t); };
  if (wasTraining) setMode(false);
  try {
    const al = noGrad(() => tidy(() => {
      const out = m.forward(b.features, b.lengths);
      const lp = logSoftmax(out.logits, -1);                            // (B, T', V)
      return ctcForcedAlignBatch(lp, b.targets, { inputLengths: hs.lengths, targetLengths: b.targetLengths, blank, infeasible: 'null' });
    }));
    let infeasible = 0;
    const labels = al.map((a) => {
      if (!a) return (infeasible++, null);
      if (mode === 'path') return a.frames;
      const f = Int32Array.from(a.frames);
      let cur = a.tokenSpans.length ? a.tokenSpans[0].token : blank;
      for (let t = 0; t < f.length; ++t) (f[t] === blank ? (f[t] = cur) : (cur = f[t]));
      return f;
    });
    return { labels, infeasible };
  } finally {
    if (wasTraining) setMode(true);
  }
}

/** Normalises what a LabelFn returned into labels per utterance. */
export function userBatchLabels(op: string, got: BatchLabels | Tensor, hs: HiddenStates): BatchLabels {
  const B = hs.lengths.length;
  if (got instanceof Tensor) {
    if (got.dtype !== 'int32' || got.ndim !== 2 || got.shape[0] !== B) throw new Error(`[${op}] y function must return (B, T') int32 labels for B = ${B}, got ${got.dtype} (${got.shape.join(', ')})`);
    const T = got.shape[1];
    const all = got.dataSync() as Int32Array;
    return Array.from({ length: B }, (_, b) => all.subarray(b * T, (b + 1) * T));
  }
  if (!Array.isArray(got) || got.length !== B) throw new Error(`[${op}] y function must return one label array per utterance (B = ${B}), got ${Array.isArray(got) ? got.length : typeof got}`);
  got.forEach((l, b) => {
    if (l !== null && !(l && typeof l.length === 'number' && l.length >= hs.lengths[b])) {
      throw new Error(`[${op}] y function: utterance ${b} needs at least ${hs.lengths[b]} labels (its valid layer frames), got ${l ? l.length : typeof l}`);
    }
  });
  return got;
}
