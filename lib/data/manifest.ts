/**
 * Manifests: JSON Lines files, one utterance per line, that every dataset, builder and corpus
 * generator here reads or writes.
 *
 * Glossary:
 *   entry      { id, audio, duration, text?, phones?, alignment?, noisy?, speaker?, noise? }
 *   audio      path of the clean recording; relative paths are relative to the manifest's folder
 *              (so a corpus folder can be moved), and come back absolute from readManifest
 *   noisy      path of a noisy copy of `audio` (speech enhancement pairs)
 *   noise      recipe to make the noisy copy on the fly instead: { type, snrDb, seed, babble? }
 *   alignment  frame-level phone labels as run-length segments [phone, startFrame, endFrame)
 *              with frameShift in seconds (0.01 = 10 ms); segments tile [0, numFrames) exactly
 *   problem    a line that could not be used: { file, line, message }, never silently dropped
 */

import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../audio/wav';

/** [phone, startFrame, endFrame): frames of `frameShift` seconds, end exclusive. */
export type AlignmentSegment = [phone: string, start: number, end: number];

export interface Alignment {
  /** hop between frames in seconds (0.01 = 10 ms) */
  frameShift: number;
  segments: AlignmentSegment[];
}

export type NoiseType = 'white' | 'pink' | 'brown' | 'babble' | 'hum';

/** How to make an entry's noisy copy from its clean audio (see lib/data/noise.ts). */
export interface NoiseSpec {
  type: NoiseType;
  snrDb: number;
  seed: number;
  /** ids of the utterances summed into babble noise (same manifest) */
  babble?: string[];
}

export interface ManifestEntry {
  id: string;
  audio: string;
  /** seconds */
  duration: number;
  text?: string;
  phones?: string[];
  alignment?: Alignment;
  noisy?: string;
  speaker?: string;
  noise?: NoiseSpec;
}

export interface ManifestProblem {
  file: string;
  /** 1-based line number in `file` */
  line: number;
  /** the entry id when the line parsed far enough to have one */
  id?: string;
  message: string;
}

export interface ManifestReadOptions {
  /** 'throw' (default): stop at the first bad line; 'skip': collect it in `problems` and go on */
  onError?: 'skip' | 'throw';
  /** also check that `audio` (and `noisy`) files exist (one stat per entry) */
  checkAudio?: boolean;
}

export interface Manifest {
  entries: ManifestEntry[];
  problems: ManifestProblem[];
}

