/**
 * corpus.ts — stage 1 of the main job: the corpus and its features, computed once and cached.
 *
 * Glossary:
 *   corpus dir     <stage>/corpus: the synth corpus (wav/, train/dev/test.jsonl, corpus.json), or
 *                  the manifests built from --data-root (realdata.ts)
 *   feature cache  <stage>/features/<split>-<k>.f32 shards (each utterance's (numFrames, 80)
 *                  log-mel frames, concatenated, float32 little-endian; SHARD_UTTERANCES per shard)
 *                  + <split>.json (per utterance: id, shard file, offset in floats, numFrames,
 *                  phone sequence, transcript, frame phone labels)
 *   frame labels   the synth corpus' exact phone alignment at 10 ms, one phone id per feature
 *                  frame (fbank hop 160 at 16 kHz = 10 ms; the last label repeats when the
 *                  centred STFT gives one frame more than the alignment)
 *   phone ids      the phone tokenizer's ids (<blank> 0, <unk> 1, phones from 2), shared by the
 *                  CTC targets and the frame labels
 */
import * as fs from 'fs';
import * as path from 'path';
import { fbank } from '../audio/mel';
import { readAudio } from '../audio/flac';
import { resample } from '../audio/resample';
import { generateCorpus, SplitName } from '../data/corpus';
import { alignmentFrames, ManifestEntry, readManifest } from '../data/manifest';
import { Tokenizer, TokenizerJSON } from '../data/tokenizer';
import type { FeatureItem } from '../audio/mel';
import { writeFileAtomic } from '../train/atomic';
import type { Preset } from './presets';

export const SPLITS: readonly SplitName[] = ['train', 'dev', 'test'];
export const N_MELS = 80;
/** Features are computed at 16 kHz (fbank hop 160 = 10 ms); other rates are resampled first. */
export const SAMPLE_RATE = 16000;

/** What stage 1 records (JSON): where everything is and what it holds. */
export interface CorpusRecord {
  corpusDir: string;
  featureDir: string;
  tokenizer: TokenizerJSON;
  counts: Record<SplitName, number>;
  frames: Record<SplitName, number>;
  audioHours: number;
  featureDim: number;
  frameShift: number;
  /** 'synth' (default when absent) or 'librispeech' (realdata.ts: char tokenizer, no frame labels) */
  source?: 'synth' | 'librispeech';
  /** a short description for the report */
  description?: string;
  /** enhancement pairs other than the synth corpus' own (VoiceBank-DEMAND): manifests per split */
  enhancement?: { source: 'voicebank'; manifests: Record<SplitName, string>; counts: Record<SplitName, number> } | null;
}

/** One utterance as the later stages use it. */
export interface Utterance {
  id: string;
  features: FeatureItem;
  phones: string[];
  /** the transcript (CTC targets of a 'char' tokenizer); '' when the corpus has none */
  text: string;
  /** (numFrames) phone id per feature frame, or null when the corpus has no alignment */
  labels: Int32Array | null;
}

interface IndexEntry {
  id: string;
  /** the shard holding the frames (default <split>.f32, the single-file cache of older runs) */
  file?: string;
  offset: number;
  numFrames: number;
  phones: string[];
  text?: string;
  labels: number[] | null;
}

/** Utterances per feature shard: 1000 LibriSpeech utterances (~12.3 s each) are ~400 MB of
 *  float32 frames, well under a Node Buffer's 4 GiB, and a resumed stage 1 loses at most one. */
export const SHARD_UTTERANCES = 1000;

/**
 * Computes the 80-d log-mel features of `entries` (audio resampled to 16 kHz when it is not) and
 * caches them as `<featureDir>/<split>-<k>.f32` shards of `shardSize` utterances plus the index
 * `<split>.json` (written last). A shard whose index `<split>-<k>.json` already lists the same
 * utterances is kept, so an interrupted stage 1 resumes at the first unfinished shard; a finished
 * split (its `<split>.json` lists the same utterances) is not read again. Frame labels come from
 * entries' alignments through `tokenizer` (phone ids) when both exist. `onUtterance(n)` reports
 * utterances done (skipped ones included). Returns the split's total frames.
 */
