/** inspectDataRoot on generated LibriSpeech/VoiceBank layouts: good roots and the usual layout
 *  variants pass with the right folders and counts; each kind of damage (missing subset, empty
 *  folder, missing transcript, missing or corrupt audio, unpaired VoiceBank files, no root) gives
 *  one error naming the problem and the expected layout. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildLibriSpeechManifest, buildVoiceBankManifest } from '../../lib/data/builders';
import { generateCorpus } from '../../lib/data/corpus';
import { DataRootError, inspectDataRoot } from '../../lib/data/dataroot';
import { writeLibriSpeechLayout, writeVoiceBankLayout } from '../../lib/data/layouts';
import { writeWav } from '../../lib/audio/wav';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataroot-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const seed = (Date.now() % 100000) + 1;
const good = path.join(tmp, 'good');
const both = { need: ['librispeech', 'voicebank'] as Array<'librispeech' | 'voicebank'> };
const LS = { need: ['librispeech'] as Array<'librispeech'> };
const VB = { need: ['voicebank'] as Array<'voicebank'> };
let counts: Record<string, number> = {};

beforeAll(async () => {
  const corpus = path.join(tmp, 'corpus');
  await generateCorpus({ outDir: corpus, numUtterances: 12, numSpeakers: 4, seed, minSeconds: 0.6, maxSeconds: 1, noisy: true });
  const ls = await writeLibriSpeechLayout(corpus, good, { uttsPerChapter: 2 });
  const vb = await writeVoiceBankLayout(corpus, good);
  counts = Object.fromEntries([...Object.entries(ls.subsets), ...Object.entries(vb.subsets)].map(([k, v]) => [k, v.count]));
});

let copies = 0;
/** A fresh copy of the good root (or of one of its parts) to damage. */
function copyOf(part = ''): string {
  const dst = path.join(tmp, `copy${copies++}`);
  fs.cpSync(path.join(good, part), dst, { recursive: true });
  return dst;
}

const firstFlac = (subsetDir: string): string => buildLibriSpeechManifest(subsetDir).entries[0].audio;

