/**
 * corpus.ts — stage 1 of the main job: the corpus and its features, computed once and cached.
 *
 * Glossary:
 *   corpus dir     <stage>/corpus: the synth corpus (wav/, train/dev/test.jsonl, corpus.json)
 *   feature cache  <stage>/features/<split>.f32 (every utterance's (numFrames, 80) log-mel
 *                  frames, concatenated, float32 little-endian) + <split>.json (per utterance: id,
 *                  offset in floats, numFrames, phone sequence, frame phone labels)
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
import { generateCorpus, SplitName } from '../data/corpus';
import { alignmentFrames, readManifest } from '../data/manifest';
import { Tokenizer, TokenizerJSON } from '../data/tokenizer';
import type { FeatureItem } from '../audio/mel';
import { writeFileAtomic } from '../train/atomic';
import type { Preset } from './presets';

export const SPLITS: readonly SplitName[] = ['train', 'dev', 'test'];
export const N_MELS = 80;

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
}

/** One utterance as the later stages use it. */
export interface Utterance {
  id: string;
  features: FeatureItem;
  phones: string[];
  /** (numFrames) phone id per feature frame, or null when the corpus has no alignment */
  labels: Int32Array | null;
}

interface IndexEntry {
  id: string;
  offset: number;
  numFrames: number;
  phones: string[];
  labels: number[] | null;
}

/** Stage 1: makes the synth corpus in `dir`/corpus and caches its 80-d log-mel features.
 *  `onProgress(done, total)` reports utterances. */
export async function prepareCorpus(dir: string, preset: Preset, seed: number, onProgress?: (done: number, total: number, what: string) => void): Promise<CorpusRecord> {
  if (preset.corpus.source !== 'synth') {
    throw new Error(`[reproduce] preset ${preset.name} reads real corpora from --data-root; this build prepares only the synth corpus (use --preset tiny or small)`);
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
  const manifests = Object.fromEntries(SPLITS.map((s) => [s, readManifest(res.manifests[s]).entries])) as Record<SplitName, ReturnType<typeof readManifest>['entries']>;
  const phoneSet = new Set<string>();
  for (const e of manifests.train) for (const p of e.phones ?? []) phoneSet.add(p);
  const tokenizer = new Tokenizer('phone', [...phoneSet].sort());
  const featureDir = path.join(dir, 'features');
  fs.mkdirSync(featureDir, { recursive: true });
  const total = SPLITS.reduce((a, s) => a + manifests[s].length, 0);
  let done = 0;
  const frames = { train: 0, dev: 0, test: 0 } as Record<SplitName, number>;
  for (const split of SPLITS) {
    const chunks: Float32Array[] = [];
    const index: IndexEntry[] = [];
    let offset = 0;
    for (const e of manifests[split]) {
      const audio = await readAudio(e.audio);
      const f = fbank(audio.channels[0], { sampleRate: audio.sampleRate, nMels: N_MELS });
      let labels: number[] | null = null;
      if (e.alignment) {
        const names = alignmentFrames(e.alignment);
        const ids = tokenizer.encode(names);
        labels = Array.from({ length: f.numFrames }, (_, t) => ids[Math.min(t, ids.length - 1)]);
      }
      index.push({ id: e.id, offset, numFrames: f.numFrames, phones: e.phones ?? [], labels });
      chunks.push(f.data);
      offset += f.data.length;
      frames[split] += f.numFrames;
      onProgress?.(++done, total, 'features');
    }
    const all = new Float32Array(offset);
    let o = 0;
    for (const ch of chunks) { all.set(ch, o); o += ch.length; }
    writeFileAtomic(path.join(featureDir, `${split}.f32`), new Uint8Array(all.buffer));
    writeFileAtomic(path.join(featureDir, `${split}.json`), JSON.stringify(index));
  }
  return {
    corpusDir, featureDir, tokenizer: tokenizer.toJSON(), counts: res.counts, frames,
    audioHours: res.audioSeconds / 3600, featureDim: N_MELS, frameShift: 0.01,
  };
}

/** The utterances of `split` from the feature cache of a finished stage 1. */
export function loadSplit(rec: CorpusRecord, split: SplitName): Utterance[] {
  const bin = fs.readFileSync(path.join(rec.featureDir, `${split}.f32`));
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const index = JSON.parse(fs.readFileSync(path.join(rec.featureDir, `${split}.json`), 'utf8')) as IndexEntry[];
  return index.map((u) => ({
    id: u.id,
    features: { data: all.subarray(u.offset, u.offset + u.numFrames * rec.featureDim), numFrames: u.numFrames, dim: rec.featureDim },
    phones: u.phones,
    labels: u.labels ? Int32Array.from(u.labels) : null,
  }));
}
