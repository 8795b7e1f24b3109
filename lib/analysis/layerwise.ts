/**
 * layerwise.ts — the public entry points of the analysis:
 *   layerwiseMi(model, batches, options)        run a task model, sample frames, estimate
 *   layerwiseMiFromFrames({ x, layers, y }, o)  the same estimation on frames the caller has
 *
 * Glossary: hs (hidden states hs[0] .. hs[L]); X, Y (see options.ts); the corrected protocol
 * (estimate.ts) unless `paper` (paper.ts).
 */
import type { TaskModel, HiddenStates } from '../models/task';
import { KMeans } from '../models/hubert/kmeans';
import { noGrad } from '../autograd/tape';
import { tensor } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { analyzeFrames, FramesInput } from './estimate';
import { collectFrames } from './frames';
import { BatchLabels, ctcBatchLabels, Inventory, phoneBatchLabels, userBatchLabels } from './labels';
import { LayerwiseMiOptions, resolveOptions } from './options';
import { paperMi } from './paper';
import { Frames } from './reduce';
import { LayerwiseMiResult } from './types';

const OP = 'analysis.layerwiseMi';

function defaultNames(index: number[], given: string[] | null, op: string): string[] {
  if (given) {
    if (given.length !== index.length) throw new Error(`[${op}] names has ${given.length} entries for ${index.length} analysed layers`);
    return given;
  }
  return index.map((l) => (l === 0 ? 'hs0 (input)' : `layer ${l}`));
}

/**
 * Layer-wise I(X; T_l) and I(T_l; Y) of a trained task model over `batches` (anything its
 * hiddenStates takes: AsrBatch, ReconstructionBatch, ...). The model runs in eval mode under
 * noGrad (hiddenStates does that); frames are sampled from valid lengths only. Returns per layer
 * { index, name, ixt: { nats, ci, perSeed, ceiling, calibration }, ity: { probe, critic } } plus
 * the frames used, the calibration, the protocol in words and wall times. See LayerwiseMiOptions.
 * Errors start with `[analysis.layerwiseMi]`.
 */
export async function layerwiseMi<B>(model: TaskModel<B>, batches: Iterable<B> | AsyncIterable<B>, options: LayerwiseMiOptions<B> = {}): Promise<LayerwiseMiResult> {
  const r = resolveOptions(OP, options);
  if (!model || typeof (model as { hiddenStates?: unknown }).hiddenStates !== 'function') {
    throw new Error(`[${OP}] model must implement hiddenStates(batch) (the TaskModel contract), got ${model === null ? 'null' : typeof model}`);
  }
  if (!batches || (typeof (batches as Iterable<B>)[Symbol.iterator] !== 'function' && typeof (batches as AsyncIterable<B>)[Symbol.asyncIterator] !== 'function')) {
    throw new Error(`[${OP}] batches must be an iterable (or async iterable) of the model's batches`);
  }
  if (r.paper) return paperMi(model, batches, r);
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const inv = new Inventory(r.phoneSet ?? undefined);
  let infeasible = 0;
  let labels: ((batch: B, hs: HiddenStates) => BatchLabels) | null = null;
  if (r.y === 'phones') labels = (batch, hs) => phoneBatchLabels(OP, batch, hs, r.alignments!, r.frameShift, inv);
  else if (r.y === 'ctc') {
    labels = (batch, hs) => {
      const c = ctcBatchLabels(OP, model, batch, hs, r.ctc.mode, r.ctc.blank);
      infeasible += c.infeasible;
      return c.labels;
    };
  } else if (typeof r.y === 'function') {
    const fn = r.y;
    labels = (batch, hs) => userBatchLabels(OP, fn(batch, hs), hs);
  }
  r.onProgress('collect', `up to ${r.maxFrames} frames, ${r.perUtterance} per utterance`);
  const col = await collectFrames({
    model, batches, labels, maxFrames: r.maxFrames, perUtterance: r.perUtterance, seed: r.seed, layers: r.layers,
    x: r.x, featureStack: r.featureStack,
    onBatch: (i) => r.onProgress('collect', `${i.batches} batches, ${i.utterances} utterances, ${i.candidates} candidate frames`),
  });
  timings.collect = (Date.now() - t0) / 1000;
  let y: FramesInput['y'] = null;
  if (col.y && (r.y === 'phones' || r.y === 'ctc' || typeof r.y === 'function')) {
    let names: string[] | null = null;
    const lab = Int32Array.from(col.y);
    if (r.y === 'phones') {
      const fin = inv.finish();
      names = fin.names;
      for (let i = 0; i < lab.length; ++i) if (lab[i] >= 0) lab[i] = fin.remap[lab[i]];
    }
    let top = -1;
    for (const v of lab) if (v > top) top = v;
    const classes = names ? names.length : top + 1;
    y = { labels: lab, classes, names, kind: typeof r.y === 'function' ? 'user labels' : r.y === 'ctc' ? `CTC forced alignment (${r.ctc.mode}${infeasible ? `, ${infeasible} utterances without a path` : ''})` : 'phones (alignments)' };
  } else if (r.y === 'kmeans') {
    y = kmeansLabels(col.x, r.kmeans.k, r.kmeans.seed, r.device);
  }
  const names = defaultNames(col.layerIndex, r.names, OP);
  return analyzeFrames({
    x: col.x, layers: col.layers, layerIndex: col.layerIndex, y,
    xKind: typeof r.x === 'function' ? 'user function' : r.x === 'features' ? `input features (${r.featureStack}ed to the layer rate)` : 'hs0 (encoder input)',
    frames: { n: col.x.n, utterances: col.utterances, batches: col.batches, validFrames: col.validFrames, candidates: col.candidates, subsampling: col.subsampling },
    groups: col.rowUtterance,
  }, r, names, t0, timings);
}

