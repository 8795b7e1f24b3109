/**
 * Checks a data root (the `--data-root DIR` of real-data runs) before any training starts: each
 * corpus asked for is found in one of its usual layouts, has the files its builder needs, and a
 * few of its audio files really decode. Everything wrong is gathered into ONE error that says what
 * is missing and which layout was expected, so a user fixes the folder once instead of meeting
 * the problems one crash at a time, hours into a run.
 *
 * Glossary:
 *   LibriSpeech   subsets train-clean-100, dev-clean, test-clean, found as <root>/LibriSpeech/<subset>,
 *                 <root>/<subset> (root is the LibriSpeech folder) or <root>/<subset>/LibriSpeech/<subset>
 *                 (each tarball extracted into its own folder); inside, <speaker>/<chapter>/ with
 *                 <speaker>-<chapter>.trans.txt and one .flac per transcript line
 *   VoiceBank     clean_trainset_28spk_wav/ (or 56spk), noisy_trainset_..._wav/, clean_testset_wav/,
 *                 noisy_testset_wav/, optional trainset_..._txt/ and testset_txt/, found in <root>
 *                 or a subfolder named like VoiceBank-DEMAND, voicebank, DS_10283_2791
 *   probe         a file whose header is read (probeAudio); the first `decode` of them per subset
 *                 are decoded in full (FLAC's MD5 is checked), which catches truncated or corrupt
 *                 files that a header read misses
 *
 * Cost on real data: one readdir per speaker and chapter folder and one read per transcript (585
 * chapters in train-clean-100), plus the probes: about a second, no per-file stat.
 */

import * as fs from 'fs';
import * as path from 'path';
import { probeAudio, readAudio } from '../audio/flac';

export type DataCorpus = 'librispeech' | 'voicebank';

export interface InspectDataRootOptions {
  /** corpora the run needs; only these are looked for */
  need: DataCorpus[];
  /** LibriSpeech subset names (defaults train-clean-100, dev-clean, test-clean) */
  librispeech?: { train?: string; dev?: string; test?: string };
  /** VoiceBank training set: '28spk' (default; falls back to 56spk when only that exists) or '56spk' */
  voicebankTrain?: '28spk' | '56spk';
  /** files per subset/set whose header is read (default 3: first, middle, last) */
  probe?: number;
  /** of those, how many are decoded in full (default 1) */
  decode?: number;
}

export interface LibriSpeechInfo {
  /** subset folders */
  train: string;
  dev: string;
  test: string;
  /** subset names used */
  subsets: { train: string; dev: string; test: string };
  /** utterances (transcript lines with audio) and speakers per subset */
  counts: { train: number; dev: number; test: number };
  speakers: { train: number; dev: number; test: number };
  /** distinct sample rates of the probed files (LibriSpeech: [16000]) */
  sampleRates: number[];
}

export interface VoiceBankSet {
  /** set name as buildVoiceBankManifest's `sets` takes it, e.g. 'trainset_28spk_wav' */
  set: string;
  clean: string;
  noisy: string;
  /** transcript folder when present */
  txt?: string;
}

export interface VoiceBankInfo {
  /** the folder holding the clean_/noisy_ folders: pass it to buildVoiceBankManifest */
  root: string;
  train: VoiceBankSet;
  test: VoiceBankSet;
  /** clean/noisy pairs per set */
  counts: { train: number; test: number };
  sampleRates: number[];
}

export interface DataRootInfo {
  root: string;
  librispeech?: LibriSpeechInfo;
  voicebank?: VoiceBankInfo;
}