async function problemsOf(root: string, opts: Parameters<typeof inspectDataRoot>[1]): Promise<string[]> {
  try {
    await inspectDataRoot(root, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(DataRootError);
    const err = e as DataRootError;
    expect(err.message.startsWith(`[data-root] ${root}: `)).toBe(true);
    if (err.problems.length === 1) expect(err.message).toBe(`[data-root] ${root}: ${err.problems[0]}`);
    else expect(err.message).toBe(`[data-root] ${root}: ${err.problems.length} problems:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`);
    return err.problems;
  }
  throw new Error(`inspectDataRoot(${root}) passed; expected an error (seed ${seed})`);
}

test('a good root passes: folders for the builders, counts, sample rates', async () => {
  const info = await inspectDataRoot(good, both);
  const lsRoot = path.join(good, 'LibriSpeech');
  expect(info.librispeech).toEqual({
    train: path.join(lsRoot, 'train-clean-100'), dev: path.join(lsRoot, 'dev-clean'), test: path.join(lsRoot, 'test-clean'),
    subsets: { train: 'train-clean-100', dev: 'dev-clean', test: 'test-clean' },
    counts: { train: counts['train-clean-100'], dev: counts['dev-clean'], test: counts['test-clean'] },
    speakers: { train: 2, dev: 1, test: 1 },
    sampleRates: [16000],
  });
  for (const s of ['train', 'dev', 'test'] as const) expect(buildLibriSpeechManifest(info.librispeech![s]).entries.length).toBe(info.librispeech!.counts[s]);
  const vb = info.voicebank!;
  expect(vb.root).toBe(path.join(good, 'VoiceBank-DEMAND'));
  expect(vb.train).toEqual({ set: 'trainset_28spk_wav', clean: path.join(vb.root, 'clean_trainset_28spk_wav'), noisy: path.join(vb.root, 'noisy_trainset_28spk_wav'), txt: path.join(vb.root, 'trainset_28spk_txt') });
  expect(vb.test.set).toBe('testset_wav');
  expect(vb.counts).toEqual({ train: counts.trainset_28spk_wav, test: counts.testset_wav });
  expect(buildVoiceBankManifest(vb.root, { sets: [vb.train.set] }).entries.length).toBe(vb.counts.train);
  expect(vb.sampleRates).toEqual([16000]);
  // only what is needed is looked for: a LibriSpeech-only root passes for 'librispeech'
  const lsOnly = path.join(tmp, 'lsonly');
  fs.cpSync(lsRoot, path.join(lsOnly, 'LibriSpeech'), { recursive: true });
  expect((await inspectDataRoot(lsOnly, LS)).voicebank).toBeUndefined();
});

test('layout variants: root = LibriSpeech folder, one folder per tarball, lower case, VoiceBank in root, 56spk', async () => {
  const ls = path.join(good, 'LibriSpeech');
  expect((await inspectDataRoot(ls, LS)).librispeech!.train).toBe(path.join(ls, 'train-clean-100'));
  const tarballs = path.join(tmp, 'tarballs');
  for (const s of ['train-clean-100', 'dev-clean', 'test-clean']) fs.cpSync(path.join(ls, s), path.join(tarballs, s, 'LibriSpeech', s), { recursive: true });
  expect((await inspectDataRoot(tarballs, LS)).librispeech!.dev).toBe(path.join(tarballs, 'dev-clean', 'LibriSpeech', 'dev-clean'));
  const lower = path.join(tmp, 'lower');
  fs.cpSync(ls, path.join(lower, 'librispeech'), { recursive: true });
  expect((await inspectDataRoot(lower, LS)).librispeech!.test).toBe(path.join(lower, 'librispeech', 'test-clean'));
  const flat = copyOf('VoiceBank-DEMAND');
  for (const f of ['clean', 'noisy']) fs.renameSync(path.join(flat, `${f}_trainset_28spk_wav`), path.join(flat, `${f}_trainset_56spk_wav`));
  const info = await inspectDataRoot(flat, VB);
  expect(info.voicebank!.root).toBe(flat);
  expect(info.voicebank!.train.set).toBe('trainset_56spk_wav');
  expect(info.voicebank!.train.txt).toBeUndefined(); // trainset_28spk_txt no longer matches the set
  // corpora linked into the data root
  const linked = path.join(tmp, 'linked');
  fs.mkdirSync(linked);
  fs.symlinkSync(ls, path.join(linked, 'LibriSpeech'));
  fs.symlinkSync(path.join(good, 'VoiceBank-DEMAND'), path.join(linked, 'VoiceBank-DEMAND'));
  const li = await inspectDataRoot(linked, both);
  expect(li.librispeech!.train).toBe(path.join(linked, 'LibriSpeech', 'train-clean-100'));
  expect(li.voicebank!.root).toBe(path.join(linked, 'VoiceBank-DEMAND'));
  const ds = path.join(tmp, 'ds');
  fs.cpSync(path.join(good, 'VoiceBank-DEMAND'), path.join(ds, 'DS_10283_2791'), { recursive: true });
  expect((await inspectDataRoot(ds, VB)).voicebank!.root).toBe(path.join(ds, 'DS_10283_2791'));
});

test('missing subset: the message names it, the expected layout, and what is there', async () => {
  const root = copyOf();
  fs.rmSync(path.join(root, 'LibriSpeech', 'train-clean-100'), { recursive: true });
  expect(await problemsOf(root, both)).toEqual([
    `LibriSpeech train-clean-100 not found; expected ${root}/LibriSpeech/train-clean-100/<speaker>/<chapter>/*.flac with <speaker>-<chapter>.trans.txt (found dev-clean, test-clean)`,
  ]);
  fs.writeFileSync(path.join(root, 'LibriSpeech', 'train-clean-100.tar.gz'), 'x');
  expect((await problemsOf(root, LS))[0]).toContain(`; ${root}/LibriSpeech/train-clean-100.tar.gz is there but not extracted`);
});

test('empty folders: an empty root lists every corpus; an empty subset folder says so', async () => {
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  const p = await problemsOf(empty, both);
  expect(p).toEqual([
    `LibriSpeech train-clean-100 not found; expected ${empty}/LibriSpeech/train-clean-100/<speaker>/<chapter>/*.flac with <speaker>-<chapter>.trans.txt`,
    `LibriSpeech dev-clean not found; expected ${empty}/LibriSpeech/dev-clean/<speaker>/<chapter>/*.flac with <speaker>-<chapter>.trans.txt`,
    `LibriSpeech test-clean not found; expected ${empty}/LibriSpeech/test-clean/<speaker>/<chapter>/*.flac with <speaker>-<chapter>.trans.txt`,
    `VoiceBank-DEMAND not found; expected ${empty}/VoiceBank-DEMAND/{clean,noisy}_trainset_28spk_wav/*.wav and {clean,noisy}_testset_wav/*.wav (56spk also accepted)`,
  ]);
  const root = copyOf();
  const dev = path.join(root, 'LibriSpeech', 'dev-clean');
  fs.rmSync(dev, { recursive: true });
  fs.mkdirSync(dev);
  expect(await problemsOf(root, LS)).toEqual([`LibriSpeech dev-clean folder ${dev} is empty; expected ${dev}/<speaker>/<chapter>/*.flac with <speaker>-<chapter>.trans.txt`]);
});

test('a missing trans.txt, a bad transcript line, a transcript line without its FLAC', async () => {
  const root = copyOf();
  const test = path.join(root, 'LibriSpeech', 'test-clean');
  const [spk] = fs.readdirSync(test);
  const [chap] = fs.readdirSync(path.join(test, spk)).sort();
  const trans = path.join(test, spk, chap, `${spk}-${chap}.trans.txt`);
  fs.rmSync(trans);
  const train = path.join(root, 'LibriSpeech', 'train-clean-100');
  const e = buildLibriSpeechManifest(train).entries;
  fs.rmSync(e[1].audio);
  const tr2 = path.join(path.dirname(e[0].audio), `${e[0].id.split('-').slice(0, 2).join('-')}.trans.txt`);
  fs.appendFileSync(tr2, 'BADLINE\n');
  const lines = fs.readFileSync(tr2, 'utf8').trimEnd().split('\n').length;
  expect(await problemsOf(root, LS)).toEqual([
    `LibriSpeech train-clean-100: 1 transcript line(s) not of the form "<speaker>-<chapter>-<utt> TEXT": ${tr2}:${lines}`,
    `LibriSpeech train-clean-100: 1 transcript line(s) without their audio: missing ${e[1].audio}`,
    `LibriSpeech test-clean: 1 chapter folder(s) without their transcript: missing ${trans}`,
  ]);
});

test('corrupt FLAC: garbage is caught by the header probe, a damaged frame by the full decode', async () => {
  const root = copyOf();
  const dev = path.join(root, 'LibriSpeech', 'dev-clean');
  const f = firstFlac(dev);
  const bytes = fs.readFileSync(f);
  fs.writeFileSync(f, Buffer.from('this is not audio at all, just text..........'));
  const [p] = await problemsOf(root, LS);
  expect(p).toBe(`LibriSpeech dev-clean: unreadable audio: ${f}: unknown audio format (first bytes "this"); WAV and FLAC are supported`);
  // flip bits in the middle of the frames: STREAMINFO is intact, decoding must fail
  const bad = Buffer.from(bytes);
  for (let i = Math.floor(bad.length / 2); i < Math.floor(bad.length / 2) + 64; i++) bad[i] ^= 0x5a;
  fs.writeFileSync(f, bad);
  const [q] = await problemsOf(root, LS);
  expect(q.startsWith(`LibriSpeech dev-clean: unreadable audio: ${f}: `)).toBe(true);
  expect(q).toMatch(/decoding failed|MD5|samples per channel/);
  // a truncated file too
  fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  expect((await problemsOf(root, LS))[0]).toMatch(new RegExp(`^LibriSpeech dev-clean: unreadable audio: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
});

test('VoiceBank: unpaired files, clean/noisy length mismatch, missing test set, missing noisy folder', async () => {
  const root = copyOf('VoiceBank-DEMAND');
  const cleanTr = path.join(root, 'clean_trainset_28spk_wav');
  const noisyTr = path.join(root, 'noisy_trainset_28spk_wav');
  const files = fs.readdirSync(cleanTr).sort();
  fs.rmSync(path.join(noisyTr, files[1]));
  writeWav(path.join(noisyTr, 'p999_001.wav'), { sampleRate: 16000, channels: [new Float32Array(100)] });
  // first pair (always probed): noisy one sample shorter
  writeWav(path.join(noisyTr, files[0]), { sampleRate: 16000, channels: [new Float32Array(1000)] });
  writeWav(path.join(cleanTr, files[0]), { sampleRate: 16000, channels: [new Float32Array(1001)] });
  fs.rmSync(path.join(root, 'clean_testset_wav'), { recursive: true });
  expect(await problemsOf(root, VB)).toEqual([
    `VoiceBank-DEMAND training set: 1 clean file(s) without a noisy twin in ${noisyTr}: ${files[1]}`,
    `VoiceBank-DEMAND training set: 1 noisy file(s) without a clean twin in ${cleanTr}: p999_001.wav`,
    `VoiceBank-DEMAND training set: ${files[0]} differs between clean (1001 samples at 16000 Hz) and noisy (1000 at 16000 Hz)`,
    `VoiceBank-DEMAND test set not found in ${root}; expected clean_testset_wav/ and noisy_testset_wav/`,
  ]);
  fs.rmSync(noisyTr, { recursive: true });
  expect((await problemsOf(root, VB))[0]).toBe(`VoiceBank-DEMAND training set: ${noisyTr} not found (the noisy twin of ${cleanTr})`);
});

test('no root, a file as root, bad options', async () => {
  const none = path.join(tmp, 'does-not-exist');
  expect(await problemsOf(none, both)).toEqual([
    'folder not found; expected a folder holding LibriSpeech/ (train-clean-100, dev-clean, test-clean) and VoiceBank-DEMAND/ (clean_/noisy_ trainset_28spk_wav and testset_wav)',
  ]);
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  expect((await problemsOf(file, LS))[0]).toBe('not a folder; expected a folder holding LibriSpeech/ (train-clean-100, dev-clean, test-clean)');
  await expect(inspectDataRoot(good, { need: [] })).rejects.toThrow(`[data-root] need must list one or more of 'librispeech', 'voicebank', got []`);
  await expect(inspectDataRoot(good, { need: ['timit' as 'voicebank'] })).rejects.toThrow('got ["timit"]');
  await expect(inspectDataRoot(good, { ...LS, probe: 0 })).rejects.toThrow('[data-root] probe must be a positive integer, got 0');
  await expect(inspectDataRoot(good, { ...LS, decode: 5 })).rejects.toThrow('[data-root] decode must be an integer 0..probe (3), got 5');
});
