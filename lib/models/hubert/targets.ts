/**
 * targets.ts — HuBERT's pre-training targets: frame features -> k-means -> one cluster id per
 * frame, and the label-rate bookkeeping between targets and model frames.
 *
 * Glossary:
 *   iteration 1   39-d MFCC at 100 Hz (fairseq examples/hubert/simple_kmeans/dump_mfcc_feature.py:
 *                 torchaudio.compliance.kaldi.mfcc of the [-1, 1] waveform, use_energy False, i.e.
 *                 13 cepstra with Kaldi's 25 ms povey window, 23 bins, lifter 22, snip edges;
 *                 then Δ and ΔΔ by torchaudio compute_deltas, window 5), K = 100
 *   iteration 2   the output of layer L of an iteration-1 model (valid frames, the model's frame
 *                 rate: 50 Hz for the CNN), K = 500 (fairseq: layer 6 of base)
 *   label rate    labels per second; labelRate / frameRate = r (2 for 100 Hz MFCC labels on a
 *                 50 Hz model, 1 for iteration 2)
 *   resampling    fairseq HubertModel.forward_targets: model frame i takes label floor(i · r) and
 *                 the frames are cut to floor(labels / r) when the labels run out first
 *   tolerance     fairseq HubertDataset.verify_label_lengths allows |labels / labelRate − audio
 *                 seconds| <= 0.1 s (it warns; here it is an error that names the utterance)
 *   .km file      fairseq's label file: one utterance per line, its ids separated by spaces
 */
