/**
 * Batching for training loops: length-bucketed batches under a frame budget, right padding with
 * int32 lengths, deterministic shuffling per (seed, epoch), a feature cache on disk, and a
 * prefetching async iterator.
 *
 * Glossary:
 *   B, T, F     batch size, longest item's frames in the batch, feature dimension
 *   maxFrames   budget per batch: B × T ≤ maxFrames (padding included, since that is what the
 *               model computes on); an item longer than the budget forms a batch of its own
 *   bucketing   items sorted by length (with a ±5 % seeded jitter so batches differ between
 *               epochs), cut greedily into batches, then the batch order shuffled: padding stays
 *               small (a few %) while every epoch sees a different order
 *   cache key   sha1 of (absolute path, mtime, size, feature options): editing the audio or the
 *               options invalidates an entry, nothing else does
 *   prefetch    while the consumer awaits (GPU work, I/O), the next batches are prepared; plain
 *               synchronous JavaScript cannot overlap with the consumer's own synchronous work
 *               (one thread), so feature functions should be cheap or cached
 */

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readAudio } from '../audio/flac';
import type { FeatureItem } from '../audio/mel';
import { writeFileAtomic } from '../audio/wav';
import { ManifestEntry } from './manifest';
import { Rng, deriveSeed, shuffleInPlace } from './rng';
import { Tokenizer } from './tokenizer';

export type { FeatureItem } from '../audio/mel';
/** @deprecated the older name of FeatureItem (same fields). */
export type Features = FeatureItem;

export interface Batch {
  ids: string[];
  /** (B, T, F) row-major, zero right padding */
  features: Float32Array;
  shape: [number, number, number];
  lengths: Int32Array;
  /** (B, S) token ids, right-padded with 0 */
  targets?: Int32Array;
  targetShape?: [number, number];
  targetLengths?: Int32Array;
}

export interface BatchPlanOptions {
  maxFrames: number;
  seed: number;
  epoch?: number;
  /** false: keep sorted order (evaluation); default true */
  shuffle?: boolean;
  /** upper bound on items per batch (default unlimited) */
  maxBatchSize?: number;
}

/** Groups item indices into batches with B × (longest length) ≤ maxFrames. Every index appears in
 *  exactly one batch; the same (lengths, seed, epoch) always gives the same batches. */