/** The error inspectDataRoot throws: the message lists every problem; `problems` has them one by one. */
export class DataRootError extends Error {
  constructor(readonly root: string, readonly problems: string[]) {
    super(problems.length === 1
      ? `[data-root] ${root}: ${problems[0]}`
      : `[data-root] ${root}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DataRootError';
  }
}

const isDir = (p: string): boolean => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};
// Inside a subset, folders are listed as the builders list them (symlinks not followed), so counts
// here match what buildLibriSpeechManifest reads; corpus folders at the top may be symlinks (a
// shared dataset linked into a run's data root is common), so `topDirs` follows them.
const subdirs = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).filter((x) => x.isDirectory()).map((x) => x.name).sort();
const topDirs = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true })
  .filter((x) => x.isDirectory() || (x.isSymbolicLink() && isDir(path.join(d, x.name)))).map((x) => x.name).sort();
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** "a, b, c (and 4 more)" */
function firstFew(items: string[], k = 3): string {
  return items.slice(0, k).join(', ') + (items.length > k ? ` (and ${items.length - k} more)` : '');
}

/** Indices of up to k files spread over n: first, last and evenly between. */
function spread(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  if (k === 1) return [0];
  return [...new Set(Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1))))];
}

/** An archive sitting next to where a folder was expected: the likely cause of "not found". */
function archiveHint(dirs: string[], name: string): string {
  for (const d of dirs) {
    for (const ext of ['.tar.gz', '.tgz', '.tar', '.zip']) {
      const f = path.join(d, name + ext);
      if (fs.existsSync(f)) return `; ${f} is there but not extracted`;
    }
  }
  return '';
}

/** Header-probes the chosen files and decodes the first `decode` of them; returns problems and rates. */
async function probeFiles(label: string, files: string[], probe: number, decode: number, rates: Set<number>): Promise<string[]> {
  const problems: string[] = [];
  const picked = spread(files.length, probe).map((i) => files[i]);
  for (let i = 0; i < picked.length; i++) {
    const f = picked[i];
    try {
      const info = probeAudio(f);
      if (!(info.numFrames > 0)) throw new Error(`${f}: header says it has no samples`);
      rates.add(info.sampleRate);
      if (i < decode) await readAudio(f);
    } catch (e) {
      problems.push(`${label}: unreadable audio: ${(e as Error).message.replace(/^\[\w+\] /, '')}`);
    }
  }
  return problems;
}

const LS_LAYOUT = '<speaker>/<chapter>/*.flac with <speaker>-<chapter>.trans.txt';

/** Finds and checks one LibriSpeech subset; returns its folder and counts, or problems. */
async function checkLibriSpeechSubset(root: string, name: string, o: Required<Pick<InspectDataRootOptions, 'probe' | 'decode'>>, rates: Set<number>):
Promise<{ dir?: string; count: number; speakers: number; problems: string[] }> {
  const label = `LibriSpeech ${name}`;
  const lsDirs = [root, ...(isDir(root) ? topDirs(root).filter((d) => d.toLowerCase() === 'librispeech').map((d) => path.join(root, d)) : [])];
  // <root>/<name>/LibriSpeech/<name> before <root>/<name>: in that layout <root>/<name> holds only 'LibriSpeech'
  const candidates = [...lsDirs.slice(1).map((d) => path.join(d, name)), path.join(root, name, 'LibriSpeech', name), path.join(root, name)];
  const dir = candidates.find(isDir);
  if (!dir) {
    const main = path.join(lsDirs[1] ?? path.join(root, 'LibriSpeech'), name);
    const others = lsDirs.flatMap((d) => topDirs(d).filter((s) => /^(train|dev|test)-(clean|other)(-\d+)?$/.test(s) && s !== name));
    return {
      count: 0, speakers: 0,
      problems: [`${label} not found; expected ${main}/${LS_LAYOUT}${archiveHint(lsDirs, name)}${others.length ? ` (found ${firstFew([...new Set(others)].sort(), 6)})` : ''}`],
    };
  }
  const speakers = subdirs(dir);
  if (speakers.length === 0) return { dir, count: 0, speakers: 0, problems: [`${label} folder ${dir} is empty; expected ${dir}/${LS_LAYOUT}`] };
  const noChapters: string[] = [];
  const noTrans: string[] = [];
  const badLines: string[] = [];
  const noAudio: string[] = [];
  const files: string[] = [];
  for (const spk of speakers) {
    const chapters = subdirs(path.join(dir, spk));
    if (chapters.length === 0) noChapters.push(path.join(dir, spk));
    for (const chap of chapters) {
      const cdir = path.join(dir, spk, chap);
      const names = new Set(fs.readdirSync(cdir));
      const trans = `${spk}-${chap}.trans.txt`;
      if (!names.has(trans)) {
        noTrans.push(path.join(cdir, trans));
        continue;
      }
      const lines = fs.readFileSync(path.join(cdir, trans), 'utf8').split('\n');
      lines.forEach((raw, i) => {
        const line = raw.trim();
        if (line === '') return;
        const m = /^(\S+)\s+\S/.exec(line);
        if (!m || !m[1].startsWith(`${spk}-${chap}-`)) {
          badLines.push(`${path.join(cdir, trans)}:${i + 1}`);
          return;
        }
        if (!names.has(`${m[1]}.flac`)) noAudio.push(path.join(cdir, `${m[1]}.flac`));
        else files.push(path.join(cdir, `${m[1]}.flac`));
      });
    }
  }
  const problems: string[] = [];
  if (noChapters.length) problems.push(`${label}: ${noChapters.length} speaker folder(s) without chapter folders: ${firstFew(noChapters)}; expected ${dir}/${LS_LAYOUT}`);
  if (noTrans.length) problems.push(`${label}: ${noTrans.length} chapter folder(s) without their transcript: missing ${firstFew(noTrans)}`);
  if (badLines.length) problems.push(`${label}: ${badLines.length} transcript line(s) not of the form "<speaker>-<chapter>-<utt> TEXT": ${firstFew(badLines)}`);
  if (noAudio.length) problems.push(`${label}: ${noAudio.length} transcript line(s) without their audio: missing ${firstFew(noAudio)}`);
  if (files.length === 0 && problems.length === 0) problems.push(`${label} at ${dir} has no utterances; expected ${dir}/${LS_LAYOUT}`);
  problems.push(...await probeFiles(label, files, o.probe, o.decode, rates));
  return { dir, count: files.length, speakers: speakers.length, problems };
}

async function checkLibriSpeech(root: string, opts: InspectDataRootOptions, o: Required<Pick<InspectDataRootOptions, 'probe' | 'decode'>>, problems: string[]): Promise<LibriSpeechInfo | undefined> {
  const names = { train: opts.librispeech?.train ?? 'train-clean-100', dev: opts.librispeech?.dev ?? 'dev-clean', test: opts.librispeech?.test ?? 'test-clean' };
  const rates = new Set<number>();
  const info: Partial<LibriSpeechInfo> & { counts: LibriSpeechInfo['counts']; speakers: LibriSpeechInfo['speakers'] } = {
    subsets: names, counts: { train: 0, dev: 0, test: 0 }, speakers: { train: 0, dev: 0, test: 0 },
  };
  const before = problems.length;
  for (const split of ['train', 'dev', 'test'] as const) {
    const r = await checkLibriSpeechSubset(root, names[split], o, rates);
    problems.push(...r.problems);
    info[split] = r.dir;
    info.counts[split] = r.count;
    info.speakers[split] = r.speakers;
  }
  if (problems.length > before) return undefined;
  return { ...(info as LibriSpeechInfo), sampleRates: [...rates].sort((a, b) => a - b) };
}

const VB_LAYOUT = '{clean,noisy}_trainset_28spk_wav/*.wav and {clean,noisy}_testset_wav/*.wav (56spk also accepted)';

/** Checks one VoiceBank clean/noisy folder pair; returns its set, count and problems. */
async function checkVoiceBankSet(vbRoot: string, set: string, label: string, o: Required<Pick<InspectDataRootOptions, 'probe' | 'decode'>>, rates: Set<number>):
Promise<{ info: VoiceBankSet; count: number; problems: string[] }> {
  const clean = path.join(vbRoot, `clean_${set}`);
  const noisy = path.join(vbRoot, `noisy_${set}`);
  const txt = path.join(vbRoot, `${set.replace(/_wav$/, '')}_txt`);
  const info: VoiceBankSet = { set, clean, noisy, ...(isDir(txt) ? { txt } : {}) };
  if (!isDir(noisy)) return { info, count: 0, problems: [`VoiceBank-DEMAND ${label}: ${noisy} not found (the noisy twin of ${clean})${archiveHint([vbRoot], `noisy_${set}`)}`] };
  const audio = /\.(wav|flac)$/i;
  const c = fs.readdirSync(clean).filter((f) => audio.test(f)).sort(byName);
  const n = new Set(fs.readdirSync(noisy).filter((f) => audio.test(f)));
  const problems: string[] = [];
  if (c.length === 0) problems.push(`VoiceBank-DEMAND ${label}: ${clean} has no .wav files`);
  if (n.size === 0) problems.push(`VoiceBank-DEMAND ${label}: ${noisy} has no .wav files`);
  if (problems.length) return { info, count: 0, problems };
  const noTwin = c.filter((f) => !n.has(f));
  const cs = new Set(c);
  const noClean = [...n].filter((f) => !cs.has(f)).sort(byName);
  if (noTwin.length) problems.push(`VoiceBank-DEMAND ${label}: ${noTwin.length} clean file(s) without a noisy twin in ${noisy}: ${firstFew(noTwin)}`);
  if (noClean.length) problems.push(`VoiceBank-DEMAND ${label}: ${noClean.length} noisy file(s) without a clean twin in ${clean}: ${firstFew(noClean)}`);
  const pairs = c.filter((f) => n.has(f));
  const lab = `VoiceBank-DEMAND ${label}`;
  const before = problems.length;
  problems.push(...await probeFiles(lab, pairs.map((f) => path.join(clean, f)), o.probe, o.decode, rates));
  problems.push(...await probeFiles(lab, pairs.map((f) => path.join(noisy, f)), o.probe, o.decode, rates));
  if (problems.length === before) {
    for (const i of spread(pairs.length, o.probe)) {
      const [a, b] = [probeAudio(path.join(clean, pairs[i])), probeAudio(path.join(noisy, pairs[i]))];
      if (a.sampleRate !== b.sampleRate || a.numFrames !== b.numFrames) {
        problems.push(`${lab}: ${pairs[i]} differs between clean (${a.numFrames} samples at ${a.sampleRate} Hz) and noisy (${b.numFrames} at ${b.sampleRate} Hz)`);
      }
    }
  }
  return { info, count: pairs.length, problems };
}

async function checkVoiceBank(root: string, opts: InspectDataRootOptions, o: Required<Pick<InspectDataRootOptions, 'probe' | 'decode'>>, problems: string[]): Promise<VoiceBankInfo | undefined> {
  const named = topDirs(root).filter((d) => /voice.?bank|demand|vctk|ds_10283_2791/i.test(d)).map((d) => path.join(root, d));
  const candidates = [root, ...named];
  const hasClean = (d: string): boolean => topDirs(d).some((s) => /^clean_(train|test)set/.test(s));
  const vbRoot = candidates.find(hasClean);
  if (!vbRoot) {
    const where = named[0] ?? path.join(root, 'VoiceBank-DEMAND');
    problems.push(`VoiceBank-DEMAND not found; expected ${where}/${VB_LAYOUT}${archiveHint(candidates, 'clean_trainset_28spk_wav') || archiveHint(candidates, 'clean_testset_wav')}`);
    return undefined;
  }
  const pref = opts.voicebankTrain ?? '28spk';
  const order = pref === '28spk' ? ['28spk', '56spk'] : ['56spk'];
  const trainSpk = order.find((k) => isDir(path.join(vbRoot, `clean_trainset_${k}_wav`)));
  const rates = new Set<number>();
  const before = problems.length;
  let train: { info: VoiceBankSet; count: number } | undefined;
  let test: { info: VoiceBankSet; count: number } | undefined;
  if (!trainSpk) {
    problems.push(`VoiceBank-DEMAND training set not found in ${vbRoot}; expected clean_trainset_${pref}_wav/ and noisy_trainset_${pref}_wav/${pref === '28spk' ? ' (or 56spk)' : ''}${archiveHint([vbRoot], `clean_trainset_${pref}_wav`)}`);
  } else {
    const r = await checkVoiceBankSet(vbRoot, `trainset_${trainSpk}_wav`, 'training set', o, rates);
    problems.push(...r.problems);
    train = r;
  }
  if (!isDir(path.join(vbRoot, 'clean_testset_wav'))) {
    problems.push(`VoiceBank-DEMAND test set not found in ${vbRoot}; expected clean_testset_wav/ and noisy_testset_wav/${archiveHint([vbRoot], 'clean_testset_wav')}`);
  } else {
    const r = await checkVoiceBankSet(vbRoot, 'testset_wav', 'test set', o, rates);
    problems.push(...r.problems);
    test = r;
  }
  if (problems.length > before || !train || !test) return undefined;
  return { root: vbRoot, train: train.info, test: test.info, counts: { train: train.count, test: test.count }, sampleRates: [...rates].sort((a, b) => a - b) };
}

/** Checks, before any training, that `root` holds each corpus in `need` in a standard layout (see
 *  the module glossary for the accepted variants), that transcripts and audio files are where the
 *  builders look, and that a few files per subset (`probe`, default 3) have valid headers and the
 *  first `decode` (default 1) decode in full. Returns the folders to hand to
 *  buildLibriSpeechManifest (librispeech.train/dev/test) and buildVoiceBankManifest
 *  (voicebank.root with sets [train.set] / [test.set]) with utterance counts. Everything wrong
 *  is thrown as ONE DataRootError, e.g. `[data-root] /x: LibriSpeech train-clean-100 not found;
 *  expected /x/LibriSpeech/train-clean-100/<speaker>/<chapter>/*.flac with
 *  <speaker>-<chapter>.trans.txt`, listing each problem on its own line when there are several. */
export async function inspectDataRoot(root: string, opts: InspectDataRootOptions): Promise<DataRootInfo> {
  const need = opts?.need;
  if (!Array.isArray(need) || need.length === 0 || need.some((c) => c !== 'librispeech' && c !== 'voicebank')) {
    throw new Error(`[data-root] need must list one or more of 'librispeech', 'voicebank', got ${JSON.stringify(need)}`);
  }
  const o = { probe: opts.probe ?? 3, decode: opts.decode ?? 1 };
  if (!Number.isInteger(o.probe) || o.probe < 1) throw new Error(`[data-root] probe must be a positive integer, got ${o.probe}`);
  if (!Number.isInteger(o.decode) || o.decode < 0 || o.decode > o.probe) throw new Error(`[data-root] decode must be an integer 0..probe (${o.probe}), got ${o.decode}`);
  if (opts.voicebankTrain !== undefined && opts.voicebankTrain !== '28spk' && opts.voicebankTrain !== '56spk') {
    throw new Error(`[data-root] voicebankTrain must be '28spk' or '56spk', got ${JSON.stringify(opts.voicebankTrain)}`);
  }
  const abs = path.resolve(root);
  const wanted = [
    need.includes('librispeech') ? 'LibriSpeech/ (train-clean-100, dev-clean, test-clean)' : '',
    need.includes('voicebank') ? 'VoiceBank-DEMAND/ (clean_/noisy_ trainset_28spk_wav and testset_wav)' : '',
  ].filter(Boolean).join(' and ');
  if (!fs.existsSync(abs)) throw new DataRootError(abs, [`folder not found; expected a folder holding ${wanted}`]);
  if (!isDir(abs)) throw new DataRootError(abs, [`not a folder; expected a folder holding ${wanted}`]);
  const problems: string[] = [];
  const out: DataRootInfo = { root: abs };
  if (need.includes('librispeech')) {
    const ls = await checkLibriSpeech(abs, opts, o, problems);
    if (ls) out.librispeech = ls;
  }
  if (need.includes('voicebank')) {
    const vb = await checkVoiceBank(abs, opts, o, problems);
    if (vb) out.voicebank = vb;
  }
  if (problems.length) throw new DataRootError(abs, problems);
  return out;
}