export async function cacheSplitFeatures(featureDir: string, split: SplitName, entries: readonly ManifestEntry[], tokenizer: Tokenizer | null,
  o: { shardSize?: number; onUtterance?: (n: number) => void } = {}): Promise<{ frames: number }> {
  fs.mkdirSync(featureDir, { recursive: true });
  const shardSize = o.shardSize ?? SHARD_UTTERANCES;
  const ids = entries.map((e) => e.id);
  const indexFile = path.join(featureDir, `${split}.json`);
  const sameIds = (list: readonly { id: string }[]) => list.length === ids.length && list.every((u, i) => u.id === ids[i]);
  const readJson = <T>(f: string): T | null => {
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8')) as T;
    } catch {
      return null;
    }
  };
  const done = readJson<IndexEntry[]>(indexFile);
  if (done && sameIds(done)) {
    o.onUtterance?.(entries.length);
    return { frames: done.reduce((a, u) => a + u.numFrames, 0) };
  }
  const all: IndexEntry[] = [];
  for (let k = 0, s0 = 0; s0 < entries.length; ++k, s0 += shardSize) {
    const part = entries.slice(s0, s0 + shardSize);
    const file = `${split}-${String(k).padStart(3, '0')}.f32`;
    const shardIndex = path.join(featureDir, file.replace(/\.f32$/, '.json'));
    const prev = readJson<IndexEntry[]>(shardIndex);
    if (prev && prev.length === part.length && prev.every((u, i) => u.id === part[i].id) && fs.existsSync(path.join(featureDir, file))) {
      all.push(...prev);
      o.onUtterance?.(part.length);
      continue;
    }
    const chunks: Float32Array[] = [];
    const index: IndexEntry[] = [];
    let offset = 0;
    for (const e of part) {
      const audio = await readAudio(e.audio, { mono: true });
      const x = audio.sampleRate === SAMPLE_RATE ? audio.channels[0] : resample(audio.channels[0], audio.sampleRate, SAMPLE_RATE);
      const f = fbank(x, { sampleRate: SAMPLE_RATE, nMels: N_MELS });
      let labels: number[] | null = null;
      if (e.alignment && tokenizer) {
        const names = alignmentFrames(e.alignment);
        const lab = tokenizer.encode(names);
        labels = Array.from({ length: f.numFrames }, (_, t) => lab[Math.min(t, lab.length - 1)]);
      }
      index.push({ id: e.id, file, offset, numFrames: f.numFrames, phones: e.phones ?? [], ...(e.text !== undefined ? { text: e.text } : {}), labels });
      chunks.push(f.data);
      offset += f.data.length;
      o.onUtterance?.(1);
    }
    const data = new Float32Array(offset);
    let at = 0;
    for (const ch of chunks) { data.set(ch, at); at += ch.length; }
    // frames first, then the shard's index: an index on disk always describes a complete shard
    writeFileAtomic(path.join(featureDir, file), new Uint8Array(data.buffer));
    writeFileAtomic(shardIndex, JSON.stringify(index));
    all.push(...index);
  }
  writeFileAtomic(indexFile, JSON.stringify(all));
  return { frames: all.reduce((a, u) => a + u.numFrames, 0) };
}

/** Stage 1: makes the synth corpus in `dir`/corpus and caches its 80-d log-mel features.
 *  `onProgress(done, total)` reports utterances. */
export async function prepareCorpus(dir: string, preset: Preset, seed: number, onProgress?: (done: number, total: number, what: string) => void): Promise<CorpusRecord> {
  if (preset.corpus.source !== 'synth') {
    throw new Error(`[reproduce] preset ${preset.name} reads real corpora from --data-root: stage 1 is realdata.prepareRealCorpus`);
  }
  const corpusDir = path.join(dir, 'corpus');
  const c = preset.corpus;
  // A corpus folder from an interrupted attempt is regenerated: generation is deterministic and
  // cheap (~200 utterances/s), and a partial one cannot be told from a complete one otherwise.
  fs.rmSync(corpusDir, { recursive: true, force: true });
  const res = await generateCorpus({
    outDir: corpusDir, engine: 'synth', numUtterances: c.numUtterances, numSpeakers: c.numSpeakers, seed,
    minSeconds: c.minSeconds, maxSeconds: c.maxSeconds, onProgress: (d, t) => onProgress?.(d, t, 'synthesising'),
  });
  const manifests = Object.fromEntries(SPLITS.map((s) => [s, readManifest(res.manifests[s]).entries])) as Record<SplitName, ManifestEntry[]>;
  const phoneSet = new Set<string>();
  for (const e of manifests.train) for (const p of e.phones ?? []) phoneSet.add(p);
  const tokenizer = new Tokenizer('phone', [...phoneSet].sort());
  const featureDir = path.join(dir, 'features');
  // features of a regenerated corpus must not be taken from an older attempt's cache
  fs.rmSync(featureDir, { recursive: true, force: true });
  const total = SPLITS.reduce((a, s) => a + manifests[s].length, 0);
  let done = 0;
  const frames = { train: 0, dev: 0, test: 0 } as Record<SplitName, number>;
  for (const split of SPLITS) {
    frames[split] = (await cacheSplitFeatures(featureDir, split, manifests[split], tokenizer, { onUtterance: (n) => onProgress?.(done += n, total, 'features') })).frames;
  }
  return {
    corpusDir, featureDir, tokenizer: tokenizer.toJSON(), counts: res.counts, frames,
    audioHours: res.audioSeconds / 3600, featureDim: N_MELS, frameShift: 0.01, source: 'synth',
    description: `built-in synth corpus, ${res.counts.train} / ${res.counts.dev} / ${res.counts.test} utterances (train / dev / test, speaker-disjoint), ${(res.audioSeconds / 60).toFixed(1)} minutes of audio; 80-d log-mel at 10 ms; ${tokenizer.size - 2} phones with exact alignments.`,
  };
}

/** The utterances of `split` from the feature cache of a finished stage 1 (each shard read once;
 *  an utterance's features are a view into its shard's buffer). */
export function loadSplit(rec: CorpusRecord, split: SplitName): Utterance[] {
  const index = JSON.parse(fs.readFileSync(path.join(rec.featureDir, `${split}.json`), 'utf8')) as IndexEntry[];
  const shards = new Map<string, Float32Array>();
  const shard = (file: string): Float32Array => {
    let a = shards.get(file);
    if (!a) {
      const bin = fs.readFileSync(path.join(rec.featureDir, file));
      // a large file has its own aligned buffer: view it (a 400 MB shard is not copied); a small
      // one may sit at any offset of Node's shared pool: copy it
      a = bin.byteOffset % 4 === 0 ? new Float32Array(bin.buffer, bin.byteOffset, bin.byteLength / 4) : new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
      shards.set(file, a);
    }
    return a;
  };
  return index.map((u) => ({
    id: u.id,
    features: { data: shard(u.file ?? `${split}.f32`).subarray(u.offset, u.offset + u.numFrames * rec.featureDim), numFrames: u.numFrames, dim: rec.featureDim },
    phones: u.phones,
    text: u.text ?? '',
    labels: u.labels ? Int32Array.from(u.labels) : null,
  }));
}
