/**
 * frames.ts — runs a task model over batches and keeps a bounded random sample of frame
 * positions: the same positions in every layer, in X and in Y.
 *
 * Glossary:
 *   hs           hidden states hs[0] (encoder input) .. hs[L] (B, T', C) from model.hiddenStates
 *   valid frame  t < lengths[b] at the layer frame rate; padding frames are never sampled
 *   perUtterance at most this many frames per utterance (a uniform subset of its valid frames),
 *                so long utterances do not dominate the sample
 *   reservoir    Algorithm R over the stream of candidate frames: after n candidates each one
 *                is kept with probability maxFrames / n, whatever the order of the batches, in
 *                O(maxFrames · Σ C) host memory (20k frames x 13 layers x 768 = 0.8 GB float32);
 *                hidden states of a batch are freed before the next batch runs
 *   X 'features' the model's input features brought to the layer frame rate: layer frame j gets
 *                input frames [j·s, (j+1)·s) stacked (F·s dims) or averaged (F dims); frames past
 *                the utterance's input length repeat its last valid frame
 */
import { deriveSeed, Rng } from '../data/rng';
import type { HiddenStates, TaskModel } from '../models/task';
import { indexSelect } from '../ops/indexing';
import { reshape } from '../ops/shape';
import { tensor } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { BatchLabels } from './labels';
import { Frames } from './reduce';

/** X of a batch from the user: (B, T', dx) aligned with the layer frames. */
export type XFn<B = unknown> = (batch: B, hs: HiddenStates) => Tensor;

export interface CollectSpec<B> {
  model: TaskModel<B>;
  batches: Iterable<B> | AsyncIterable<B>;
  maxFrames: number;
  perUtterance: number;
  seed: number;
  /** Which hidden states to keep (indices into hs). */
  layers: number[] | null;
  x: 'hs0' | 'features' | XFn<B>;
  featureStack: 'stack' | 'mean';
  /** Labels of a batch (null: no Y). */
  labels: ((batch: B, hs: HiddenStates) => BatchLabels) | null;
  onBatch?: (info: { batches: number; utterances: number; candidates: number }) => void;
}

export interface Collected {
  /** One entry per kept layer, in `layerIndex` order. */
  layers: Frames[];
  layerIndex: number[];
  /** Total hidden states per batch (L + 1). */
  numStates: number;
  x: Frames;
  /** One label per row (-1: none), or null without Y. */
  y: Int32Array | null;
  /** Utterance (running index) and layer frame of each row. */
  rowUtterance: Int32Array;
  rowFrame: Int32Array;
  utterances: number;
  batches: number;
  /** Valid frames offered to the reservoir (after the per-utterance cap) and valid frames seen. */
  candidates: number;
  validFrames: number;
  subsampling: number;
}

const OP = 'analysis.layerwiseMi';

/** The batch's own tensors (not to be freed by us). */
function ownTensors(batch: unknown): Set<Tensor> {
  const s = new Set<Tensor>();
  if (batch && typeof batch === 'object') for (const v of Object.values(batch)) if (v instanceof Tensor) s.add(v);
  return s;
}

/** X rows of a batch for `picks` ((b, t) pairs): host (n, dx). */
function featureRows(hs: HiddenStates, picks: Array<[number, number]>, mode: 'stack' | 'mean'): { data: Float32Array; d: number } {
  if (!hs.inputs) throw new Error(`[${OP}] x = 'features' needs the model's input features (hiddenStates gave inputs = null: a waveform model?)`);
  const [B, T, F] = hs.inputs.shape;
  const s = hs.subsampling;
  const inLen = hs.inputLengths ?? new Int32Array(B).fill(T);
  const all = hs.inputs.to('float32').dataSync() as Float32Array;
  const d = mode === 'stack' ? F * s : F;
  const out = new Float32Array(picks.length * d);
  picks.forEach(([b, t], r) => {
    const last = Math.max(0, Math.min(inLen[b], T) - 1);
    for (let k = 0; k < s; ++k) {
      const src = Math.min(t * s + k, last);
      const row = all.subarray((b * T + src) * F, (b * T + src + 1) * F);
      if (mode === 'stack') out.set(row, r * d + k * F);
      else for (let f = 0; f < F; ++f) out[r * d + f] += row[f] / s;
    }
  });
  return { data: out, d };
}

/** Rows (b, t) of a (B, T', C) tensor: host (n, C). */
function gatherRows(t: Tensor, picks: Array<[number, number]>): Float32Array {
  const [B, T, C] = t.shape;
  return tidy(() => {
    const idx = tensor(Int32Array.from(picks, ([b, s]) => b * T + s), [picks.length], { device: t.device });
    return indexSelect(reshape(t.to('float32'), [B * T, C]), 0, idx).dataSync() as Float32Array;
  });
}