export function planBatches(lengths: readonly number[], opts: BatchPlanOptions): number[][] {
  const { maxFrames, seed } = opts;
  const epoch = opts.epoch ?? 0;
  const maxB = opts.maxBatchSize ?? Infinity;
  if (!(maxFrames > 0)) throw new Error(`[planBatches] maxFrames must be > 0, got ${maxFrames}`);
  if (!(maxB >= 1)) throw new Error(`[planBatches] maxBatchSize must be ≥ 1, got ${maxB}`);
  lengths.forEach((l, i) => {
    if (!(l >= 0) || !Number.isFinite(l)) throw new Error(`[planBatches] lengths[${i}] = ${l} is not a finite length ≥ 0`);
  });
  const shuffle = opts.shuffle ?? true;
  const rng = new Rng(deriveSeed(seed, 'batches', epoch));
  const key = lengths.map((l) => (shuffle ? l * (1 + 0.1 * (rng.uniform() - 0.5)) : l));
  const order = lengths.map((_, i) => i).sort((a, b) => key[a] - key[b] || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  let longest = 0;
  for (const i of order) {
    const l = Math.max(longest, lengths[i]);
    if (cur.length > 0 && ((cur.length + 1) * l > maxFrames || cur.length >= maxB)) {
      batches.push(cur);
      cur = [];
      longest = 0;
    }
    cur.push(i);
    longest = Math.max(longest, lengths[i]);
  }
  if (cur.length) batches.push(cur);
  return shuffle ? shuffleInPlace(batches, rng) : batches;
}

/** Stacks items into one right-padded batch: features (B, T, F) with zeros after each item's
 *  frames, int32 lengths, and (when every item has targets) padded targets with their lengths.
 *  Each item's `features` is a FeatureItem (numFrames, dim), e.g. `audio.fbankArray(x)` as is. */
export function collate(items: ReadonlyArray<{ id: string; features: FeatureItem; targets?: Int32Array }>): Batch {
  if (items.length === 0) throw new Error('[collate] empty batch');
  items.forEach((it, i) => checkFeatureItem(it.features, `item ${i} (${it.id})`));
  const F = items[0].features.dim;
  let T = 0;
  items.forEach((it, i) => {
    if (it.features.dim !== F) throw new Error(`[collate] item ${i} (${it.id}) has feature dim ${it.features.dim}, item 0 has ${F}`);
    if (it.features.data.length !== it.features.numFrames * F) throw new Error(`[collate] item ${i} (${it.id}) data has ${it.features.data.length} values, expected ${it.features.numFrames} × ${F}`);
    T = Math.max(T, it.features.numFrames);
  });
  const B = items.length;
  const features = new Float32Array(B * T * F);
  const lengths = new Int32Array(B);
  items.forEach((it, b) => {
    features.set(it.features.data, b * T * F);
    lengths[b] = it.features.numFrames;
  });
  const batch: Batch = { ids: items.map((it) => it.id), features, shape: [B, T, F], lengths };
  if (items.every((it) => it.targets !== undefined)) {
    const S = Math.max(0, ...items.map((it) => it.targets!.length));
    const targets = new Int32Array(B * S);
    const targetLengths = new Int32Array(B);
    items.forEach((it, b) => {
      targets.set(it.targets!, b * S);
      targetLengths[b] = it.targets!.length;
    });
    Object.assign(batch, { targets, targetShape: [B, S], targetLengths });
  }
  return batch;
}

/** Throws `[collate] <where> ...` unless `f` is a FeatureItem { data: Float32Array, numFrames, dim };
 *  names the usual mistakes (a Tensor from audio.fbank, a bare Float32Array). */
function checkFeatureItem(f: unknown, where: string): asserts f is FeatureItem {
  const o = f as Partial<FeatureItem> & { shape?: unknown; frames?: unknown };
  if (o === null || typeof o !== 'object' || ArrayBuffer.isView(o) || Array.isArray(o.shape) || typeof o.numFrames !== 'number' || typeof o.dim !== 'number' || !ArrayBuffer.isView(o.data)) {
    const got = o === null || typeof o !== 'object' ? JSON.stringify(o)
      : Array.isArray(o.shape) ? `a Tensor (${(o.shape as number[]).join(', ')}) (use audio.fbankArray, or models.collateAsr which takes Tensors)`
        : ArrayBuffer.isView(o) ? `a bare ${o.constructor.name} without numFrames/dim`
          : `{ ${Object.keys(o).join(', ')} }`;
    throw new Error(`[collate] ${where} features must be a FeatureItem { data: Float32Array, numFrames, dim }, got ${got}`);
  }
  if (!Number.isInteger(o.numFrames) || o.numFrames < 0 || !Number.isInteger(o.dim) || o.dim < 1) {
    throw new Error(`[collate] ${where} has numFrames = ${o.numFrames}, dim = ${o.dim}: expected integers ≥ 0 and ≥ 1`);
  }
}

const MAGIC = 0x3146534d; // 'MSF1' little-endian: mamba-speech features v1

/** Features cached on disk, one file per (audio file, mtime, size, options). */
export class FeatureCache {
  hits = 0;
  misses = 0;
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Cache key for `file` with feature `options` (any JSON-serialisable value). */
  key(file: string, options: unknown): string {
    const abs = path.resolve(file);
    const st = fs.statSync(abs);
    return crypto.createHash('sha1').update(JSON.stringify([abs, st.mtimeMs, st.size, options])).digest('hex');
  }

  /** Returns cached features, or computes, stores (atomically) and returns them. A corrupt cache
   *  file is recomputed rather than trusted. */
  async get(file: string, options: unknown, compute: () => FeatureItem | Promise<FeatureItem>): Promise<FeatureItem> {
    const p = path.join(this.dir, `${this.key(file, options)}.f32`);
    if (fs.existsSync(p)) {
      const b = fs.readFileSync(p);
      if (b.length >= 12 && b.readUInt32LE(0) === MAGIC) {
        const numFrames = b.readUInt32LE(4);
        const dim = b.readUInt32LE(8);
        if (b.length === 12 + 4 * numFrames * dim) {
          this.hits++;
          const data = new Float32Array(numFrames * dim);
          new Uint8Array(data.buffer).set(b.subarray(12));
          return { data, numFrames, dim };
        }
      }
    }
    this.misses++;
    const f = await compute();
    const head = Buffer.alloc(12);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(f.numFrames, 4);
    head.writeUInt32LE(f.dim, 8);
    writeFileAtomic(p, Buffer.concat([head, Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength)]));
    return f;
  }
}

