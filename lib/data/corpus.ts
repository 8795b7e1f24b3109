/**
 * Embedded corpus generation: a speech corpus made on the spot, so tests, examples and CI train
 * and evaluate on real audio/transcript pairs without downloading anything.
 *
 * Glossary:
 *   engine   'synth' (lib/data/synth: pure TypeScript formant synthesiser, exact alignments) or
 *            'espeak' (espeak-ng on PATH: more natural voices, no alignments)
 *   split    train/dev/test; speakers are assigned to exactly one split (speaker-disjoint), by a
 *            seeded shuffle, in the given proportions (at least one speaker in each non-empty
 *            split)
 *   layout   <outDir>/wav/<speaker>/<id>.wav, <outDir>/noisy/<speaker>/<id>.wav,
 *            <outDir>/{train,dev,test}.jsonl, <outDir>/lexicon.txt (synth), <outDir>/corpus.json
 *   id       <speaker>-<index, 5 digits>; utterance i is spoken by speaker i mod numSpeakers
 *
 * Every utterance draws from its own seed stream (deriveSeed(seed, 'utt', i)), so the corpus is
 * byte-identical for a seed whatever the generation order.
 */

import * as path from 'path';
import { readWav, writeFileAtomic, writeWav } from '../audio/wav';
import { EspeakSpeaker, espeakUtterance, findEspeak, makeEspeakSpeaker } from './espeak';
import { ManifestEntry, NoiseType, writeManifest } from './manifest';
import { drawNoiseSpec, noisyFromSpec } from './noise';
import { Rng, deriveSeed, shuffleInPlace } from './rng';
import { Speaker, makeLexicon, makeSpeaker, synthesizeUtterance } from './synth';

export type SplitName = 'train' | 'dev' | 'test';

