/** The synth engine and corpus generation: determinism by seed, alignments that tile the audio
 *  and match the phones, speaker-disjoint splits, noisy copies, and the measured throughput. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readWav } from '../../lib/audio/wav';
import { generateCorpus, splitSpeakers } from '../../lib/data/corpus';
import { readManifest } from '../../lib/data/manifest';
import { Tokenizer } from '../../lib/data/tokenizer';
import { PHONE_NAMES, makeLexicon, makeSpeaker, synthesizeUtterance } from '../../lib/data/synth';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
// A fresh seed per run (the properties below must hold for every seed); it is in every test's
// name, and MAMBA_SPEECH_TEST_SEED=<seed> replays a failing run.
const seed = Number(process.env.MAMBA_SPEECH_TEST_SEED ?? (Date.now() % 100000) + 1);

test(`inventory has ~40 phones, lexicon is deterministic with distinct spellings (seed ${seed})`, () => {
  expect(PHONE_NAMES.length).toBe(39);
  const a = makeLexicon(seed, 200);
  expect(makeLexicon(seed, 200)).toEqual(a);
  expect(new Set(a.words.map((w) => w.text)).size).toBe(200);
  expect(makeLexicon(seed + 1, 200).words.map((w) => w.text)).not.toEqual(a.words.map((w) => w.text));
});

test(`utterances: alignment tiles the audio exactly, phones match, same seed → identical samples (seed ${seed})`, () => {
  const lex = makeLexicon(seed);
  for (let i = 0; i < 6; i++) {
    const sp = makeSpeaker(seed, i);
    const u = synthesizeUtterance(seed * 10 + i, sp, lex);
    const segs = u.alignment.segments;
    expect(u.samples.length % 160).toBe(0);
    expect(segs[0][1]).toBe(0);
    expect(segs[segs.length - 1][2]).toBe(u.samples.length / 160);
    for (let k = 1; k < segs.length; k++) expect(segs[k][1]).toBe(segs[k - 1][2]);
    expect(segs[0][0]).toBe('sil');
    expect(segs[segs.length - 1][0]).toBe('sil');
    expect(segs.map((s) => s[0]).filter((p) => p !== 'sil')).toEqual(u.phones);
    expect(u.text.split(' ').length).toBeGreaterThan(0);
    // The window the generator guarantees for the default 2-4 s: [2 - 0.5, 1.5 * 4 + 0.5] s (lengths
    // run past the 4 s target: a draw of 5.58 s failed the 5.5 s bound this test had).
    expect(u.samples.length / 16000).toBeGreaterThanOrEqual(1.5);
    expect(u.samples.length / 16000).toBeLessThanOrEqual(6.5);
    let peak = 0;
    for (const v of u.samples) peak = Math.max(peak, Math.abs(v));
    expect(peak).toBeLessThanOrEqual(0.9 + 1e-6);
    expect(peak).toBeGreaterThan(0.1);
    // silence segments are quiet, speech segments are not
    const rms = (a: number, b: number): number => {
      let s = 0;
      for (let j = a * 160; j < b * 160; j++) s += u.samples[j] * u.samples[j];
      return Math.sqrt(s / ((b - a) * 160));
    };
    expect(rms(0, segs[0][2] - 3)).toBeLessThan(1e-3);
    const vowel = segs.find((s) => ['aa', 'iy', 'ae', 'ow', 'ay', 'eh', 'ah', 'uw', 'er', 'ih', 'ao', 'uh', 'ey', 'aw', 'oy'].includes(s[0]))!;
    expect(rms(vowel[1], vowel[2])).toBeGreaterThan(0.02);
    const again = synthesizeUtterance(seed * 10 + i, makeSpeaker(seed, i), lex);
    expect(Buffer.from(again.samples.buffer).equals(Buffer.from(u.samples.buffer))).toBe(true);
  }
});

test(`every utterance lasts within the guaranteed window, also for a tight target (seed ${seed})`, () => {
  // minSeconds = maxSeconds = 1: the window is [0.5, 2.0] s and ~2 % of plans run past 2.0 s before
  // the generator drops their last word. Utterances 124, 217, 302, 337 of lexicon 7 are such plans
  // (2.01-2.22 s); 20 more come from this run's seed.
  const cases: [number, number, number][] = [124, 217, 302, 337].map((k) => [7, 1000 + k, k % 7]);
  for (let i = 0; i < 20; i++) cases.push([seed, seed * 100 + i, i % 7]);
  const lexicons = new Map<number, ReturnType<typeof makeLexicon>>();
  for (const [lexSeed, uttSeed, spk] of cases) {
    if (!lexicons.has(lexSeed)) lexicons.set(lexSeed, makeLexicon(lexSeed));
    const u = synthesizeUtterance(uttSeed, makeSpeaker(lexSeed, spk), lexicons.get(lexSeed)!, { minSeconds: 1, maxSeconds: 1 });
    const secs = u.samples.length / 16000;
    expect(secs).toBeGreaterThanOrEqual(0.5);
    expect(secs).toBeLessThanOrEqual(2.0);
    expect(u.alignment.segments.map((x) => x[0]).filter((p) => p !== 'sil')).toEqual(u.phones);
    expect(u.text.split(' ').length).toBeGreaterThan(0);
  }
});

test(`splits are speaker-disjoint and cover all speakers (seed ${seed})`, () => {
  const s = splitSpeakers(10, seed);
  expect([...s.train, ...s.dev, ...s.test].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  expect([s.train.length, s.dev.length, s.test.length]).toEqual([8, 1, 1]);
  expect(() => splitSpeakers(2, seed)).toThrow('need at least 3 speakers');
});

test(`corpus: same seed → byte-identical files, other seed differs; manifests consistent (seed ${seed})`, async () => {
  const opts = { numUtterances: 12, numSpeakers: 6, maxSeconds: 2.5, minSeconds: 2, noisy: true };
  const a = await generateCorpus({ ...opts, outDir: path.join(tmp, 'a'), seed });
  const b = await generateCorpus({ ...opts, outDir: path.join(tmp, 'b'), seed });
  const c = await generateCorpus({ ...opts, outDir: path.join(tmp, 'c'), seed: seed + 1 });
  const files = (d: string): string[] => fs.readdirSync(d, { recursive: true }).map(String).filter((f) => f.endsWith('.wav') || f.endsWith('.jsonl')).sort();
  const fa = files(path.join(tmp, 'a'));
  expect(fa.length).toBe(12 * 2 + 3);
  expect(files(path.join(tmp, 'b'))).toEqual(fa);
  for (const f of fa) expect(fs.readFileSync(path.join(tmp, 'b', f)).equals(fs.readFileSync(path.join(tmp, 'a', f)))).toBe(true);
  const wa = fs.readFileSync(path.join(tmp, 'a', fa.find((f) => f.includes('00000.wav'))!));
  const wc = fs.readFileSync(path.join(tmp, 'c', files(path.join(tmp, 'c')).find((f) => f.includes('00000.wav'))!));
  expect(wa.equals(wc)).toBe(false);

  expect(a.counts.train + a.counts.dev + a.counts.test).toBe(12);
  const spk = { train: new Set<string>(), dev: new Set<string>(), test: new Set<string>() };
  for (const s of ['train', 'dev', 'test'] as const) {
    const m = readManifest(a.manifests[s], { checkAudio: true });
    expect(m.entries.length).toBe(a.counts[s]);
    for (const e of m.entries) {
      spk[s].add(e.speaker!);
      const w = readWav(e.audio);
      expect(w.sampleRate).toBe(16000);
      expect(w.format).toBe('pcm16');
      const frames = w.channels[0].length / 160;
      expect(Number.isInteger(frames)).toBe(true);
      const segs = e.alignment!.segments;
      expect(segs[segs.length - 1][2]).toBe(frames);
      expect(segs.map((x) => x[0]).filter((p) => p !== 'sil')).toEqual(e.phones);
      expect(e.noise!.snrDb).toBeDefined();
      expect((s === 'test' ? [2.5, 7.5, 12.5, 17.5] : [0, 5, 10, 15])).toContain(e.noise!.snrDb);
      expect(readWav(e.noisy!).channels[0].length).toBe(w.channels[0].length);
    }
  }
  for (const x of spk.train) expect(spk.dev.has(x) || spk.test.has(x)).toBe(false);
  for (const x of spk.dev) expect(spk.test.has(x)).toBe(false);
  const tok = Tokenizer.fromManifest(readManifest(a.manifests.train).entries, 'phone');
  expect(tok.size).toBeGreaterThan(10);
});
