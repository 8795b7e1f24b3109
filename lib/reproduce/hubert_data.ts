/**
 * hubert_data.ts — the data side of stage 4 (self-supervised HuBERT): a waveform cache for the
 * CNN front end and the iteration-1 pre-training targets (39-d MFCC k-means) with their quality
 * against the synth corpus' phone alignments.
 *
 * Glossary:
 *   wave cache    <stage>/waves/<split>-<k>.i16 shards (each utterance's 16 kHz samples as int16
 *                 little-endian, × 32768 rounded and saturated: bit-exact for the 16-bit WAV/FLAC
 *                 sources, whose decoders divide by 32768) + <split>-<k>.json per shard and
 *                 <split>.json (written last); readWave reads one utterance with one pread, so an
 *                 epoch over LibriSpeech-100 (100 h = 11.5 GB as int16) never holds it in memory
 *   targets       <stage>/targets/: kmeans.safetensors, train.km and dev.km (fairseq label files,
 *                 one line per utterance in the feature cache's order, cluster ids at 100 Hz) and
 *                 targets.json (HubertTargetsRecord, written last: present = finished)
 *   MFCC          models.mfcc39 of the waveform (fairseq's dump_mfcc_feature.py: Kaldi MFCC, snip
 *                 edges, 25 ms window, 10 ms shift, + Δ + ΔΔ); frame t is centred at 10t + 12.5 ms
 *   fit sample    k-means (models.learnTargets: mini-batch, k-means++, fairseq's settings) fits on
 *                 at most `kmeansFrames` training frames drawn without replacement, then labels
 *                 every training and dev frame (fairseq fits on a sample, labels everything)
 *   quality       models.QualityAccumulator (phone purity, cluster purity, PNMI; HuBERT §IV-E) of
 *                 the dev frames' clusters against their phones: the corpus' frame labels are
 *                 10 ms alignment frames [10t, 10t + 10) ms, so MFCC frame t (centre 10t + 12.5 ms)
 *                 reads alignment frame t + 1. Null on corpora without alignments (LibriSpeech)
 *   chance        the dev share of the most frequent cluster: the masked accuracy of a model that
 *                 always predicts it (the floor pre-training must beat)
 */
import * as fs from 'fs';
import * as path from 'path';
import { readAudio } from '../audio/flac';
import type { FeatureItem } from '../audio/mel';
import { resample } from '../audio/resample';
import type { SplitName } from '../data/corpus';
import { ManifestEntry, readManifest } from '../data/manifest';
import { ClusterQuality, QualityAccumulator } from '../models/hubert/quality';
import { learnTargets, mfcc39, readLabels, writeLabels } from '../models/hubert/targets';
import { fromTypedArray } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Device } from '../tensor/types';
import { writeFileAtomic } from '../train/atomic';
import { CorpusRecord, SAMPLE_RATE, Utterance } from './corpus';

/** Utterances per waveform shard: 1000 LibriSpeech utterances (~12.3 s) are ~390 MB of int16. */
export const WAVE_SHARD_UTTERANCES = 1000;
/** MFCC labels per second (10 ms shift). */
export const MFCC_RATE = 100;