import * as fs from 'fs';
import { FeatureItem } from '../../audio/mel';
import { kaldiMfcc } from '../../audio/kaldi';
import { computeDeltas } from '../../audio/mfcc';
import { Rng } from '../../audio/rng';
import { writeFileAtomic } from '../../audio/wav';
import { narrow } from '../../ops/shape';
import { fromTypedArray } from '../../tensor/creation';
import { tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';
import { Device } from '../../tensor/types';
import type { TaskModel } from '../task';
import { KMeans, KMeansOptions } from './kmeans';

/**
 * 39-d MFCC of a waveform (n samples in [-1, 1]) as fairseq's HuBERT recipe dumps them (see the
 * glossary): (numFrames, 39) = [13 Kaldi cepstra, their Δ, their ΔΔ], 100 frames per second.
 */
export function mfcc39(samples: Float32Array, sampleRate = 16000): FeatureItem {
  const m = kaldiMfcc(samples, { sampleFrequency: sampleRate, useEnergy: false });
  const T = m.numFrames;
  if (T === 0) return { data: new Float32Array(0), numFrames: 0, dim: 39 };
  const d1 = computeDeltas(m.data, T, 13); // (T, 13)
  const d2 = computeDeltas(d1, T, 13); // (T, 13)
  const out = new Float32Array(T * 39); // (T, 39)
  for (let t = 0; t < T; ++t) {
    out.set(m.data.subarray(t * 13, t * 13 + 13), t * 39);
    out.set(d1.subarray(t * 13, t * 13 + 13), t * 39 + 13);
    out.set(d2.subarray(t * 13, t * 13 + 13), t * 39 + 26);
  }
  return { data: out, numFrames: T, dim: 39 };
}

/**
 * Labels at `labelRate` brought to `numFrames` model frames at `frameRate` the way fairseq does
 * (forward_targets): frame i gets labels[floor(i · labelRate / frameRate)]; when the labels end
 * first the result is cut to floor(labels.length / r) frames. Returns an Int32Array of at most
 * numFrames labels (its length is the number of model frames that have a target).
 */
export function resampleLabels(labels: ArrayLike<number>, labelRate: number, frameRate: number, numFrames: number): Int32Array {
  if (!(labelRate > 0) || !(frameRate > 0)) throw new Error(`[resampleLabels] rates must be > 0, got labelRate ${labelRate}, frameRate ${frameRate}`);
  if (!Number.isInteger(numFrames) || numFrames < 0) throw new Error(`[resampleLabels] numFrames must be an integer >= 0, got ${numFrames}`);
  const r = labelRate / frameRate;
  // float32 products as torch's arange(T).float() * ratio, then truncation (.long())
  const n = r * numFrames > labels.length ? Math.floor(labels.length / r) : numFrames;
  const out = new Int32Array(n);
  for (let i = 0; i < n; ++i) out[i] = labels[Math.min(labels.length - 1, Math.trunc(Math.fround(Math.fround(i) * Math.fround(r))))];
  return out;
}

/** Throws `[where] labels of <id> ...` when `numLabels` at `labelRate` do not cover `seconds` of
 *  audio within `tolerance` seconds (fairseq's check, 0.1 s by default). */
export function checkLabelLength(numLabels: number, seconds: number, labelRate: number, opts: { tolerance?: number; id?: string; where?: string } = {}): void {
  const tol = opts.tolerance ?? 0.1;
  const got = numLabels / labelRate;
  if (Math.abs(got - seconds) > tol) {
    const who = opts.id !== undefined ? `"${opts.id}"` : 'an utterance';
    throw new Error(`[${opts.where ?? 'checkLabelLength'}] labels of ${who} cover ${got.toFixed(3)} s (${numLabels} labels at ${labelRate} Hz) but its audio is ${seconds.toFixed(3)} s (tolerance ${tol} s): wrong label file or label rate?`);
  }
}

/**
 * The valid frames of `items` stacked into one (N, D) tensor on `device` for k-means; with
 * `maxFrames`, a seeded random subset of that many frames (without replacement), as fairseq fits
 * on a sample of its features. Throws on mixed dims or no frames.
 */
export function stackFrames(items: readonly FeatureItem[], opts: { maxFrames?: number; seed?: number; device?: Device } = {}): Tensor {
  if (!Array.isArray(items) || items.length === 0) throw new Error('[stackFrames] expected a non-empty array of FeatureItems');
  const D = items[0].dim;
  let N = 0;
  items.forEach((it, i) => {
    if (!it || it.dim !== D || it.data.length !== it.numFrames * it.dim) throw new Error(`[stackFrames] item ${i} must be a FeatureItem of dim ${D} with numFrames × dim values`);
    N += it.numFrames;
  });
  if (N === 0) throw new Error('[stackFrames] the items have no frames');
  const take = opts.maxFrames === undefined ? N : Math.min(N, opts.maxFrames);
  const out = new Float32Array(take * D);
  if (take === N) {
    let o = 0;
    for (const it of items) { out.set(it.data, o); o += it.data.length; }
  } else {
    // Partial Fisher–Yates over frame indices, then rows copied in ascending order.
    const rng = new Rng(opts.seed ?? 0), idx = new Int32Array(N);
    for (let i = 0; i < N; ++i) idx[i] = i;
    for (let i = 0; i < take; ++i) {
      const j = i + Math.floor(rng.uniform() * (N - i));
      const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
    }
    const chosen = idx.subarray(0, take).sort();
    const starts: number[] = [];
    let acc = 0;
    for (const it of items) { starts.push(acc); acc += it.numFrames; }
    let u = 0;
    for (let k = 0; k < take; ++k) {
      const g = chosen[k];
      while (u + 1 < items.length && starts[u + 1] <= g) ++u;
      out.set(items[u].data.subarray((g - starts[u]) * D, (g - starts[u] + 1) * D), k * D);
    }
  }
  return fromTypedArray(out, [take, D], { device: opts.device, copy: true });
}

/** Targets of a corpus: the fitted k-means, one Int32Array of cluster ids per utterance (in the
 *  order given) at `labelRate`, and the k-means inertia per frame on the frames it was fitted on. */
export interface Targets {
  kmeans: KMeans;
  labels: Int32Array[];
  labelRate: number;
  inertia: number;
}

/** Options of learnTargets: KMeans options (k required) plus the frame sample and device. */
export type TargetOptions = KMeansOptions & { maxFrames?: number; device?: Device };

/**
 * Fits k-means on the frames of `items` (all, or `maxFrames` sampled) and labels every frame of
 * every item: the generic step of both iterations (MFCC items or model-layer items).
 */
export function learnTargets(items: readonly FeatureItem[], labelRate: number, opts: TargetOptions): Targets {
  const { maxFrames, device, ...km } = opts;
  const X = stackFrames(items, { maxFrames, seed: km.seed, device });
  const kmeans = new KMeans(km);
  try {
    kmeans.fit(X);
    const inertia = kmeans.score(X);
    const labels = items.map((it) => (it.numFrames === 0 ? new Int32Array(0)
      : tidy(() => kmeans.predict(fromTypedArray(it.data, [it.numFrames, it.dim], { device: X.device, copy: true })))));
    return { kmeans, labels, labelRate, inertia };
  } finally {
    X.dispose();
  }
}

/** Iteration 1: 39-d MFCC targets of waveforms at 100 Hz, K = 100 unless given. */
export function mfccTargets(waves: readonly { samples: Float32Array; sampleRate: number }[], opts: Partial<TargetOptions> = {}): Targets {
  if (!Array.isArray(waves) || waves.length === 0) throw new Error('[mfccTargets] expected a non-empty array of { samples, sampleRate }');
  return learnTargets(waves.map((w) => mfcc39(w.samples, w.sampleRate)), 100, { ...opts, k: opts.k ?? 100 });
}

/**
 * Layer-`layer` features of a model over batches (its hiddenStates: hs[0] = encoder input,
 * hs[l] = layer l), valid frames only, one FeatureItem per utterance in batch order: the input of
 * iteration 2 (fairseq dump_hubert_feature.py).
 */
export async function layerFeatures<B>(model: TaskModel<B>, batches: Iterable<B> | AsyncIterable<B>, layer: number): Promise<FeatureItem[]> {
  const out: FeatureItem[] = [];
  for await (const batch of batches as AsyncIterable<B>) {
    const hs = model.hiddenStates(batch);
    try {
      if (!Number.isInteger(layer) || layer < 0 || layer >= hs.states.length) {
        throw new Error(`[layerFeatures] layer must be in [0, ${hs.states.length - 1}] (0 = encoder input), got ${layer}`);
      }
      const h = hs.states[layer];
      const [B, , C] = h.shape;
      for (let b = 0; b < B; ++b) {
        const n = hs.lengths[b];
        const data = tidy(() => narrow(narrow(h, 0, b, 1), 1, 0, n).to('float32').dataSync()) as Float32Array;
        out.push({ data: Float32Array.from(data), numFrames: n, dim: C });
      }
    } finally {
      hs.states.forEach((t) => t.dispose());
      hs.inputs?.dispose();
    }
  }
  return out;
}

/** Iteration 2: k-means (K = 500 unless given) on layer `layer` of `model`, labels at the model's
 *  frame rate `frameRate` (Hubert.frameRate). */
export async function layerTargets<B>(model: TaskModel<B>, batches: Iterable<B> | AsyncIterable<B>, opts: Partial<TargetOptions> & { layer: number; frameRate: number }): Promise<Targets> {
  const { layer, frameRate, ...rest } = opts;
  const items = await layerFeatures(model, batches, layer);
  return learnTargets(items, frameRate, { ...rest, k: rest.k ?? 500 });
}

/** Writes labels as a fairseq .km file (one utterance per line), atomically. */
export function writeLabels(file: string, labels: readonly ArrayLike<number>[]): void {
  writeFileAtomic(file, labels.map((l) => Array.from(l).join(' ')).join('\n') + (labels.length ? '\n' : ''));
}

/** Reads a fairseq .km file: one Int32Array per line; a bad token is an error naming the line. */
export function readLabels(file: string): Int32Array[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`[readLabels] ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    const toks = line.trim() === '' ? [] : line.trim().split(/\s+/);
    return Int32Array.from(toks, (t) => {
      const v = Number(t);
      if (!Number.isInteger(v) || v < 0) throw new Error(`[readLabels] ${file}:${i + 1}: "${t}" is not a label id >= 0`);
      return v;
    });
  });
}
