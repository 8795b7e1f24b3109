/** LibriSpeech and VoiceBank-DEMAND layout writers: what buildLibriSpeechManifest and
 *  buildVoiceBankManifest read back is the source corpus (same utterances, texts, bit-exact
 *  samples, clean/noisy pairs), and the writers never leave a partial folder under a real name. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readAudio, probeAudio } from '../../lib/audio/flac';
import { buildLibriSpeechManifest, buildVoiceBankManifest } from '../../lib/data/builders';
import { CorpusResult, SplitName, generateCorpus } from '../../lib/data/corpus';
import { writeLibriSpeechLayout, writeVoiceBankLayout } from '../../lib/data/layouts';
import { ManifestEntry, readManifest } from '../../lib/data/manifest';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'layouts-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const seed = (Date.now() % 100000) + 1;
const corpusDir = path.join(tmp, 'corpus');
let corpus: CorpusResult;
const src: Record<SplitName, ManifestEntry[]> = { train: [], dev: [], test: [] };

beforeAll(async () => {
  // 12 short utterances, 4 speakers → 2 train / 1 dev / 1 test speakers, with noisy copies
  corpus = await generateCorpus({ outDir: corpusDir, numUtterances: 12, numSpeakers: 4, seed, minSeconds: 0.6, maxSeconds: 1, noisy: true });
  for (const s of ['train', 'dev', 'test'] as SplitName[]) src[s] = readManifest(corpus.manifests[s]).entries;
});

async function samples(file: string): Promise<{ rate: number; x: Float32Array }> {
  const a = await readAudio(file);
  expect(a.channels.length).toBe(1);
  return { rate: a.sampleRate, x: a.channels[0] };
}

function expectSame(a: Float32Array, b: Float32Array, what: string): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${what}: sample ${i} ${a[i]} != ${b[i]} (seed ${seed})`);
}

const hiddenEntries = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.startsWith('.'));

test('LibriSpeech layout reads back through buildLibriSpeechManifest: same utterances, texts, samples', async () => {
  const out = path.join(tmp, 'ls1');
  const res = await writeLibriSpeechLayout(corpusDir, out, { uttsPerChapter: 2 });
  expect(res.root).toBe(path.join(out, 'LibriSpeech'));
  expect(fs.readdirSync(res.root).sort()).toEqual(['dev-clean', 'test-clean', 'train-clean-100']);
  const spkMap = new Map<string, string>();
  const subsetOf: Record<string, SplitName> = { 'train-clean-100': 'train', 'dev-clean': 'dev', 'test-clean': 'test' };
  for (const [subset, split] of Object.entries(subsetOf)) {
    const m = buildLibriSpeechManifest(path.join(res.root, subset));
    expect(m.problems).toEqual([]);
    expect(m.entries.length).toBe(src[split].length);
    expect(res.subsets[subset].count).toBe(src[split].length);
    expect(res.subsets[subset].speakers).toBe(corpus.speakers[split].length);
    const bySource = new Map(res.utterances.filter((u) => u.subset === subset).map((u) => [u.id, u.sourceId]));
    const seenSource = new Set<string>();
    for (const e of m.entries) {
      expect(e.id).toMatch(/^[1-9]\d*-[1-9]\d*-\d{4}$/);
      const [spk, chap] = e.id.split('-');
      expect(e.audio).toBe(path.join(res.root, subset, spk, chap, `${e.id}.flac`));
      const s = src[split].find((x) => x.id === bySource.get(e.id))!;
      expect(s).toBeDefined();
      seenSource.add(s.id);
      expect(e.text).toBe(s.text!.toUpperCase());
      expect(e.text).toMatch(/^[A-Z']+( [A-Z']+)*$/);
      // one LibriSpeech speaker per source speaker, never shared
      if (!spkMap.has(s.speaker!)) spkMap.set(s.speaker!, e.speaker!);
      expect(spkMap.get(s.speaker!)).toBe(e.speaker);
      expect(e.duration).toBeCloseTo(s.duration, 9);
      const [a, b] = [await samples(e.audio), await samples(s.audio)];
      expect(a.rate).toBe(b.rate);
      expectSame(a.x, b.x, `${e.id} ← ${s.id}`);
    }
    expect(seenSource.size).toBe(src[split].length);
    // chapters hold at most uttsPerChapter utterances and are numbered speaker·1000 + k
    for (const spk of fs.readdirSync(path.join(res.root, subset))) {
      for (const chap of fs.readdirSync(path.join(res.root, subset, spk))) {
        expect(Math.floor(Number(chap) / 1000)).toBe(Number(spk));
        const files = fs.readdirSync(path.join(res.root, subset, spk, chap));
        expect(files).toContain(`${spk}-${chap}.trans.txt`);
        expect(files.filter((f) => f.endsWith('.flac')).length).toBeLessThanOrEqual(2);
      }
    }
  }
  expect(new Set(spkMap.values()).size).toBe(spkMap.size);
  expect(hiddenEntries(res.root)).toEqual([]);
});

test('LibriSpeech: entry lists, custom subsets, resampling; refuses to overwrite unless asked', async () => {
  const out = path.join(tmp, 'ls2');
  const res = await writeLibriSpeechLayout({ train: src.train }, out, { subsets: { 'train-clean-360': 'train' }, sampleRate: 8000 });
  expect(fs.readdirSync(res.root)).toEqual(['train-clean-360']);
  const m = buildLibriSpeechManifest(path.join(res.root, 'train-clean-360'));
  expect(m.entries.length).toBe(src.train.length);
  for (const u of res.utterances) {
    const s = src.train.find((x) => x.id === u.sourceId)!;
    const p = probeAudio(u.audio);
    expect(p.sampleRate).toBe(8000);
    expect(Math.abs(p.numFrames - Math.round(s.duration * 8000))).toBeLessThanOrEqual(1);
  }
  const before = fs.readFileSync(res.utterances[0].audio);
  await expect(writeLibriSpeechLayout({ train: src.train }, out, { subsets: { 'train-clean-360': 'train' } }))
    .rejects.toThrow(`[writeLibriSpeechLayout] ${res.root}: train-clean-360 already exists; pass overwrite: true to replace`);
  expect(fs.readFileSync(res.utterances[0].audio).equals(before)).toBe(true);
  const again = await writeLibriSpeechLayout({ train: src.train }, out, { subsets: { 'train-clean-360': 'train' }, overwrite: true });
  expect(probeAudio(again.utterances[0].audio).sampleRate).toBe(16000);
  expect(hiddenEntries(res.root)).toEqual([]);
});

test('LibriSpeech: bad sources fail before anything is written, a failure mid-way leaves no folder', async () => {
  const out = path.join(tmp, 'ls3');
  const noText = src.dev.map((e, i) => (i === 1 ? { ...e, text: '  ' } : e));
  await expect(writeLibriSpeechLayout({ dev: noText }, out, { subsets: { 'dev-clean': 'dev' } }))
    .rejects.toThrow(`[writeLibriSpeechLayout] entry ${JSON.stringify(src.dev[1].id)} (split dev, for dev-clean) has no text; LibriSpeech needs a transcript per utterance`);
  expect(fs.existsSync(out)).toBe(false);
  await expect(writeLibriSpeechLayout(path.join(tmp, 'nope'), out)).rejects.toThrow(`[writeLibriSpeechLayout] ${path.join(tmp, 'nope')}: corpus folder not found`);
  await expect(writeLibriSpeechLayout({ train: src.train }, out)).rejects.toThrow('[writeLibriSpeechLayout] source split dev has no entries');
  await expect(writeLibriSpeechLayout(corpusDir, out, { subsets: { '../x': 'train' } })).rejects.toThrow('subsets key "../x" is not a plain folder name');
  // the last utterance's audio is missing: the error names it and no subset folder appears
  const broken = [...src.train.slice(0, -1), { ...src.train[src.train.length - 1], audio: path.join(tmp, 'missing.wav') }];
  await expect(writeLibriSpeechLayout({ train: broken }, out, { subsets: { 'train-clean-100': 'train' } }))
    .rejects.toThrow(`[writeLibriSpeechLayout] entry ${JSON.stringify(broken[broken.length - 1].id)}: ${path.join(tmp, 'missing.wav')}: cannot read file (ENOENT)`);
  expect(fs.readdirSync(path.join(out, 'LibriSpeech'))).toEqual([]);
});

test('VoiceBank layout reads back through buildVoiceBankManifest: clean/noisy pairs and texts exact', async () => {
  const out = path.join(tmp, 'vb1');
  const res = await writeVoiceBankLayout(corpusDir, out);
  expect(res.root).toBe(path.join(out, 'VoiceBank-DEMAND'));
  expect(fs.readdirSync(res.root).sort()).toEqual(['clean_testset_wav', 'clean_trainset_28spk_wav', 'noisy_testset_wav', 'noisy_trainset_28spk_wav', 'testset_txt', 'trainset_28spk_txt']);
  for (const [set, split] of [['trainset_28spk_wav', 'train'], ['testset_wav', 'test']] as Array<[string, SplitName]>) {
    const m = buildVoiceBankManifest(res.root, { sets: [set] });
    expect(m.problems).toEqual([]);
    expect(m.entries.length).toBe(src[split].length);
    expect(res.subsets[set].count).toBe(src[split].length);
    const bySource = new Map(res.utterances.filter((u) => u.subset === set).map((u) => [u.id, u.sourceId]));
    for (const e of m.entries) {
      expect(e.id).toMatch(/^p\d{3}_\d{3}$/);
      expect(e.speaker).toBe(e.id.split('_')[0]);
      const s = src[split].find((x) => x.id === bySource.get(e.id))!;
      expect(e.text).toBe(s.text);
      expectSame((await samples(e.audio)).x, (await samples(s.audio)).x, `clean ${e.id}`);
      expectSame((await samples(e.noisy!)).x, (await samples(s.noisy!)).x, `noisy ${e.id}`);
    }
  }
  expect(buildVoiceBankManifest(res.root).entries.length).toBe(src.train.length + src.test.length);
  expect(hiddenEntries(res.root)).toEqual([]);
});

test('VoiceBank: 56spk set name, noisy mixed from the recipe equals the corpus noisy file, errors', async () => {
  const out = path.join(tmp, 'vb2');
  // without the noisy path the writer mixes the noise recipe itself: the same samples as the corpus
  const recipeOnly = src.train.map(({ noisy: _drop, ...e }) => e);
  const res = await writeVoiceBankLayout({ train: recipeOnly }, out, { sets: { trainset_56spk: 'train' }, text: false });
  expect(fs.readdirSync(res.root).sort()).toEqual(['clean_trainset_56spk_wav', 'noisy_trainset_56spk_wav']);
  const m = buildVoiceBankManifest(res.root);
  expect(m.entries.length).toBe(src.train.length);
  for (const u of res.utterances) {
    const s = src.train.find((x) => x.id === u.sourceId)!;
    expect(s.noise).toBeDefined();
    expectSame((await samples(u.noisy!)).x, (await samples(s.noisy!)).x, `recipe noisy ${u.id}`);
  }
  const noNoise = src.test.map(({ noisy: _a, noise: _b, ...e }) => e);
  await expect(writeVoiceBankLayout({ test: noNoise }, path.join(tmp, 'vb3'), { sets: { testset: 'test' } }))
    .rejects.toThrow(`[writeVoiceBankLayout] entry ${JSON.stringify(src.test[0].id)} (split test, for testset) has no noisy copy (neither "noisy" nor "noise"); generate the corpus with noisy: true`);
  expect(fs.existsSync(path.join(tmp, 'vb3'))).toBe(false);
  await expect(writeVoiceBankLayout({ train: recipeOnly }, out, { sets: { trainset_56spk: 'train' }, text: false }))
    .rejects.toThrow('clean_trainset_56spk_wav, noisy_trainset_56spk_wav already exist; pass overwrite: true to replace');
  // overwrite with text, then without: the transcript folder comes and goes with the audio
  await writeVoiceBankLayout({ train: recipeOnly }, out, { sets: { trainset_56spk: 'train' }, overwrite: true });
  expect(fs.readdirSync(res.root)).toContain('trainset_56spk_txt');
  await writeVoiceBankLayout({ train: recipeOnly }, out, { sets: { trainset_56spk: 'train' }, text: false, overwrite: true });
  expect(fs.readdirSync(res.root).sort()).toEqual(['clean_trainset_56spk_wav', 'noisy_trainset_56spk_wav']);
});