/** One utterance of the wave cache. */
export interface WaveEntry {
  id: string;
  file: string;
  /** offset in samples (int16 values) into the shard */
  offset: number;
  numSamples: number;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The manifest entries of `split` in the feature cache's order (checked against `utts` ids). */
export function splitEntries(corpus: CorpusRecord, split: SplitName, utts: readonly Utterance[]): ManifestEntry[] {
  const file = path.join(corpus.corpusDir, `${split}.jsonl`);
  const entries = readManifest(file).entries;
  if (entries.length !== utts.length || entries.some((e, i) => e.id !== utts[i].id)) {
    throw new Error(`[reproduce] HuBERT: ${file} lists ${entries.length} utterances but the feature cache holds ${utts.length} (or another order); rerun stage 1 (delete ${path.dirname(corpus.featureDir)})`);
  }
  return entries;
}

/** The 16 kHz mono samples of a manifest entry (resampled when the file has another rate). */
export async function loadWave(e: ManifestEntry): Promise<Float32Array> {
  const a = await readAudio(e.audio, { mono: true });
  return a.sampleRate === SAMPLE_RATE ? a.channels[0] : resample(a.channels[0], a.sampleRate, SAMPLE_RATE);
}

/**
 * Writes the wave cache of one split (see the glossary) under `waveDir`, resuming at the first
 * shard whose index does not list the same utterances; a finished split is not read again.
 * `onUtterance(n)` reports utterances done. Returns the split's entries in manifest order.
 */
export async function cacheWaves(waveDir: string, split: SplitName, entries: readonly ManifestEntry[],
  o: { shardSize?: number; onUtterance?: (n: number) => void } = {}): Promise<WaveEntry[]> {
  fs.mkdirSync(waveDir, { recursive: true });
  const shardSize = o.shardSize ?? WAVE_SHARD_UTTERANCES;
  const same = (list: readonly { id: string }[] | null, want: readonly { id: string }[]) => !!list && list.length === want.length && list.every((u, i) => u.id === want[i].id);
  const indexFile = path.join(waveDir, `${split}.json`);
  const done = readJson<WaveEntry[]>(indexFile);
  if (same(done, entries)) {
    o.onUtterance?.(entries.length);
    return done!;
  }
  const all: WaveEntry[] = [];
  for (let k = 0, s0 = 0; s0 < entries.length; ++k, s0 += shardSize) {
    const part = entries.slice(s0, s0 + shardSize);
    const file = `${split}-${String(k).padStart(3, '0')}.i16`;
    const shardIndex = path.join(waveDir, file.replace(/\.i16$/, '.json'));
    const prev = readJson<WaveEntry[]>(shardIndex);
    if (same(prev, part) && fs.existsSync(path.join(waveDir, file))) {
      all.push(...prev!);
      o.onUtterance?.(part.length);
      continue;
    }
    const chunks: Int16Array[] = [];
    const index: WaveEntry[] = [];
    let offset = 0;
    for (const e of part) {
      const x = await loadWave(e);
      const q = new Int16Array(x.length);
      for (let i = 0; i < x.length; ++i) q[i] = Math.max(-32768, Math.min(32767, Math.round(x[i] * 32768)));
      index.push({ id: e.id, file, offset, numSamples: x.length });
      chunks.push(q);
      offset += q.length;
      o.onUtterance?.(1);
    }
    const data = new Int16Array(offset);
    let at = 0;
    for (const c of chunks) { data.set(c, at); at += c.length; }
    // samples first, then the shard's index: an index on disk always describes a complete shard
    writeFileAtomic(path.join(waveDir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    writeFileAtomic(shardIndex, JSON.stringify(index));
    all.push(...index);
  }
  writeFileAtomic(indexFile, JSON.stringify(all));
  return all;
}

/** The entries of a finished split of the wave cache (null when the split is not cached). */
export function waveIndex(waveDir: string, split: SplitName): WaveEntry[] | null {
  return readJson<WaveEntry[]>(path.join(waveDir, `${split}.json`));
}

/** One utterance's samples from the wave cache, in [-1, 1) (one read of its int16 span). */
export function readWave(waveDir: string, e: WaveEntry): Float32Array {
  const buf = Buffer.alloc(e.numSamples * 2);
  const fd = fs.openSync(path.join(waveDir, e.file), 'r');
  try {
    const got = fs.readSync(fd, buf, 0, buf.length, e.offset * 2);
    if (got !== buf.length) throw new Error(`[reproduce] wave cache ${e.file}: ${e.id} needs ${buf.length} bytes at ${e.offset * 2}, read ${got}; delete ${waveDir} and rerun`);
  } finally {
    fs.closeSync(fd);
  }
  const out = new Float32Array(e.numSamples);
  for (let i = 0; i < e.numSamples; ++i) out[i] = buf.readInt16LE(2 * i) / 32768;
  return out;
}

/** What the targets step records (targets.json). */
export interface HubertTargetsRecord {
  feature: 'mfcc39';
  k: number;
  labelRate: number;
  /** training frames the k-means was fitted on, and all training frames labelled */
  fitFrames: number;
  trainFrames: number;
  devFrames: number;
  /** mean squared distance to the nearest centroid per fitted frame */
  inertia: number;
  kmeansSteps: number;
  clustersUsed: number;
  chance: number;
  /** dev (and train) frames against the phone alignments; null without alignments */
  quality: { dev: ClusterQuality; train: ClusterQuality } | null;
  files: { kmeans: string; train: string; dev: string };
  seconds: number;
}

/** Phone id of each MFCC frame from the corpus' 10 ms frame labels (see the glossary). */
function mfccPhones(labels: Int32Array, frames: number): Int32Array {
  return Int32Array.from({ length: frames }, (_, t) => labels[Math.min(t + 1, labels.length - 1)]);
}

/**
 * Iteration-1 targets of the training and dev splits (see the glossary) in `dir`: MFCC of every
 * waveform (from the wave cache `waveDir` when given, else the corpus' audio files), k-means with
 * K = `k` on at most `fitFrames` training frames (seeded), labels of every frame, their quality
 * and chance level. A finished `targets.json` with the same K is returned without work.
 */
export async function hubertTargets(o: {
  dir: string; corpus: CorpusRecord; train: readonly Utterance[]; dev: readonly Utterance[]; k: number; fitFrames: number; seed: number;
  device: Device; waveDir?: string | null; onProgress?: (done: number, total: number, what: string) => void;
}): Promise<HubertTargetsRecord> {
  const recordFile = path.join(o.dir, 'targets.json');
  const prev = readJson<HubertTargetsRecord>(recordFile);
  if (prev && prev.k === o.k && fs.existsSync(prev.files.train) && fs.existsSync(prev.files.dev)) return prev;
  if (!Number.isInteger(o.k) || o.k < 2) throw new Error(`[reproduce] HuBERT targets: clusters must be an integer >= 2, got ${JSON.stringify(o.k)}`);
  fs.mkdirSync(o.dir, { recursive: true });
  const t0 = Date.now();
  const mfccOf = async (split: SplitName, utts: readonly Utterance[], done: number, total: number): Promise<FeatureItem[]> => {
    const waves = o.waveDir ? waveIndex(o.waveDir, split) : null;
    if (o.waveDir && !waves) throw new Error(`[reproduce] HuBERT targets: the wave cache ${o.waveDir} has no finished ${split} split`);
    const entries = waves ? null : splitEntries(o.corpus, split, utts);
    const out: FeatureItem[] = [];
    for (let i = 0; i < utts.length; ++i) {
      const x = waves ? readWave(o.waveDir!, waves[i]) : await loadWave(entries![i]);
      out.push(mfcc39(x, SAMPLE_RATE));
      o.onProgress?.(done + i + 1, total, 'MFCC');
    }
    return out;
  };
  const total = o.train.length + o.dev.length;
  const trainItems = await mfccOf('train', o.train, 0, total);
  const devItems = await mfccOf('dev', o.dev, o.train.length, total);
  const trainFrames = trainItems.reduce((a, it) => a + it.numFrames, 0);
  if (trainFrames < o.k) throw new Error(`[reproduce] HuBERT targets: K = ${o.k} clusters need at least ${o.k} training frames, the training split has ${trainFrames}`);
  const fitFrames = Math.min(trainFrames, o.fitFrames);
  o.onProgress?.(0, 1, `k-means (K ${o.k}, ${fitFrames} frames)`);
  // fairseq learn_kmeans.py: mini-batch 10000, k-means++, n_init 20, 100 epochs, no-improvement 100
  const t = learnTargets(trainItems, MFCC_RATE, { k: o.k, seed: o.seed, maxFrames: fitFrames, batchSize: Math.min(10000, fitFrames), device: o.device });
  try {
    const devLabels = devItems.map((it) => (it.numFrames === 0 ? new Int32Array(0) : tidy(() => t.kmeans.predict(fromTypedArray(it.data, [it.numFrames, it.dim], { device: o.device, copy: true })))));
    o.onProgress?.(1, 1, `k-means (K ${o.k}, ${fitFrames} frames)`);
    const counts = new Float64Array(o.k);
    let devFrames = 0;
    for (const l of devLabels) for (const z of l) { ++counts[z]; ++devFrames; }
    const trainCounts = new Float64Array(o.k);
    for (const l of t.labels) for (const z of l) ++trainCounts[z];
    let quality: HubertTargetsRecord['quality'] = null;
    if ([...o.train, ...o.dev].every((u) => u.labels && u.labels.length > 0)) {
      const q = (utts: readonly Utterance[], labels: readonly Int32Array[]) => {
        const acc = new QualityAccumulator();
        utts.forEach((u, i) => { if (labels[i].length) acc.add(mfccPhones(u.labels!, labels[i].length), labels[i]); });
        return acc.result();
      };
      quality = { dev: q(o.dev, devLabels), train: q(o.train, t.labels) };
    }
    const files = { kmeans: path.join(o.dir, 'kmeans.safetensors'), train: path.join(o.dir, 'train.km'), dev: path.join(o.dir, 'dev.km') };
    t.kmeans.save(files.kmeans);
    writeLabels(files.train, t.labels);
    writeLabels(files.dev, devLabels);
    const rec: HubertTargetsRecord = {
      feature: 'mfcc39', k: o.k, labelRate: MFCC_RATE, fitFrames, trainFrames, devFrames, inertia: t.inertia, kmeansSteps: t.kmeans.info?.steps ?? 0,
      clustersUsed: Array.from(trainCounts).filter((c) => c > 0).length,
      chance: devFrames > 0 ? Math.max(...counts) / devFrames : 0, quality, files, seconds: (Date.now() - t0) / 1000,
    };
    writeFileAtomic(recordFile, JSON.stringify(rec, null, 1) + '\n');
    return rec;
  } finally {
    t.kmeans.dispose();
  }
}

/** The cluster labels of a split from a finished targets record, one per utterance (checked
 *  against the split's size). */
export function targetLabels(rec: HubertTargetsRecord, split: 'train' | 'dev', utts: readonly Utterance[]): Int32Array[] {
  const labels = readLabels(rec.files[split]);
  if (labels.length !== utts.length) throw new Error(`[reproduce] HuBERT targets: ${rec.files[split]} has ${labels.length} lines for ${utts.length} ${split} utterances; delete ${path.dirname(rec.files[split])} and rerun`);
  return labels;
}
