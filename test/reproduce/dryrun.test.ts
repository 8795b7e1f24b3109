/**
 * `reproduce --preset paper --data-root DIR --dry-run` through the command line (a child process,
 * as a user runs it), on LibriSpeech- and VoiceBank-DEMAND-layout folders written from a synth
 * corpus (FLAC / WAV): every stage runs 10 steps with the CPU dry run's small models and ends in
 * a report whose numbers trace back to the data (CER over the test transcripts' characters, the
 * noisy inputs' SI-SDR against a float64 recomputation from the VoiceBank files); a missing data
 * root or one with a missing subset stops with inspectDataRoot's error before any folder is made.
 * The feature cache (stage 1 of every preset) resumes at its first unfinished shard.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readAudio } from '../../lib/audio/flac';
import { fbank } from '../../lib/audio/mel';
import { generateCorpus } from '../../lib/data/corpus';
import { writeLibriSpeechLayout, writeVoiceBankLayout } from '../../lib/data/layouts';
import { readManifest } from '../../lib/data/manifest';
import { cacheSplitFeatures, CorpusRecord, loadSplit } from '../../lib/reproduce/corpus';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-dryrun-'));
const dataRoot = path.join(tmp, 'data');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Out { code: number | null; stdout: string; stderr: string }

function cli(args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(root, 'test/cli/cli.js'), ...args], {
      cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAMBA_SPEECH_DEVICE: 'cpu' },
    });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** SI-SDR in dB, float64, zero-mean (Le Roux et al. 2019, eq. 1-3). */