/** Runs `source` up to `depth` items ahead of the consumer: while the consumer handles item i,
 *  items i+1..i+depth are being produced. Errors surface at the item where they happened. */
export async function* prefetch<T>(source: AsyncIterable<T>, depth = 1): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const queue: Array<Promise<IteratorResult<T>>> = [];
  const pull = (): void => {
    const p = it.next();
    p.catch(() => undefined); // observed when awaited below; avoid an unhandled-rejection warning
    queue.push(p);
  };
  for (let i = 0; i <= depth; i++) pull();
  for (;;) {
    const r = await queue.shift()!;
    if (r.done) return;
    pull();
    yield r.value;
  }
}

export interface LoaderOptions extends BatchPlanOptions {
  entries: readonly ManifestEntry[];
  /** features of one utterance (mono samples at the file's rate), e.g. (x) => audio.fbankArray(x) */
  featurize: (samples: Float32Array, sampleRate: number, entry: ManifestEntry) => FeatureItem | Promise<FeatureItem>;
  /** identifies the featurizer settings in cache keys, e.g. { nMels: 80, hop: 160 } */
  featureOptions?: unknown;
  cache?: FeatureCache;
  tokenizer?: Tokenizer;
  /** feature frames per second for bucketing from manifest durations (default 100) */
  framesPerSecond?: number;
  /** batches prepared ahead (default 2) */
  prefetch?: number;
}

/** Iterates one epoch of batches: plans buckets from manifest durations, loads audio (WAV/FLAC),
 *  computes or fetches cached features, tokenises `text` (char tokenizer) or `phones`, collates,
 *  and prefetches ahead of the consumer. */
export function batchIterator(opts: LoaderOptions): AsyncGenerator<Batch> {
  const fps = opts.framesPerSecond ?? 100;
  const plan = planBatches(opts.entries.map((e) => Math.ceil(e.duration * fps)), opts);
  async function* produce(): AsyncGenerator<Batch> {
    for (const idx of plan) {
      const items = [];
      for (const i of idx) {
        const e = opts.entries[i];
        const compute = async (): Promise<FeatureItem> => {
          const a = await readAudio(e.audio, { mono: true });
          return opts.featurize(a.channels[0], a.sampleRate, e);
        };
        const features = opts.cache ? await opts.cache.get(e.audio, opts.featureOptions ?? null, compute) : await compute();
        let targets: Int32Array | undefined;
        if (opts.tokenizer) {
          const src = opts.tokenizer.kind === 'char' ? e.text : e.phones;
          if (src === undefined) throw new Error(`[batchIterator] entry ${e.id} has no ${opts.tokenizer.kind === 'char' ? 'text' : 'phones'} for the tokenizer`);
          targets = opts.tokenizer.encode(src);
        }
        items.push({ id: e.id, features, ...(targets ? { targets } : {}) });
      }
      yield collate(items);
    }
  }
  return prefetch(produce(), opts.prefetch ?? 2);
}
