/**
 * Writers of the standard corpus layouts from any manifest (typically a synth corpus), so that the
 * code paths for real LibriSpeech and VoiceBank-DEMAND (builders, data-root checks, `reproduce
 * --preset paper --dry-run`) run on generated data without a download.
 *
 * Glossary:
 *   source      a synth corpus folder (its train/dev/test.jsonl, see corpus.ts) or entries per split
 *   LibriSpeech <out>/LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac and
 *               <speaker>-<chapter>.trans.txt with lines "<speaker>-<chapter>-<utt> UPPER CASE TEXT";
 *               speaker and chapter are integers, utt 4 digits, 16-bit FLAC (as OpenSLR ships it)
 *   VoiceBank   <out>/VoiceBank-DEMAND/clean_<set>_wav/, noisy_<set>_wav/ (same names, p226_001.wav)
 *               and <set>_txt/p226_001.txt; sets trainset_28spk and testset, 16-bit WAV
 *   speaker no. speakers of the source sorted by name get 1, 2, 3 ... (LibriSpeech) or p226, p227 ...
 *               (VoiceBank), so the same source always gives the same names
 *
 * Each subset/set folder is written under a hidden staging name and renamed into place when done,
 * so an interrupted run never leaves a partial folder under a standard name; an existing one is
 * only replaced with `overwrite: true`.
 */

import * as fs from 'fs';
import * as path from 'path';
import { readAudio } from '../audio/flac';
import { initFlacEncoder, writeFlacSync } from '../audio/flac_encode';
import { resample } from '../audio/resample';
import { writeWav } from '../audio/wav';
import { SplitName } from './corpus';
import { ManifestEntry, readManifest } from './manifest';
import { noisyFromSpec } from './noise';

/** A synth corpus folder, or entries per split (manifest entries with audio paths). */
export type LayoutSource = string | Partial<Record<SplitName, readonly ManifestEntry[]>>;

