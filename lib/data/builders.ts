/**
 * Manifest builders for the directory layouts speech corpora ship in. Durations come from audio
 * headers (probeAudio reads ~4 KiB per file, no decoding), so LibriSpeech train-clean-100 (28,539
 * files) takes seconds, not the minutes a full decode would.
 *
 * Glossary:
 *   LibriSpeech   <root>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt with lines
 *                 "<speaker>-<chapter>-<utt> TEXT", audio <speaker>-<chapter>-<utt>.flac beside it
 *   VoiceBank-DEMAND  <root>/clean_<set>/ and <root>/noisy_<set>/ with the same file names
 *                 (p232_001.wav), optional transcripts in <root>/<set>_txt/<id>.txt or
 *                 <root>/txt/<id>.txt; speaker = the id up to the first '_'
 *   folder        a folder of WAV/FLAC files plus a transcript file of "<id> <text>" lines
 *
 * Every line or file that cannot become an entry is a ManifestProblem with file and line, reported
 * (onError 'throw', default) or collected (onError 'skip').
 */

import * as fs from 'fs';
import * as path from 'path';
import { probeAudio } from '../audio/flac';
import { Manifest, ManifestEntry, ManifestProblem, formatProblem } from './manifest';

export interface BuildOptions {
  onError?: 'skip' | 'throw';
}

class Collector {
  readonly entries: ManifestEntry[] = [];
  readonly problems: ManifestProblem[] = [];
  private readonly ids = new Map<string, string>();
  constructor(private readonly op: string, private readonly onError: 'skip' | 'throw') {
    if (onError !== 'skip' && onError !== 'throw') throw new Error(`[${op}] onError must be 'skip' or 'throw', got ${JSON.stringify(onError)}`);
  }
  problem(file: string, line: number, message: string, id?: string): void {
    const p: ManifestProblem = { file, line, message, ...(id !== undefined ? { id } : {}) };
    if (this.onError === 'throw') throw new Error(`[${this.op}] ${formatProblem(p)}`);
    this.problems.push(p);
  }
  /** Adds an entry after probing its audio; a missing or unreadable file becomes a problem. */
  add(file: string, line: number, e: Omit<ManifestEntry, 'duration'>): void {
    const where = `${file}:${line}`;
    const prev = this.ids.get(e.id);
    if (prev !== undefined) return this.problem(file, line, `duplicate id (first at ${prev})`, e.id);
    let duration: number;
    try {
      if (!fs.existsSync(e.audio)) return this.problem(file, line, `audio file not found: ${e.audio}`, e.id);
      if (e.noisy !== undefined && !fs.existsSync(e.noisy)) return this.problem(file, line, `noisy audio file not found: ${e.noisy}`, e.id);
      duration = probeAudio(e.audio).duration;
    } catch (err) {
      return this.problem(file, line, (err as Error).message, e.id);
    }
    if (!(duration > 0)) return this.problem(file, line, `audio ${e.audio} has no samples`, e.id);
    this.ids.set(e.id, where);
    this.entries.push({ ...e, duration });
  }
  result(): Manifest {
    return { entries: this.entries, problems: this.problems };
  }
}

/** Splits "<id> <text>" lines; returns [lineNumber, id, text] for non-blank lines, and reports a
 *  line with an id but no text as a problem. */
function transcriptLines(file: string, c: Collector): Array<[number, string, string]> {
  const out: Array<[number, string, string]> = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (!m) return c.problem(file, i + 1, `expected "<id> <text>", got ${JSON.stringify(line.slice(0, 60))}`);
    out.push([i + 1, m[1], m[2]]);
  });
  return out;
}

const sortedDirs = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).filter((x) => x.isDirectory()).map((x) => x.name).sort();

/** Builds a manifest from a LibriSpeech-style tree (<speaker>/<chapter>/<speaker>-<chapter>.trans.txt
 *  plus one FLAC per line). Entries are sorted by speaker, chapter, line; speaker is set; text is
 *  kept as written (upper case in LibriSpeech). A chapter folder without its .trans.txt, a
 *  transcript line whose audio is missing, and malformed lines are problems with file:line. */
export function buildLibriSpeechManifest(root: string, opts: BuildOptions = {}): Manifest {
  const c = new Collector('buildLibriSpeechManifest', opts.onError ?? 'throw');
  if (!fs.existsSync(root)) throw new Error(`[buildLibriSpeechManifest] ${root}: folder not found`);
  for (const spk of sortedDirs(root)) {
    for (const chap of sortedDirs(path.join(root, spk))) {
      const dir = path.join(root, spk, chap);
      const trans = path.join(dir, `${spk}-${chap}.trans.txt`);
      if (!fs.existsSync(trans)) {
        c.problem(dir, 0, `no transcript ${spk}-${chap}.trans.txt in this chapter folder`);
        continue;
      }
      for (const [line, id, text] of transcriptLines(trans, c)) {
        if (!id.startsWith(`${spk}-${chap}-`)) {
          c.problem(trans, line, `utterance id ${id} does not start with ${spk}-${chap}-`, id);
          continue;
        }
        c.add(trans, line, { id, audio: path.join(dir, `${id}.flac`), text, speaker: spk });
      }
    }
  }
  return c.result();
}

