/** The espeak engine: runs when espeak-ng is on PATH (CI installs it), skipped with a reason
 *  otherwise. Checks audio rate/length, phones, determinism and voice-disjoint splits. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readWav } from '../../lib/audio/wav';
import { generateCorpus } from '../../lib/data/corpus';
import { espeakUtterance, findEspeak, makeEspeakSpeaker } from '../../lib/data/espeak';
import { readManifest } from '../../lib/data/manifest';

const have = findEspeak() !== null;
if (!have) {
  // eslint-disable-next-line no-console
  console.log('espeak tests skipped: espeak-ng is not on PATH (apt-get install -y espeak-ng)');
}
const maybe = have ? test : test.skip;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'espeak-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const seed = Date.now() % 1e6;

maybe('one utterance: 16 kHz, whole 10 ms frames, speech-length, IPA phones, deterministic', async () => {
  const sp = makeEspeakSpeaker(seed, 3);
  const u = await espeakUtterance(seed, 0, sp, 16000);
  expect(u.samples.length % 160).toBe(0);
  expect(u.samples.length / 16000).toBeGreaterThan(0.8);
  expect(u.samples.length / 16000).toBeLessThan(8);
  expect(u.text).toMatch(/^[a-z ]+$/);
  expect(u.phones.length).toBeGreaterThan(5);
  expect(u.phones.every((p) => !/[ˈˌ_\s]/.test(p))).toBe(true);
  let ss = 0;
  for (const v of u.samples) ss += v * v;
  expect(Math.sqrt(ss / u.samples.length)).toBeGreaterThan(0.01);
  const again = await espeakUtterance(seed, 0, sp, 16000);
  expect(again.text).toBe(u.text);
  expect(Buffer.from(again.samples.buffer).equals(Buffer.from(u.samples.buffer))).toBe(true);
});

maybe('corpus with voice-disjoint splits', async () => {
  const r = await generateCorpus({ outDir: tmp, engine: 'espeak', numUtterances: 8, numSpeakers: 4, seed, splits: { train: 2, dev: 1, test: 1 } });
  const voices: Record<string, Set<string>> = {};
  for (const s of ['train', 'dev', 'test'] as const) {
    const m = readManifest(r.manifests[s], { checkAudio: true });
    voices[s] = new Set(m.entries.map((e) => e.speaker!));
    for (const e of m.entries) {
      expect(readWav(e.audio).sampleRate).toBe(16000);
      expect(e.phones!.length).toBeGreaterThan(0);
    }
  }
  expect(r.counts.train + r.counts.dev + r.counts.test).toBe(8);
  for (const v of voices.train) expect(voices.dev.has(v) || voices.test.has(v)).toBe(false);
});