function siSdr64(est: Float32Array, ref: Float32Array): number {
  const n = ref.length;
  let me = 0, mr = 0;
  for (let i = 0; i < n; ++i) { me += est[i]; mr += ref[i]; }
  me /= n; mr /= n;
  let dot = 0, rr = 0;
  for (let i = 0; i < n; ++i) { dot += (est[i] - me) * (ref[i] - mr); rr += (ref[i] - mr) ** 2; }
  const a = dot / rr;
  let tt = 0, ee = 0;
  for (let i = 0; i < n; ++i) {
    const t = a * (ref[i] - mr);
    tt += t * t;
    ee += (est[i] - me - t) ** 2;
  }
  return 10 * Math.log10(tt / ee);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
function numbers(j: Json, at = '$', out: Array<[string, number | null]> = []): Array<[string, number | null]> {
  if (typeof j === 'number' || j === null) out.push([at, j as number | null]);
  else if (Array.isArray(j)) j.forEach((v, i) => numbers(v, `${at}[${i}]`, out));
  else if (typeof j === 'object') for (const [k, v] of Object.entries(j)) numbers(v, `${at}.${k}`, out);
  return out;
}

beforeAll(async () => {
  // 24 utterances of 6 speakers: 16 train (4 speakers), 4 dev, 4 test, with noisy copies
  const src = path.join(tmp, 'src');
  await generateCorpus({ outDir: src, numUtterances: 24, numSpeakers: 6, seed: 5, minSeconds: 1, maxSeconds: 1.5, noisy: true });
  await writeLibriSpeechLayout(src, dataRoot, { uttsPerChapter: 3 });
  await writeVoiceBankLayout(src, dataRoot);
}, 60000);

describe('reproduce --preset paper --dry-run on a generated data root', () => {
  test('runs every stage and writes a report traced to the data', async () => {
    const out = path.join(tmp, 'run');
    const r = await cli(['reproduce', '--preset', 'paper', '--data-root', dataRoot, '--dry-run', '--out', out]);
    expect({ code: r.code, tail: r.stderr.slice(-3000) }).toEqual({ code: 0, tail: expect.any(String) });
    for (let k = 1; k <= 6; ++k) expect(r.stderr).toMatch(new RegExp(`^\\[${k}/6\\] `, 'm'));
    expect(r.stdout).toMatch(/Report: .*report\.md/);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.preset.model).toEqual({ layers: 2, dModel: 64, heads: 2, dropout: 0, dState: 8 });
    expect(cfg.dataRoot).toBe(dataRoot);

    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    // Stage 1 read the LibriSpeech layout: counts, and a char tokenizer of the training transcripts.
    const trans = (subset: string) => {
      const lines: string[] = [];
      const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.endsWith('.trans.txt')) lines.push(...fs.readFileSync(path.join(d, e.name), 'utf8').trim().split('\n'));
      });
      walk(path.join(dataRoot, 'LibriSpeech', subset));
      return new Map(lines.map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
    };
    const train = trans('train-clean-100'), testT = trans('test-clean');
    expect(rep.corpus.source).toBe('librispeech');
    expect(rep.corpus.counts).toEqual({ train: 16, dev: 4, test: 4 });
    expect(rep.corpus.tokenizer.kind).toBe('char');
    expect(rep.corpus.tokenizer.tokens.slice(2)).toEqual([...new Set([...train.values()].join(''))].sort());

    const byTask = (t: string) => rep.results.filter((x: { task: string }) => x.task === t);
    expect(byTask('reconstruction').map((x: { encoder: string }) => x.encoder)).toEqual(['transformer', 'mamba', 'conbimamba']);
    expect(byTask('enhancement').map((x: { encoder: string }) => x.encoder)).toEqual(['transformer', 'mamba', 'conbimamba']);
    expect(byTask('ctc').map((x: { encoder: string }) => x.encoder)).toEqual(['transformer', 'mamba', 'conbimamba', 'bimamba']);
    for (const m of rep.results) {
      expect(m.steps).toBe(10);
      expect(fs.existsSync(m.weights)).toBe(true);
      expect(JSON.parse(fs.readFileSync(path.join(m.dir, 'result.json'), 'utf8')).test).toEqual(m.test);
      const { values, weights } = m.perUtterance as { values: number[]; weights: number[] };
      const corpus = values.reduce((a, v, i) => a + v * weights[i], 0) / weights.reduce((a, w) => a + w, 0);
      expect(Math.abs(corpus - m.test[m.headline])).toBeLessThan(1e-6 * Math.max(1, Math.abs(corpus)));
    }
    // CTC on LibriSpeech is character recognition: CER, weighted by the test transcripts'
    // characters (one absent from the training transcripts is the tokenizer's <unk>, as
    // CtcAsr.evaluate counts it).
    const vocab = new Set<string>(rep.corpus.tokenizer.tokens);
    const symbols = (text: string) => [...text].map((ch) => (vocab.has(ch) ? ch : '<unk>'));
    for (const m of byTask('ctc')) {
      expect(m.headline).toBe('cer');
      expect([...m.perUtterance.ids].sort()).toEqual([...testT.keys()].sort());
      expect(m.perUtterance.weights).toEqual(m.perUtterance.ids.map((id: string) => symbols(testT.get(id)!).join('').length));
    }
    // Enhancement on the VoiceBank layout's test pairs: per-utterance SI-SDR; the noisy inputs'
    // SI-SDR recomputed in float64 from the files.
    const vb = path.join(dataRoot, 'VoiceBank-DEMAND');
    const testIds = fs.readdirSync(path.join(vb, 'clean_testset_wav')).map((f) => f.replace(/\.wav$/, '')).sort();
    let noisy = 0;
    for (const id of testIds) {
      const c = await readAudio(path.join(vb, 'clean_testset_wav', `${id}.wav`));
      const n = await readAudio(path.join(vb, 'noisy_testset_wav', `${id}.wav`));
      noisy += siSdr64(n.channels[0], c.channels[0]) / testIds.length;
    }
    for (const m of byTask('enhancement')) {
      expect(m.headline).toBe('sisdr');
      expect([...m.perUtterance.ids].sort()).toEqual(testIds);
      expect(m.test.sisdrNoisy).toBeCloseTo(noisy, 3);
      expect(m.test.sisdri).toBeCloseTo(m.test.sisdr - m.test.sisdrNoisy, 9);
      for (const k of ['stoi', 'segsnr', 'lsd']) expect(Number.isFinite(m.test[k])).toBe(true);
    }

    // MI: every model; Y = characters from the best-dev CTC model's forced alignment, none for VoiceBank.
    expect(rep.mi.map((x: { model: string }) => x.model).sort()).toEqual(rep.results.map((x: { name: string }) => x.name).sort());
    const al = JSON.parse(fs.readFileSync(path.join(out, '5-analysis', 'alignments-s0.json'), 'utf8'));
    const ctcNames = byTask('ctc').map((x: { name: string }) => x.name);
    expect(ctcNames).toContain(al.model);
    const best = byTask('ctc').reduce((a: { bestDev: number }, b: { bestDev: number }) => (b.bestDev < a.bestDev ? b : a));
    expect(al.model).toBe(best.name);
    expect(Object.keys(al.alignments).length + al.infeasible).toBe(4);
    for (const [id, a] of Object.entries(al.alignments) as Array<[string, { segments: Array<[string, number, number]> }]>) {
      // collapsing the 'fill' segments gives back the transcript's characters (repeats merged)
      const merged = a.segments.map((s) => (s[0] === '|' ? ' ' : s[0]));
      const ref = symbols(testT.get(id)!).filter((c, i, all) => i === 0 || c !== all[i - 1]);
      expect(merged).toEqual(ref);
    }
    for (const m of rep.mi) {
      const hasY = m.corrected.layers.some((l: { ity?: unknown }) => l.ity);
      expect({ model: m.model, hasY }).toEqual({ model: m.model, hasY: m.task !== 'enhancement' });
    }

    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    for (const h of ['## Verdict', '### Speech enhancement (test pairs)', 'CTC character recognition', 'This was a dry run']) expect(md).toContain(h);
    const ids = rep.verdict.map((v: { id: string }) => v.id);
    for (const id of ['R1', 'E1', 'C1', 'B3']) expect(ids).toContain(id);
    expect(rep.verdict.find((v: { id: string }) => v.id === 'C1').claim).toMatch(/CER/);
    for (const v of rep.verdict) expect(['supported', 'not supported', 'inconclusive', 'not measured']).toContain(v.decision);
    const bad = numbers(rep.results).filter(([k, v]) => !/bestDev|lastLoss/.test(k) && (v === null || !Number.isFinite(v)));
    expect(bad).toEqual([]);
  }, 240000);

  test('a missing data root, or one without test-clean, fails with the data-root error before any folder exists', async () => {
    const out1 = path.join(tmp, 'run-missing');
    const r1 = await cli(['reproduce', '--preset', 'paper', '--data-root', path.join(tmp, 'nowhere'), '--dry-run', '--out', out1]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/\[data-root\] .*nowhere: folder not found; expected a folder holding LibriSpeech\//);
    expect(fs.existsSync(out1)).toBe(false);

    const partial = path.join(tmp, 'partial');
    fs.cpSync(dataRoot, partial, { recursive: true });
    fs.rmSync(path.join(partial, 'LibriSpeech', 'test-clean'), { recursive: true });
    fs.rmSync(path.join(partial, 'VoiceBank-DEMAND', 'noisy_testset_wav'), { recursive: true });
    const out2 = path.join(tmp, 'run-partial');
    const r2 = await cli(['reproduce', '--preset', 'paper', '--data-root', partial, '--out', out2]);
    expect(r2.code).toBe(1);
    // one error listing both problems, each with what was expected
    expect(r2.stderr).toMatch(/\[data-root\] .*partial: 2 problems/);
    expect(r2.stderr).toMatch(/LibriSpeech test-clean not found; expected .*test-clean\/<speaker>\/<chapter>\/\*\.flac/);
    expect(r2.stderr).toMatch(/noisy_testset_wav not found/);
    expect(fs.existsSync(out2)).toBe(false);
  }, 60000);
});