export interface LayoutCommonOptions {
  /** resample to this rate (default: keep the source's rate; LibriSpeech is 16 kHz) */
  sampleRate?: number;
  /** replace existing subset/set folders (default false: throw before writing anything) */
  overwrite?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface LibriSpeechLayoutOptions extends LayoutCommonOptions {
  /** LibriSpeech subset name → source split (default train-clean-100/dev-clean/test-clean ← train/dev/test) */
  subsets?: Record<string, SplitName>;
  /** utterances per chapter folder (default 50; LibriSpeech chapters hold ~49 on average) */
  uttsPerChapter?: number;
  /** FLAC compression level 0..8 (default 5) */
  compression?: number;
}

export interface VoiceBankLayoutOptions extends LayoutCommonOptions {
  /** VoiceBank set name (without clean_/_wav) → source split (default trainset_28spk ← train, testset ← test) */
  sets?: Record<string, SplitName>;
  /** write <set>_txt/<id>.txt for entries with text (default true) */
  text?: boolean;
}

/** One written utterance: where it came from and what it is called now. */
export interface LayoutUtterance {
  /** LibriSpeech subset or VoiceBank set (e.g. 'train-clean-100', 'trainset_28spk_wav') */
  subset: string;
  sourceId: string;
  id: string;
  speaker: string;
  audio: string;
  /** VoiceBank only */
  noisy?: string;
  /** as written: upper-cased and whitespace-collapsed for LibriSpeech, trimmed for VoiceBank */
  text?: string;
}

export interface LayoutResult {
  /** the corpus root: <out>/LibriSpeech or <out>/VoiceBank-DEMAND */
  root: string;
  /** per subset (LibriSpeech) or set (VoiceBank, e.g. 'trainset_28spk_wav'): its folder (the clean
   *  one for VoiceBank), utterance and speaker counts */
  subsets: Record<string, { dir: string; count: number; speakers: number }>;
  utterances: LayoutUtterance[];
}

const SPLITS: SplitName[] = ['train', 'dev', 'test'];

/** Reads the entries of the splits that `wanted` names from a corpus folder or a given record. */
function loadSource(op: string, source: LayoutSource, wanted: SplitName[]): Record<SplitName, readonly ManifestEntry[]> {
  const out: Record<SplitName, readonly ManifestEntry[]> = { train: [], dev: [], test: [] };
  if (typeof source === 'string') {
    if (!fs.existsSync(source)) throw new Error(`[${op}] ${source}: corpus folder not found`);
    for (const s of SPLITS) {
      const file = path.join(source, `${s}.jsonl`);
      if (fs.existsSync(file)) out[s] = readManifest(file).entries;
      else if (wanted.includes(s)) throw new Error(`[${op}] ${source}: no ${s}.jsonl; expected a corpus folder from data.generateCorpus (train/dev/test.jsonl)`);
    }
    return out;
  }
  if (typeof source !== 'object' || source === null) throw new Error(`[${op}] source must be a corpus folder or { train, dev, test } entry lists, got ${typeof source}`);
  for (const s of Object.keys(source)) {
    if (!SPLITS.includes(s as SplitName)) throw new Error(`[${op}] source has split ${JSON.stringify(s)}; expected train, dev or test`);
    const list = source[s as SplitName];
    if (!Array.isArray(list)) throw new Error(`[${op}] source.${s} must be an array of manifest entries`);
    out[s as SplitName] = list;
  }
  for (const s of wanted) if (out[s].length === 0) throw new Error(`[${op}] source split ${s} has no entries`);
  return out;
}

function checkMapping(op: string, name: string, map: Record<string, SplitName>, nameOk: RegExp): Array<[string, SplitName]> {
  const pairs = Object.entries(map);
  if (pairs.length === 0) throw new Error(`[${op}] ${name} is empty; name at least one`);
  for (const [k, v] of pairs) {
    if (!nameOk.test(k)) throw new Error(`[${op}] ${name} key ${JSON.stringify(k)} is not a plain folder name`);
    if (!SPLITS.includes(v)) throw new Error(`[${op}] ${name}.${k} must be train, dev or test, got ${JSON.stringify(v)}`);
  }
  return pairs;
}

/** Sorted distinct speaker names over all splits; entries without one count as speaker ''. */
function speakerOrder(src: Record<SplitName, readonly ManifestEntry[]>): Map<string, number> {
  const names = new Set<string>();
  for (const s of SPLITS) for (const e of src[s]) names.add(e.speaker ?? '');
  return new Map([...names].sort().map((n, i) => [n, i]));
}

/** Mono samples of an entry's audio at the target rate (pcm16 WAV sources come through exactly). */
async function loadMono(op: string, id: string, file: string, rate: number | undefined): Promise<{ x: Float32Array; rate: number }> {
  const a = await readAudio(file, { mono: true }).catch((e: Error) => {
    throw new Error(`[${op}] entry ${JSON.stringify(id)}: ${e.message.replace(/^\[\w+\] /, '')}`);
  });
  let x = a.channels[0];
  if (rate !== undefined && rate !== a.sampleRate) x = resample(x, a.sampleRate, rate);
  return { x, rate: rate ?? a.sampleRate };
}

/** Creates `<root>/.<name>.partial-*`, lets `fill` write into it, then renames it to `<root>/<name>`
 *  (replacing an old folder only when `overwrite`). On any error the staging folder is removed. */
async function stageFolders(root: string, names: string[], overwrite: boolean, fill: (dirs: Record<string, string>) => Promise<void>): Promise<void> {
  fs.mkdirSync(root, { recursive: true });
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dirs: Record<string, string> = {};
  for (const n of names) dirs[n] = path.join(root, `.${n}.partial-${tag}`);
  try {
    for (const n of names) fs.mkdirSync(dirs[n]);
    await fill(dirs);
    for (const n of names) {
      const final = path.join(root, n);
      if (!fs.existsSync(dirs[n])) {
        // `fill` dropped this folder (nothing to put in it): an old one would now be stale
        if (overwrite) fs.rmSync(final, { recursive: true, force: true });
        continue;
      }
      if (fs.existsSync(final)) {
        if (!overwrite) throw new Error(`${final} appeared while writing`);
        const old = path.join(root, `.${n}.old-${tag}`);
        fs.renameSync(final, old);
        fs.renameSync(dirs[n], final);
        fs.rmSync(old, { recursive: true, force: true });
      } else {
        fs.renameSync(dirs[n], final);
      }
    }
  } finally {
    for (const n of names) fs.rmSync(dirs[n], { recursive: true, force: true });
  }
}

function refuseExisting(op: string, root: string, names: string[], overwrite: boolean): void {
  if (overwrite) return;
  const there = names.filter((n) => fs.existsSync(path.join(root, n)));
  if (there.length) throw new Error(`[${op}] ${root}: ${there.join(', ')} already exist${there.length === 1 ? 's' : ''}; pass overwrite: true to replace`);
}

/** Writes a LibriSpeech-layout copy of `source` under `<outDir>/LibriSpeech/` (see the module
 *  glossary), one subset per `subsets` entry: each source utterance becomes a 16-bit FLAC (mono;
 *  resampled when `sampleRate` is given) and a transcript line in upper case with single spaces, so
 *  that buildLibriSpeechManifest(<root>/<subset>) reads back the same utterances and texts. Speakers
 *  are numbered 1.. in name order; each speaker's utterances (sorted by id) fill chapters of
 *  `uttsPerChapter`, numbered speaker·1000 + k. An entry without text throws (LibriSpeech has a
 *  transcript for every file). Returns the folders and the id map. */
export async function writeLibriSpeechLayout(source: LayoutSource, outDir: string, opts: LibriSpeechLayoutOptions = {}): Promise<LayoutResult> {
  const op = 'writeLibriSpeechLayout';
  const subsets = checkMapping(op, 'subsets', opts.subsets ?? { 'train-clean-100': 'train', 'dev-clean': 'dev', 'test-clean': 'test' }, /^[A-Za-z0-9][\w.-]*$/);
  const per = opts.uttsPerChapter ?? 50;
  if (!Number.isInteger(per) || per < 1 || per > 9999) throw new Error(`[${op}] uttsPerChapter must be an integer 1..9999, got ${per}`);
  const src = loadSource(op, source, subsets.map(([, s]) => s));
  const root = path.join(outDir, 'LibriSpeech');
  refuseExisting(op, root, subsets.map(([n]) => n), opts.overwrite ?? false);
  const spkNo = speakerOrder(src);
  // Check every entry before writing anything.
  for (const [name, split] of subsets) {
    for (const e of src[split]) {
      if (typeof e.text !== 'string' || e.text.trim() === '') throw new Error(`[${op}] entry ${JSON.stringify(e.id)} (split ${split}, for ${name}) has no text; LibriSpeech needs a transcript per utterance`);
    }
  }
  await initFlacEncoder();
  const total = subsets.reduce((a, [, s]) => a + src[s].length, 0);
  const utterances: LayoutUtterance[] = [];
  const result: LayoutResult = { root, subsets: {}, utterances };
  const chaptersUsed = new Map<number, number>(); // speaker no. → chapters so far (unique across subsets)
  let done = 0;
  await stageFolders(root, subsets.map(([n]) => n), opts.overwrite ?? false, async (dirs) => {
    for (const [name, split] of subsets) {
      const bySpk = new Map<number, ManifestEntry[]>();
      for (const e of src[split]) {
        const k = spkNo.get(e.speaker ?? '')! + 1;
        if (!bySpk.has(k)) bySpk.set(k, []);
        bySpk.get(k)!.push(e);
      }
      let count = 0;
      for (const k of [...bySpk.keys()].sort((a, b) => a - b)) {
        const list = bySpk.get(k)!.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        for (let c0 = 0; c0 < list.length; c0 += per) {
          const ci = chaptersUsed.get(k) ?? 0;
          if (ci >= 1000) throw new Error(`[${op}] speaker ${k} needs more than 1000 chapters; raise uttsPerChapter`);
          chaptersUsed.set(k, ci + 1);
          const chap = String(k * 1000 + ci);
          const dir = path.join(dirs[name], String(k), chap);
          const lines: string[] = [];
          for (let u = 0; u < Math.min(per, list.length - c0); u++) {
            const e = list[c0 + u];
            const id = `${k}-${chap}-${String(u).padStart(4, '0')}`;
            const { x, rate } = await loadMono(op, e.id, e.audio, opts.sampleRate);
            const text = e.text!.trim().split(/\s+/).join(' ').toUpperCase();
            writeFlacSync(path.join(dir, `${id}.flac`), x, rate, { compression: opts.compression ?? 5 });
            lines.push(`${id} ${text}`);
            utterances.push({ subset: name, sourceId: e.id, id, speaker: String(k), audio: path.join(root, name, String(k), chap, `${id}.flac`), text });
            count++;
            opts.onProgress?.(++done, total);
          }
          fs.writeFileSync(path.join(dir, `${k}-${chap}.trans.txt`), lines.join('\n') + '\n');
        }
      }
      result.subsets[name] = { dir: path.join(root, name), count, speakers: bySpk.size };
    }
  });
  return result;
}

/** Writes a VoiceBank-DEMAND-layout copy of `source` under `<outDir>/VoiceBank-DEMAND/`: for each
 *  `sets` entry (default trainset_28spk ← train, testset ← test), clean_<set>_wav/ and
 *  noisy_<set>_wav/ with the same file names p<226+k>_<nnn>.wav (16-bit mono WAV; speakers in name
 *  order, utterances numbered from 001 per speaker in id order), and <set>_txt/<id>.txt when entries
 *  have text. The noisy file comes from the entry's `noisy` path, or is mixed from its `noise`
 *  recipe (babble talkers from the same split); an entry with neither throws before anything is
 *  written. buildVoiceBankManifest(root) reads the result back as clean/noisy pairs. */
export async function writeVoiceBankLayout(source: LayoutSource, outDir: string, opts: VoiceBankLayoutOptions = {}): Promise<LayoutResult> {
  const op = 'writeVoiceBankLayout';
  const sets = checkMapping(op, 'sets', opts.sets ?? { trainset_28spk: 'train', testset: 'test' }, /^[A-Za-z0-9][\w.-]*$/);
  const src = loadSource(op, source, sets.map(([, s]) => s));
  const root = path.join(outDir, 'VoiceBank-DEMAND');
  const withText = opts.text ?? true;
  // <set>_txt is always staged (and dropped when empty), so that overwriting without text also
  // removes an old transcript folder that would no longer match the audio
  const folders = (set: string): string[] => [`clean_${set}_wav`, `noisy_${set}_wav`, `${set}_txt`];
  refuseExisting(op, root, sets.flatMap(([s]) => folders(s)), opts.overwrite ?? false);
  for (const [set, split] of sets) {
    for (const e of src[split]) {
      if (e.noisy === undefined && e.noise === undefined) {
        throw new Error(`[${op}] entry ${JSON.stringify(e.id)} (split ${split}, for ${set}) has no noisy copy (neither "noisy" nor "noise"); generate the corpus with noisy: true`);
      }
    }
  }
  const spkNo = speakerOrder(src);
  const total = sets.reduce((a, [, s]) => a + src[s].length, 0);
  const utterances: LayoutUtterance[] = [];
  const result: LayoutResult = { root, subsets: {}, utterances };
  let done = 0;
  await stageFolders(root, sets.flatMap(([s]) => folders(s)), opts.overwrite ?? false, async (dirs) => {
    for (const [set, split] of sets) {
      const byId = new Map(src[split].map((e) => [e.id, e]));
      const list = src[split].slice().sort((a, b) => {
        const d = spkNo.get(a.speaker ?? '')! - spkNo.get(b.speaker ?? '')!;
        return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
      });
      const nextUtt = new Map<number, number>();
      let hasText = false;
      for (const e of list) {
        const k = spkNo.get(e.speaker ?? '')!;
        const u = (nextUtt.get(k) ?? 0) + 1;
        nextUtt.set(k, u);
        const spk = `p${226 + k}`;
        const id = `${spk}_${String(u).padStart(3, '0')}`;
        const clean = await loadMono(op, e.id, e.audio, opts.sampleRate);
        let noisy: Float32Array;
        if (e.noisy !== undefined) {
          const nz = await loadMono(op, e.id, e.noisy, opts.sampleRate);
          if (nz.rate !== clean.rate || nz.x.length !== clean.x.length) {
            throw new Error(`[${op}] entry ${JSON.stringify(e.id)}: noisy ${e.noisy} has ${nz.x.length} samples at ${nz.rate} Hz, clean has ${clean.x.length} at ${clean.rate} Hz`);
          }
          noisy = nz.x;
        } else {
          const talkers: Float32Array[] = [];
          for (const t of e.noise!.babble ?? []) {
            const te = byId.get(t);
            if (!te) throw new Error(`[${op}] entry ${JSON.stringify(e.id)}: babble talker ${JSON.stringify(t)} is not in split ${split}`);
            talkers.push((await loadMono(op, te.id, te.audio, clean.rate)).x);
          }
          noisy = noisyFromSpec(clean.x, clean.rate, e.noise!, talkers);
        }
        const cleanFile = path.join(dirs[`clean_${set}_wav`], `${id}.wav`);
        writeWav(cleanFile, { sampleRate: clean.rate, channels: [clean.x] }, { format: 'pcm16' });
        writeWav(path.join(dirs[`noisy_${set}_wav`], `${id}.wav`), { sampleRate: clean.rate, channels: [noisy] }, { format: 'pcm16' });
        const text = typeof e.text === 'string' && e.text.trim() !== '' ? e.text.trim() : undefined;
        if (withText && text !== undefined) {
          fs.writeFileSync(path.join(dirs[`${set}_txt`], `${id}.txt`), text + '\n');
          hasText = true;
        }
        utterances.push({
          subset: `${set}_wav`, sourceId: e.id, id, speaker: spk, audio: path.join(root, `clean_${set}_wav`, `${id}.wav`),
          noisy: path.join(root, `noisy_${set}_wav`, `${id}.wav`), ...(withText && text !== undefined ? { text } : {}),
        });
        opts.onProgress?.(++done, total);
      }
      // an empty <set>_txt folder would claim transcripts that do not exist
      if (!hasText) fs.rmSync(dirs[`${set}_txt`], { recursive: true, force: true });
      result.subsets[`${set}_wav`] = { dir: path.join(root, `clean_${set}_wav`), count: list.length, speakers: nextUtt.size };
    }
  });
  return result;
}