/** Formats a problem as `file:line: message`, the form editors and terminals jump to. */
export function formatProblem(p: ManifestProblem): string {
  return `${p.file}:${p.line}: ${p.id !== undefined ? `entry ${JSON.stringify(p.id)}: ` : ''}${p.message}`;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one parsed line; returns the problem text or null. Exported for builders and tests. */
export function validateEntry(e: unknown): string | null {
  if (!isObj(e)) return `expected a JSON object, got ${Array.isArray(e) ? 'an array' : typeof e}`;
  if (typeof e.id !== 'string' || e.id.length === 0) return 'missing field "id" (non-empty string)';
  if (typeof e.audio !== 'string' || e.audio.length === 0) return 'missing field "audio" (path string)';
  if (typeof e.duration !== 'number' || !Number.isFinite(e.duration) || e.duration <= 0) {
    return `missing or bad field "duration" (seconds > 0), got ${JSON.stringify(e.duration)}`;
  }
  if (e.text !== undefined && typeof e.text !== 'string') return '"text" must be a string';
  if (e.speaker !== undefined && typeof e.speaker !== 'string') return '"speaker" must be a string';
  if (e.noisy !== undefined && (typeof e.noisy !== 'string' || e.noisy.length === 0)) return '"noisy" must be a path string';
  if (e.phones !== undefined && (!Array.isArray(e.phones) || !e.phones.every((p) => typeof p === 'string' && p.length > 0))) {
    return '"phones" must be an array of non-empty strings';
  }
  if (e.alignment !== undefined) {
    const msg = checkAlignment(e.alignment, e.duration);
    if (msg) return `"alignment": ${msg}`;
  }
  if (e.noise !== undefined) {
    const n = e.noise;
    if (!isObj(n) || !['white', 'pink', 'brown', 'babble', 'hum'].includes(n.type as string)
      || typeof n.snrDb !== 'number' || !Number.isFinite(n.snrDb) || !Number.isInteger(n.seed)) {
      return '"noise" must be { type: white|pink|brown|babble|hum, snrDb: number, seed: integer }';
    }
  }
  return null;
}

/** Checks that segments are [phone, start, end) with integer frames, contiguous from 0, and that
 *  they cover the audio: the last end equals round(duration / frameShift). */
export function checkAlignment(a: unknown, duration: number): string | null {
  if (!isObj(a) || typeof a.frameShift !== 'number' || !(a.frameShift > 0) || !Array.isArray(a.segments)) {
    return 'expected { frameShift: seconds, segments: [[phone, start, end], ...] }';
  }
  let t = 0;
  for (let i = 0; i < a.segments.length; i++) {
    const s = a.segments[i] as unknown;
    if (!Array.isArray(s) || s.length !== 3 || typeof s[0] !== 'string' || !Number.isInteger(s[1]) || !Number.isInteger(s[2])) {
      return `segment ${i} is not [phone, startFrame, endFrame]`;
    }
    if (s[1] !== t || s[2] <= s[1]) return `segment ${i} [${s[1]}, ${s[2]}) does not continue from frame ${t}`;
    t = s[2];
  }
  const frames = Math.round(duration / a.frameShift);
  if (t !== frames) return `segments end at frame ${t} but the audio has ${frames} frames (${duration} s / ${a.frameShift} s)`;
  return null;
}

/** Expands an alignment into one phone label per frame. */
export function alignmentFrames(a: Alignment): string[] {
  const out: string[] = [];
  for (const [p, s, e] of a.segments) for (let i = s; i < e; i++) out.push(p);
  return out;
}

/** Parses manifest text (JSON Lines). `file` names the source in problems and resolves relative
 *  paths; blank lines are ignored. Bad JSON, missing or mistyped fields, duplicate ids and (with
 *  `checkAudio`) missing audio files are problems: thrown as `[readManifest] file:line: message`
 *  with onError 'throw' (default), or collected in `problems` with 'skip'. */
export function parseManifest(text: string, file: string, opts: ManifestReadOptions = {}): Manifest {
  const onError = opts.onError ?? 'throw';
  if (onError !== 'skip' && onError !== 'throw') throw new Error(`[readManifest] onError must be 'skip' or 'throw', got ${JSON.stringify(onError)}`);
  const dir = path.dirname(path.resolve(file));
  const entries: ManifestEntry[] = [];
  const problems: ManifestProblem[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  const report = (line: number, message: string, id?: string): void => {
    const p: ManifestProblem = { file, line, message, ...(id !== undefined ? { id } : {}) };
    if (onError === 'throw') throw new Error(`[readManifest] ${formatProblem(p)}`);
    problems.push(p);
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      report(i + 1, `bad JSON: ${(e as Error).message}`);
      continue;
    }
    const id = isObj(obj) && typeof obj.id === 'string' ? obj.id : undefined;
    const msg = validateEntry(obj);
    if (msg) {
      report(i + 1, msg, id);
      continue;
    }
    const e = obj as unknown as ManifestEntry;
    const prev = seen.get(e.id);
    if (prev !== undefined) {
      report(i + 1, `duplicate id (first on line ${prev})`, e.id);
      continue;
    }
    const entry: ManifestEntry = { ...e, audio: path.resolve(dir, e.audio) };
    if (e.noisy !== undefined) entry.noisy = path.resolve(dir, e.noisy);
    if (opts.checkAudio) {
      const missing = [entry.audio, entry.noisy].find((f) => f !== undefined && !fs.existsSync(f));
      if (missing) {
        report(i + 1, `audio file not found: ${missing}`, e.id);
        continue;
      }
    }
    seen.set(e.id, i + 1);
    entries.push(entry);
  }
  return { entries, problems };
}

/** Reads a JSONL manifest; see parseManifest for the checks. Audio paths come back absolute. */
export function readManifest(file: string, opts: ManifestReadOptions = {}): Manifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`[readManifest] ${file}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseManifest(text, file, opts);
}

/** Writes entries as JSONL, atomically (temp file + rename). Each entry is validated first (a bad one
 *  throws `[writeManifest] entry i ("id"): message` and nothing is written), and audio/noisy paths
 *  are stored relative to the manifest's folder with '/' separators so the corpus can move. */
export function writeManifest(file: string, entries: readonly ManifestEntry[]): void {
  const dir = path.dirname(path.resolve(file));
  const lines: string[] = [];
  const ids = new Set<string>();
  entries.forEach((e, i) => {
    const msg = validateEntry(e) ?? (ids.has(e.id) ? 'duplicate id' : null);
    if (msg) throw new Error(`[writeManifest] ${file}: entry ${i} (${JSON.stringify((e as { id?: unknown }).id)}): ${msg}`);
    ids.add(e.id);
    const rel = (p: string): string => path.relative(dir, path.resolve(dir, p)).split(path.sep).join('/');
    const out: ManifestEntry = { ...e, audio: rel(e.audio) };
    if (e.noisy !== undefined) out.noisy = rel(e.noisy);
    lines.push(JSON.stringify(out));
  });
  writeFileAtomic(file, lines.length ? lines.join('\n') + '\n' : '');
}

/** Total duration in seconds and the number of distinct speakers, for logs and split checks. */
export function manifestStats(entries: readonly ManifestEntry[]): { count: number; hours: number; speakers: number } {
  let secs = 0;
  const spk = new Set<string>();
  for (const e of entries) {
    secs += e.duration;
    if (e.speaker !== undefined) spk.add(e.speaker);
  }
  return { count: entries.length, hours: secs / 3600, speakers: spk.size };
}