describe('the feature cache of stage 1', () => {
  test('writes shards, resumes at the first unfinished one, skips a finished split; loadSplit reads back every utterance', async () => {
    const entries = readManifest(path.join(tmp, 'src', 'train.jsonl')).entries.slice(0, 7); // shards of 3: 3 + 3 + 1
    const dir = path.join(tmp, 'features');
    const f = (name: string) => path.join(dir, name);
    let n = 0;
    await cacheSplitFeatures(dir, 'train', entries, null, { shardSize: 3, onUtterance: (k) => { n += k; } });
    expect(n).toBe(7);
    expect(fs.readdirSync(dir).sort()).toEqual(['train-000.f32', 'train-000.json', 'train-001.f32', 'train-001.json', 'train-002.f32', 'train-002.json', 'train.json']);
    const check = async () => {
      const us = loadSplit({ featureDir: dir, featureDim: 80 } as CorpusRecord, 'train');
      expect(us.map((u) => u.id)).toEqual(entries.map((e) => e.id));
      for (const [i, u] of us.entries()) {
        const a = await readAudio(entries[i].audio);
        const want = fbank(a.channels[0], { sampleRate: 16000, nMels: 80 });
        expect(u.features.numFrames).toBe(want.numFrames);
        expect(Buffer.from(u.features.data.buffer, u.features.data.byteOffset, u.features.data.byteLength).equals(Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength))).toBe(true);
        expect(u.text).toBe(entries[i].text);
        expect(u.labels).toBeNull();
      }
    };
    await check();
    // Interrupted while writing shard 1: its frames are half there and its index is not.
    const mtime = (name: string) => fs.statSync(f(name)).mtimeMs;
    const before = { s0: mtime('train-000.f32'), s2: mtime('train-002.f32') };
    fs.rmSync(f('train.json'));
    fs.rmSync(f('train-001.json'));
    fs.writeFileSync(f('train-001.f32'), Buffer.alloc(100));
    await new Promise((r) => setTimeout(r, 20));
    n = 0;
    await cacheSplitFeatures(dir, 'train', entries, null, { shardSize: 3, onUtterance: (k) => { n += k; } });
    expect(n).toBe(7);
    expect({ s0: mtime('train-000.f32'), s2: mtime('train-002.f32') }).toEqual(before);
    expect(fs.statSync(f('train-001.f32')).size).toBeGreaterThan(100);
    await check();
    // A finished split is not touched again; other utterances start it over.
    const all = fs.readdirSync(dir).map((name) => [name, mtime(name)]);
    await cacheSplitFeatures(dir, 'train', entries, null, { shardSize: 3 });
    expect(fs.readdirSync(dir).map((name) => [name, mtime(name)])).toEqual(all);
    await cacheSplitFeatures(dir, 'train', entries.slice(1), null, { shardSize: 3 });
    expect(loadSplit({ featureDir: dir, featureDim: 80 } as CorpusRecord, 'train').map((u) => u.id)).toEqual(entries.slice(1).map((e) => e.id));
  }, 60000);
});