/** Builds a manifest from VoiceBank-DEMAND folders: every clean_<set> folder is paired with
 *  noisy_<set> by file name (`sets` restricts which, e.g. ['trainset_28spk_wav']). Each entry has
 *  audio = clean file, noisy = noisy file, speaker from the id, and text when a transcript
 *  <set-without-_wav>_txt/<id>.txt or txt/<id>.txt exists. A clean file without its noisy twin (or
 *  the reverse) is a problem naming the file (line 0). */
export function buildVoiceBankManifest(root: string, opts: BuildOptions & { sets?: string[] } = {}): Manifest {
  const c = new Collector('buildVoiceBankManifest', opts.onError ?? 'throw');
  if (!fs.existsSync(root)) throw new Error(`[buildVoiceBankManifest] ${root}: folder not found`);
  const dirs = sortedDirs(root);
  const sets = dirs.filter((d) => d.startsWith('clean_')).map((d) => d.slice(6)).filter((s) => !opts.sets || opts.sets.includes(s));
  if (sets.length === 0) throw new Error(`[buildVoiceBankManifest] ${root}: no clean_* folders${opts.sets ? ` for sets ${opts.sets.join(', ')}` : ''}`);
  const audioExt = /\.(wav|flac)$/i;
  for (const set of sets) {
    const cleanDir = path.join(root, `clean_${set}`);
    const noisyDir = path.join(root, `noisy_${set}`);
    if (!fs.existsSync(noisyDir)) {
      c.problem(cleanDir, 0, `no matching folder noisy_${set}`);
      continue;
    }
    const clean = fs.readdirSync(cleanDir).filter((f) => audioExt.test(f)).sort();
    const noisy = new Set(fs.readdirSync(noisyDir).filter((f) => audioExt.test(f)));
    const txtDirs = [path.join(root, `${set.replace(/_wav$/, '')}_txt`), path.join(root, 'txt')];
    for (const f of clean) {
      const id = f.replace(audioExt, '');
      if (!noisy.has(f)) {
        c.problem(path.join(cleanDir, f), 0, `no noisy twin ${path.join(noisyDir, f)}`, id);
        continue;
      }
      noisy.delete(f);
      const txt = txtDirs.map((d) => path.join(d, `${id}.txt`)).find((p) => fs.existsSync(p));
      const text = txt !== undefined ? fs.readFileSync(txt, 'utf8').trim() : undefined;
      c.add(path.join(cleanDir, f), 0, {
        id, audio: path.join(cleanDir, f), noisy: path.join(noisyDir, f), speaker: id.split('_')[0],
        ...(text !== undefined ? { text } : {}),
      });
    }
    for (const f of [...noisy].sort()) c.problem(path.join(noisyDir, f), 0, `no clean twin ${path.join(cleanDir, f)}`, f.replace(audioExt, ''));
  }
  return c.result();
}

/** Builds a manifest from a folder of WAV/FLAC files and a transcript file of "<id> <text>" lines
 *  (default <dir>/transcript.txt); audio is <dir>/<id>.wav or .flac. A transcript line without
 *  audio is a problem at its line; audio files without a transcript line are problems too (line 0)
 *  unless `allowUntranscribed`, which adds them without text. */
export function buildFolderManifest(dir: string, opts: BuildOptions & { transcript?: string; allowUntranscribed?: boolean } = {}): Manifest {
  const c = new Collector('buildFolderManifest', opts.onError ?? 'throw');
  const trans = opts.transcript ?? path.join(dir, 'transcript.txt');
  if (!fs.existsSync(trans)) throw new Error(`[buildFolderManifest] ${trans}: transcript file not found`);
  const audio = new Map<string, string>();
  for (const f of fs.readdirSync(dir).sort()) {
    const m = /^(.+)\.(wav|flac)$/i.exec(f);
    if (m) audio.set(m[1], path.join(dir, f));
  }
  const used = new Set<string>();
  for (const [line, id, text] of transcriptLines(trans, c)) {
    const file = audio.get(id);
    if (file === undefined) {
      c.problem(trans, line, `no audio file ${id}.wav or ${id}.flac in ${dir}`, id);
      continue;
    }
    used.add(id);
    c.add(trans, line, { id, audio: file, text });
  }
  for (const [id, file] of audio) {
    if (used.has(id)) continue;
    if (opts.allowUntranscribed) c.add(file, 0, { id, audio: file });
    else c.problem(file, 0, `audio file has no line in ${trans}`, id);
  }
  return c.result();
}