/** k-means ids of X's sampled frames (z-scored first so no feature dominates the distance). */
function kmeansLabels(x: Frames, k: number, seed: number, device: LayerwiseMiOptions['device']): NonNullable<FramesInput['y']> {
  const { n, d } = x;
  if (n < k) throw new Error(`[${OP}] y = 'kmeans' with k = ${k} needs at least ${k} frames, got ${n}`);
  const z = Float32Array.from(x.data);
  for (let j = 0; j < d; ++j) {
    let m = 0;
    for (let i = 0; i < n; ++i) m += z[i * d + j];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; ++i) v += (z[i * d + j] - m) ** 2;
    const s = Math.sqrt(v / n) || 1;
    for (let i = 0; i < n; ++i) z[i * d + j] = (z[i * d + j] - m) / s;
  }
  const t = tensor(z, [n, d], { device });
  const km = new KMeans({ k, seed });
  try {
    const labels = noGrad(() => km.fit(t).predict(t));
    return { labels: Int32Array.from(labels), classes: k, names: null, kind: `k-means of X (k = ${k}, seed ${seed})` };
  } finally {
    km.dispose();
    t.dispose();
  }
}

function framesOf(op: string, name: string, v: Tensor | Frames, n?: number): Frames {
  if (v instanceof Tensor) {
    if (v.ndim !== 2 || v.dtype === 'int32') throw new Error(`[${op}] ${name} must be a float (N, d) tensor, got ${v.dtype} (${v.shape.join(', ')})`);
    const f = { data: Float32Array.from(v.to('float32').dataSync() as Float32Array), n: v.shape[0], d: v.shape[1] };
    if (n !== undefined && f.n !== n) throw new Error(`[${op}] ${name} has ${f.n} rows, x has ${n}`);
    return f;
  }
  if (!v || !(v.data instanceof Float32Array || ArrayBuffer.isView(v.data)) || v.data.length !== v.n * v.d) throw new Error(`[${op}] ${name} must be a Tensor (N, d) or { data, n, d }`);
  if (n !== undefined && v.n !== n) throw new Error(`[${op}] ${name} has ${v.n} rows, x has ${n}`);
  for (let i = 0; i < v.data.length; ++i) if (!Number.isFinite(v.data[i])) throw new Error(`[${op}] ${name} has a non-finite value at row ${Math.floor(i / v.d)}`);
  return v;
}

/**
 * The corrected protocol on frames the caller already has: x (N, dx), layers[l] (N, d_l) with
 * the same rows, optional int32 labels y (N) (-1 = unlabelled). Same options and result as
 * layerwiseMi (frame-sampling options do not apply; `paper` is not available here).
 */
export async function layerwiseMiFromFrames(input: { x: Tensor | Frames; layers: Array<Tensor | Frames>; y?: Tensor | Int32Array | null; layerIndex?: number[]; groups?: Int32Array | null }, options: LayerwiseMiOptions = {}): Promise<LayerwiseMiResult> {
  const op = 'analysis.layerwiseMiFromFrames';
  const r = resolveOptions(op, options);
  if (r.paper) throw new Error(`[${op}] paper mode needs whole utterances; use layerwiseMi(model, batches, { paper: true })`);
  if (!input || !Array.isArray(input.layers) || input.layers.length === 0) throw new Error(`[${op}] input.layers must be a non-empty array of (N, d) frames`);
  const t0 = Date.now();
  const x = framesOf(op, 'x', input.x);
  const layers = input.layers.map((l, i) => framesOf(op, `layers[${i}]`, l, x.n));
  const layerIndex = input.layerIndex ?? layers.map((_, i) => i);
  let y: FramesInput['y'] = null;
  if (input.y) {
    const lab = input.y instanceof Tensor ? Int32Array.from(input.y.dataSync() as Int32Array) : Int32Array.from(input.y);
    if (input.y instanceof Tensor && input.y.dtype !== 'int32') throw new Error(`[${op}] y must be int32 labels, got ${input.y.dtype}`);
    if (lab.length !== x.n) throw new Error(`[${op}] y has ${lab.length} labels for ${x.n} frames`);
    let top = -1;
    for (const v of lab) if (v > top) top = v;
    if (top < 0) throw new Error(`[${op}] y has no label >= 0`);
    y = { labels: lab, classes: top + 1, names: null, kind: 'user labels' };
  } else if (r.y === 'kmeans') {
    y = kmeansLabels(x, r.kmeans.k, r.kmeans.seed, r.device);
  }
  return analyzeFrames({
    x, layers, layerIndex, y, xKind: 'given frames',
    frames: { n: x.n, utterances: 0, batches: 0, validFrames: x.n, candidates: x.n, subsampling: 1 },
    groups: input.groups ?? null,
  }, r, defaultNames(layerIndex, r.names, op), t0, {});
}