/** Runs the model over `batches` and samples frames (see the module comment). */
export async function collectFrames<B>(spec: CollectSpec<B>): Promise<Collected> {
  const { model, maxFrames, perUtterance } = spec;
  const reservoir = new Rng(deriveSeed(spec.seed, 'reservoir'));
  let layerBufs: Float32Array[] = [];
  let dims: number[] = [];
  let layerIndex: number[] = [];
  let xBuf: Float32Array | null = null;
  let dx = 0;
  let yBuf: Int32Array | null = null;
  const rowUtt = new Int32Array(maxFrames);
  const rowFrame = new Int32Array(maxFrames);
  let filled = 0;
  let candidates = 0;
  let validFrames = 0;
  let utterances = 0;
  let batches = 0;
  let numStates = -1;
  let subsampling = 1;
  for await (const batch of spec.batches as AsyncIterable<B>) {
    const hs = model.hiddenStates(batch);
    const own = ownTensors(batch);
    try {
      const { states, lengths } = hs;
      if (!Array.isArray(states) || states.length < 2) throw new Error(`[${OP}] hiddenStates must give hs[0] .. hs[L] (L >= 1), got ${Array.isArray(states) ? states.length : typeof states} states`);
      const [B, T] = states[0].shape;
      if (lengths.length !== B) throw new Error(`[${OP}] hiddenStates lengths has ${lengths.length} entries for B = ${B}`);
      if (numStates < 0) {
        numStates = states.length;
        subsampling = hs.subsampling;
        layerIndex = spec.layers ?? states.map((_, i) => i);
        for (const l of layerIndex) if (!(Number.isInteger(l) && l >= 0 && l < numStates)) throw new Error(`[${OP}] layers must be indices in [0, ${numStates - 1}], got ${l}`);
        dims = layerIndex.map((l) => states[l].shape[2]);
        layerBufs = dims.map((d) => new Float32Array(maxFrames * d));
      } else if (states.length !== numStates) {
        throw new Error(`[${OP}] batch ${batches} has ${states.length} hidden states, the first had ${numStates}`);
      }
      const labels = spec.labels ? spec.labels(batch, hs) : null;
      // Candidates of this batch, and the reservoir slot each one takes (-1: not kept).
      const picks: Array<[number, number]> = [];
      const slots: number[] = [];
      for (let b = 0; b < B; ++b, ++utterances) {
        const len = Math.min(lengths[b], T);
        validFrames += len;
        const take = Math.min(len, perUtterance);
        const rng = new Rng(deriveSeed(spec.seed, 'utterance', utterances));
        const pos = Int32Array.from({ length: len }, (_, i) => i);
        for (let i = 0; i < take; ++i) {
          const j = rng.int(i, len - 1);
          const tmp = pos[i];
          pos[i] = pos[j];
          pos[j] = tmp;
        }
        const chosen = Array.from(pos.subarray(0, take)).sort((a, c) => a - c);
        for (const t of chosen) {
          let slot = -1;
          if (candidates < maxFrames) slot = candidates;
          else {
            const j = reservoir.int(0, candidates);
            if (j < maxFrames) slot = j;
          }
          candidates += 1;
          if (slot < 0) continue;
          picks.push([b, t]);
          slots.push(slot);
          rowUtt[slot] = utterances;
          rowFrame[slot] = t;
          if (labels) {
            if (!yBuf) yBuf = new Int32Array(maxFrames).fill(-1);
            const lab = labels[b];
            const v = lab ? Number(lab[t]) : -1;
            yBuf[slot] = Number.isInteger(v) && v >= 0 ? v : -1;
          }
        }
      }
      filled = Math.min(maxFrames, candidates);
      if (picks.length) {
        layerIndex.forEach((l, i) => {
          const rows = gatherRows(states[l], picks);
          const d = dims[i];
          slots.forEach((s, r) => layerBufs[i].set(rows.subarray(r * d, (r + 1) * d), s * d));
        });
        let xr: { data: Float32Array; d: number };
        if (spec.x === 'hs0') xr = { data: gatherRows(states[0], picks), d: states[0].shape[2] };
        else if (spec.x === 'features') xr = featureRows(hs, picks, spec.featureStack);
        else {
          const xt = spec.x(batch, hs);
          if (!(xt instanceof Tensor) || xt.ndim !== 3 || xt.shape[0] !== B || xt.shape[1] < T) {
            throw new Error(`[${OP}] x function must return (B, T', dx) = (${B}, >= ${T}, dx), got ${xt instanceof Tensor ? `(${xt.shape.join(', ')})` : typeof xt}`);
          }
          try {
            xr = { data: gatherRows(xt.shape[1] === T ? xt : xt.slice(1, 0, T), picks), d: xt.shape[2] };
          } finally {
            if (!own.has(xt)) xt.dispose();
          }
        }
        if (!xBuf) {
          dx = xr.d;
          xBuf = new Float32Array(maxFrames * dx);
        } else if (xr.d !== dx) {
          throw new Error(`[${OP}] X has ${xr.d} dims in batch ${batches}, ${dx} before`);
        }
        slots.forEach((s, r) => xBuf!.set(xr.data.subarray(r * dx, (r + 1) * dx), s * dx));
      }
    } finally {
      const seen = new Set<Tensor>();
      for (const t of [...hs.states, hs.inputs]) {
        if (t instanceof Tensor && !own.has(t) && !seen.has(t)) {
          seen.add(t);
          if (!t.isDisposed) t.dispose();
        }
      }
    }
    batches += 1;
    spec.onBatch?.({ batches, utterances, candidates });
  }
  if (batches === 0 || filled === 0 || !xBuf) throw new Error(`[${OP}] the batches gave no valid frame (${batches} batches, ${utterances} utterances)`);
  const n = filled;
  return {
    layers: layerBufs.map((buf, i) => ({ data: buf.subarray(0, n * dims[i]), n, d: dims[i] })),
    layerIndex,
    numStates,
    x: { data: xBuf.subarray(0, n * dx), n, d: dx },
    y: yBuf ? yBuf.subarray(0, n) : null,
    rowUtterance: rowUtt.subarray(0, n),
    rowFrame: rowFrame.subarray(0, n),
    utterances,
    batches,
    candidates,
    validFrames,
    subsampling,
  };
}