export interface CorpusOptions {
  outDir: string;
  engine?: 'synth' | 'espeak';
  numUtterances: number;
  numSpeakers: number;
  seed: number;
  sampleRate?: number;
  /** proportions of speakers per split (default 0.8 / 0.1 / 0.1) */
  splits?: Partial<Record<SplitName, number>>;
  /** utterance length range in seconds for the synth engine (default 2..4) */
  minSeconds?: number;
  maxSeconds?: number;
  /** synth lexicon size (default 400 words) */
  lexiconSize?: number;
  /** also write noisy copies (train/dev SNRs 0/5/10/15 dB, test 2.5/7.5/12.5/17.5 dB) */
  noisy?: { types?: NoiseType[] } | boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface CorpusResult {
  manifests: Record<SplitName, string>;
  counts: Record<SplitName, number>;
  speakers: Record<SplitName, string[]>;
  /** total seconds of audio and wall-clock seconds spent */
  audioSeconds: number;
  elapsedSeconds: number;
}

/** Assigns speaker indices to splits, speaker-disjoint, from a seeded shuffle. Proportions are
 *  normalised; every split with a positive share gets at least one speaker, so numSpeakers must be
 *  at least the number of such splits. */
export function splitSpeakers(numSpeakers: number, seed: number, props: Partial<Record<SplitName, number>> = {}): Record<SplitName, number[]> {
  const p: Record<SplitName, number> = { train: props.train ?? 0.8, dev: props.dev ?? 0.1, test: props.test ?? 0.1 };
  const names: SplitName[] = ['train', 'dev', 'test'];
  for (const s of names) {
    if (!(p[s] >= 0)) throw new Error(`[generateCorpus] splits.${s} must be ≥ 0, got ${p[s]}`);
  }
  const used = names.filter((s) => p[s] > 0);
  if (used.length === 0) throw new Error('[generateCorpus] all split proportions are 0');
  if (numSpeakers < used.length) throw new Error(`[generateCorpus] ${used.length} non-empty splits need at least ${used.length} speakers, got ${numSpeakers}`);
  const total = used.reduce((a, s) => a + p[s], 0);
  const n: Record<SplitName, number> = { train: 0, dev: 0, test: 0 };
  for (const s of used) n[s] = Math.max(1, Math.round((numSpeakers * p[s]) / total));
  // fix rounding on the largest split so the counts add up
  const big = used.reduce((a, b) => (p[a] >= p[b] ? a : b));
  n[big] += numSpeakers - (n.train + n.dev + n.test);
  if (n[big] < 1) throw new Error(`[generateCorpus] cannot split ${numSpeakers} speakers in proportions ${JSON.stringify(p)}`);
  const order = shuffleInPlace(Array.from({ length: numSpeakers }, (_, i) => i), new Rng(deriveSeed(seed, 'split')));
  return { train: order.slice(0, n.train), dev: order.slice(n.train, n.train + n.dev), test: order.slice(n.train + n.dev) };
}

/** Generates a corpus (see the module glossary for the layout) and returns the manifest path per
 *  split. Same options → byte-identical WAV files and manifests. The espeak engine throws if
 *  espeak-ng is not on PATH. Noisy copies, when asked for, are mixed from seeded recipes kept in
 *  each entry's `noise` field (babble uses 3–6 other utterances of the same split). */
export async function generateCorpus(opts: CorpusOptions): Promise<CorpusResult> {
  const t0 = Date.now();
  const engine = opts.engine ?? 'synth';
  const fs0 = opts.sampleRate ?? 16000;
  const { numUtterances, numSpeakers, seed, outDir } = opts;
  if (engine !== 'synth' && engine !== 'espeak') throw new Error(`[generateCorpus] engine must be 'synth' or 'espeak', got ${JSON.stringify(engine)}`);
  if (!Number.isInteger(numUtterances) || numUtterances < 1) throw new Error(`[generateCorpus] numUtterances must be a positive integer, got ${numUtterances}`);
  if (!Number.isInteger(numSpeakers) || numSpeakers < 1) throw new Error(`[generateCorpus] numSpeakers must be a positive integer, got ${numSpeakers}`);
  if (!Number.isInteger(seed)) throw new Error(`[generateCorpus] seed must be an integer, got ${seed}`);
  if (engine === 'espeak' && !findEspeak()) throw new Error('[generateCorpus] engine "espeak" needs espeak-ng on PATH (apt-get install espeak-ng)');
  const splitOf = new Map<number, SplitName>();
  const bySplit = splitSpeakers(numSpeakers, seed, opts.splits);
  for (const s of ['train', 'dev', 'test'] as SplitName[]) for (const k of bySplit[s]) splitOf.set(k, s);

  const lexicon = engine === 'synth' ? makeLexicon(seed, opts.lexiconSize ?? 400) : null;
  const synthSpk: Speaker[] = [];
  const espkSpk: EspeakSpeaker[] = [];
  for (let k = 0; k < numSpeakers; k++) {
    if (engine === 'synth') synthSpk.push(makeSpeaker(seed, k));
    else espkSpk.push(makeEspeakSpeaker(seed, k));
  }
  const spkName = (k: number): string => (engine === 'synth' ? synthSpk[k].id : `spk${String(k).padStart(3, '0')}`);

  const entries: Record<SplitName, ManifestEntry[]> = { train: [], dev: [], test: [] };
  let audioSeconds = 0;
  const makeOne = async (i: number): Promise<void> => {
    const k = i % numSpeakers;
    const spk = spkName(k);
    const id = `${spk}-${String(i).padStart(5, '0')}`;
    const uttSeed = deriveSeed(seed, 'utt', i);
    const file = path.join(outDir, 'wav', spk, `${id}.wav`);
    let entry: ManifestEntry;
    if (engine === 'synth') {
      const u = synthesizeUtterance(uttSeed, synthSpk[k], lexicon!, { sampleRate: fs0, minSeconds: opts.minSeconds, maxSeconds: opts.maxSeconds });
      writeWav(file, { sampleRate: fs0, channels: [u.samples] }, { format: 'pcm16' });
      entry = { id, audio: file, duration: u.samples.length / fs0, text: u.text, phones: u.phones, alignment: u.alignment, speaker: spk };
    } else {
      const u = await espeakUtterance(seed, i, espkSpk[k], fs0);
      writeWav(file, { sampleRate: fs0, channels: [u.samples] }, { format: 'pcm16' });
      entry = { id, audio: file, duration: u.samples.length / fs0, text: u.text, phones: u.phones, speaker: `${spk}:${espkSpk[k].voice}` };
    }
    audioSeconds += entry.duration;
    entries[splitOf.get(k)!][i] = entry; // sparse by index: keeps index order under concurrency
  };
  // espeak runs in child processes, so a few in flight use the cores; synth is synchronous anyway.
  const concurrency = engine === 'espeak' ? 4 : 1;
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < numUtterances) {
      const i = next++;
      await makeOne(i);
      opts.onProgress?.(++done, numUtterances);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const lists: Record<SplitName, ManifestEntry[]> = {
    train: entries.train.filter(Boolean), dev: entries.dev.filter(Boolean), test: entries.test.filter(Boolean),
  };

  if (opts.noisy) {
    const types = typeof opts.noisy === 'object' ? opts.noisy.types : undefined;
    for (const s of ['train', 'dev', 'test'] as SplitName[]) addNoisyCopies(lists[s], s, seed, outDir, fs0, types);
  }

  const manifests = {} as Record<SplitName, string>;
  for (const s of ['train', 'dev', 'test'] as SplitName[]) {
    manifests[s] = path.join(outDir, `${s}.jsonl`);
    writeManifest(manifests[s], lists[s]);
  }
  if (lexicon) writeFileAtomic(path.join(outDir, 'lexicon.txt'), lexicon.words.map((w) => `${w.text} ${w.syllables.flat().join(' ')}`).join('\n') + '\n');
  const speakers = {
    train: bySplit.train.map(spkName).sort(), dev: bySplit.dev.map(spkName).sort(), test: bySplit.test.map(spkName).sort(),
  };
  const result: CorpusResult = {
    manifests, counts: { train: lists.train.length, dev: lists.dev.length, test: lists.test.length }, speakers,
    audioSeconds, elapsedSeconds: (Date.now() - t0) / 1000,
  };
  const meta = { engine, seed, numUtterances, numSpeakers, sampleRate: fs0, splits: result.counts, speakers, audioSeconds };
  writeFileAtomic(path.join(outDir, 'corpus.json'), JSON.stringify(meta, null, 2) + '\n');
  return result;
}

/** Adds a `noise` recipe and a written noisy copy to each entry of one split; babble talkers come
 *  from the same split (read back from disk, so memory stays at a few utterances). */
function addNoisyCopies(list: ManifestEntry[], split: SplitName, seed: number, outDir: string, fs0: number, types?: NoiseType[]): void {
  const ids = list.map((e) => e.id);
  const byId = new Map(list.map((e) => [e.id, e]));
  list.forEach((e, i) => {
    const spec = drawNoiseSpec(deriveSeed(seed, 'noisy', split), i, { split, types, pool: ids, self: e.id });
    const clean = readWav(e.audio).channels[0];
    const talkers = (spec.babble ?? []).map((id) => readWav(byId.get(id)!.audio).channels[0]);
    const noisy = noisyFromSpec(clean, fs0, spec, talkers);
    // clean peaks ≤ 0.9 at RMS ≈ −21 dBFS, so even 0 dB mixtures stay under full scale but for rare
    // peaks, which pcm16 saturates; the clean/noisy pair keeps the same speech level
    const file = path.join(outDir, 'noisy', e.speaker?.split(':')[0] ?? 'unknown', `${e.id}.wav`);
    writeWav(file, { sampleRate: fs0, channels: [noisy] }, { format: 'pcm16' });
    e.noise = spec;
    e.noisy = file;
  });
}
