/**
 * data.ts — an experiment's data: the manifests of a split (from a corpus folder or given
 * paths), and their features computed once and cached on disk (data.FeatureCache, keyed by the
 * audio file, its mtime/size and the feature options).
 *
 * Glossary:
 *   split       'train' | 'dev' | 'test', or a manifest path given on the command line
 *   features    the config's `features` section: type (fbank | mfcc | kaldiFbank | kaldiMfcc) and
 *               that function's options; audio is resampled to options.sampleRate (16 kHz
 *               unless set) first
 */
import * as fs from 'fs';
import * as path from 'path';

import { fbankArray, kaldiFbankArray, kaldiMfccArray, mfccArray } from '../audio/api';
import { readAudio } from '../audio/flac';
import type { FeatureItem } from '../audio/mel';
import { resample } from '../audio/resample';
import { FeatureCache } from '../data/batching';
import { ManifestEntry, readManifest } from '../data/manifest';
import type { ExperimentConfig } from './config';

export type SplitName = 'train' | 'dev' | 'test';

/** The manifest file of `split` under the config's data section (null when there is none). */
export function manifestPath(cfg: ExperimentConfig, split: SplitName): string | null {
  const given = cfg.data[split];
  if (given) return given;
  if (cfg.data.corpus) {
    const p = path.join(cfg.data.corpus, `${split}.jsonl`);
    return fs.existsSync(p) ? p : null;
  }
  return null;
}

/** Reads a manifest (problems are errors naming file and line), keeps the first `limit` entries. */
export function readEntries(file: string, limit?: number): ManifestEntry[] {
  if (!fs.existsSync(file)) throw new Error(`[experiment] manifest ${file} does not exist (make a corpus with \`mamba-speech corpus synth\` or point data.train/dev at manifests)`);
  const { entries } = readManifest(file, { onError: 'throw' });
  if (entries.length === 0) throw new Error(`[experiment] manifest ${file} has no entries`);
  return limit === undefined ? entries : entries.slice(0, limit);
}

/** The feature cache folder of a config (null when caching is off). */
export function cacheDir(cfg: ExperimentConfig): string | null {
  const c = cfg.data.cache;
  if (c === false) return null;
  if (typeof c === 'string') return c;
  const base = cfg.data.corpus ?? path.dirname(cfg.data.train!);
  return path.join(base, '.features');
}

const EXTRACTORS = {
  fbank: fbankArray,
  mfcc: mfccArray,
  kaldiFbank: kaldiFbankArray,
  kaldiMfcc: kaldiMfccArray,
} as const;

/** Options given to the feature function (the section minus `type`). */
export function featureOptions(cfg: ExperimentConfig): Record<string, unknown> {
  const { type: _t, ...rest } = cfg.features;
  void _t;
  return { sampleRate: 16000, ...rest };
}

/** Features of one audio file per the config (mono, resampled to the options' sampleRate). */
export async function featurize(file: string, cfg: ExperimentConfig): Promise<FeatureItem> {
  const opts = featureOptions(cfg);
  const sr = opts.sampleRate as number;
  const a = await readAudio(file, { mono: true });
  const x = a.sampleRate === sr ? a.channels[0] : resample(a.channels[0], a.sampleRate, sr);
  const fn = EXTRACTORS[cfg.features.type] as (s: Float32Array, o: Record<string, unknown>) => FeatureItem;
  return fn(x, opts);
}

/** Features of every entry (cached), in entry order; `onProgress(done, total)` after each. */
export async function featurizeEntries(entries: readonly ManifestEntry[], cfg: ExperimentConfig, onProgress?: (done: number, total: number) => void): Promise<FeatureItem[]> {
  const dir = cacheDir(cfg);
  const cache = dir ? new FeatureCache(dir) : null;
  const key = { type: cfg.features.type, ...featureOptions(cfg) };
  const out: FeatureItem[] = [];
  for (const e of entries) {
    const compute = (): Promise<FeatureItem> => featurize(e.audio, cfg);
    out.push(cache ? await cache.get(e.audio, key, compute) : await compute());
    onProgress?.(out.length, entries.length);
  }
  return out;
}
