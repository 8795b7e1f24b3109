/**
 * Stage 4 of the main job (reproduce.runHubertStage) on a tiny synth corpus with 1-layer d-32
 * HuBERTs: the MFCC k-means targets against float64 brute force (nearest centroids, PNMI,
 * purities, chance), three parameter-matched models pre-trained and fine-tuned with per-utterance
 * PER that an independent edit distance reproduces, resumability (a finished stage trains nothing;
 * a model without result.json comes back from its checkpoints with the same numbers; a run stopped
 * during pre-training resumes at the next step and ends where an unbroken run ends), the verdict
 * items S1/S2/B4/B5 and the report's HuBERT section, the MI analysis of a fine-tuned HuBERT, and
 * the CNN front end (bit-exact int16 wave cache, the same targets, X = log-mel frames 2t+1, 2t+2).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readAudio } from '../../lib/audio/flac';
import { readManifest } from '../../lib/data/manifest';
import { Tokenizer } from '../../lib/data/tokenizer';
import { loadSafetensors } from '../../lib/io/safetensors';
import { collateAsr } from '../../lib/models/collate';
import { HubertCtc } from '../../lib/models/hubert/hubert_ctc';
import { mfcc39 } from '../../lib/models/hubert/targets';
import { loadModel } from '../../lib/models/registry';
import { CorpusRecord, loadSplit, prepareCorpus, Utterance } from '../../lib/reproduce/corpus';
import { encoderParameters } from '../../lib/reproduce/encoders';
import { readWave, waveIndex } from '../../lib/reproduce/hubert_data';
import { HubertStageRecord, hubertAnalysisInput, hubertEncoders, runHubertStage } from '../../lib/reproduce/hubert_stage';
import { analyseModel, corpusAlignments } from '../../lib/reproduce/mi_stage';
import { getPreset, Preset } from '../../lib/reproduce/presets';
import { writeReport } from '../../lib/reproduce/report';
import { decide } from '../../lib/reproduce/stats';
import type { ModelResult } from '../../lib/reproduce/training';
import type { Tensor } from '../../lib/tensor/tensor';
import { corpusValue, verdict } from '../../lib/reproduce/verdict';

jest.setTimeout(180_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-hubert-stage-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const K = 16;
const tr = (steps: number) => ({ steps, maxFrames: 1500, lr: 5e-3, warmup: 3, evalEvery: steps });

function tinyPreset(frontend: 'logmel' | 'cnn', steps: number, encoders: NonNullable<Preset['hubert']>['encoders']): Preset {
  const p = getPreset('small');
  p.corpus = { ...p.corpus, numUtterances: 40, numSpeakers: 8, minSeconds: 0.8, maxSeconds: 1.2, espeak: false };
  p.hubert = {
    encoders, pretrain: tr(steps), finetune: tr(steps), clusters: K, frontend, extractorChannels: 16, kmeansFrames: 3000,
    model: { layers: 1, dModel: 32, heads: 2, dropout: 0, dState: 8 },
  };
  p.analysis = { maxFrames: 300, seeds: 1, steps: 20, pca: 4, batchSize: 64, probeSteps: 50, paperUtterances: 1, calibrate: false, ityCritic: true };
  return p;
}

const preset = tinyPreset('logmel', 24, ['transformer', 'transbimamba', 'conbimamba']);
let corpus: CorpusRecord;
let train: Utterance[], dev: Utterance[], testSet: Utterance[];
let rec: HubertStageRecord;
const stageDir = path.join(tmp, 'stage4');
const steps: string[] = [];

async function run(dir: string, p: Preset, hooks: Parameters<typeof runHubertStage>[0]['hooks'] = {}): Promise<HubertStageRecord> {
  return runHubertStage({ dir, preset: p, corpus, train, dev, test: testSet, device: 'cpu', seeds: [0], hooks });
}

beforeAll(async () => {
  corpus = await prepareCorpus(path.join(tmp, 'stage1'), preset, 7);
  train = loadSplit(corpus, 'train'); dev = loadSplit(corpus, 'dev'); testSet = loadSplit(corpus, 'test');
  rec = await run(stageDir, preset, { onStep: (name) => steps.push(name) });
});

/** Levenshtein distance between token sequences (integer DP). */
function edits(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; ++i) {
    const cur = [i];
    for (let j = 1; j <= b.length; ++j) cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length];
}

const readKm = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l, i, all) => i < all.length - 1 || l !== '').map((l) => (l ? l.split(' ').map(Number) : []));

describe('HuBERT targets', () => {
  test('labels are the nearest centroids of the MFCC frames; PNMI, purities and chance follow from the label files', async () => {
    const t = rec.targets;
    const { tensors } = loadSafetensors(t.files.kmeans, { device: 'cpu', asFloat32: true });
    const C = tensors.centroids.dataSync() as Float32Array;
    Object.values(tensors).forEach((x) => x.dispose());
    expect(C.length).toBe(K * 39);
    const trainKm = readKm(t.files.train), devKm = readKm(t.files.dev);
    expect([trainKm.length, devKm.length]).toEqual([train.length, dev.length]);
    let frames = 0, mismatches = 0, checked = 0;
    const manifest = (split: string) => new Map(readManifest(path.join(corpus.corpusDir, `${split}.jsonl`)).entries.map((e) => [e.id, e.audio]));
    const audioOf = { train: manifest('train'), dev: manifest('dev') };
    for (const [split, utts, km] of [['train', train, trainKm], ['dev', dev, devKm]] as const) {
      for (const [i, u] of utts.entries()) {
        const a = await readAudio(audioOf[split].get(u.id) as string, { mono: true });
        const n = a.channels[0].length;
        // Kaldi snip edges: 1 + floor((n - 400) / 160) frames
        expect(km[i].length).toBe(1 + Math.floor((n - 400) / 160));
        if (split === 'train') frames += km[i].length;
        if (split === 'train' && i >= 4) continue;
        const m = mfcc39(a.channels[0], a.sampleRate).data;
        for (let f = 0; f < km[i].length; ++f, ++checked) {
          let best = -1, bestD = Infinity, labelD = 0;
          for (let k = 0; k < K; ++k) {
            let d = 0;
            for (let j = 0; j < 39; ++j) d += (m[f * 39 + j] - C[k * 39 + j]) ** 2;
            if (d < bestD) { bestD = d; best = k; }
            if (k === km[i][f]) labelD = d;
          }
          // float32 GEMM distances may flip a near tie; such a label must be as near as the best
          if (best !== km[i][f]) { ++mismatches; expect(labelD - bestD).toBeLessThan(1e-3 * bestD + 1e-3); }
        }
      }
    }
    expect(mismatches).toBeLessThanOrEqual(Math.ceil(0.005 * checked));
    expect(t.trainFrames).toBe(frames);
    expect(t.fitFrames).toBe(Math.min(3000, frames));
    expect(t.k).toBe(K);

    // float64 contingency of the dev frames: phone of MFCC frame f = alignment frame f + 1
    const P = corpus.tokenizer.tokens.length;
    const table = new Float64Array(P * K);
    let N = 0;
    dev.forEach((u, i) => devKm[i].forEach((z, f) => { ++table[u.labels![Math.min(f + 1, u.labels!.length - 1)] * K + z]; ++N; }));
    const py = new Float64Array(P), pz = new Float64Array(K);
    for (let y = 0; y < P; ++y) for (let z = 0; z < K; ++z) { py[y] += table[y * K + z] / N; pz[z] += table[y * K + z] / N; }
    let mi = 0, hy = 0, phonePurity = 0, clusterPurity = 0;
    for (let y = 0; y < P; ++y) {
      if (py[y] > 0) hy -= py[y] * Math.log(py[y]);
      let m = 0;
      for (let z = 0; z < K; ++z) {
        const p = table[y * K + z] / N;
        if (p > 0) mi += p * Math.log(p / (py[y] * pz[z]));
        m = Math.max(m, p);
      }
      clusterPurity += m;
    }
    for (let z = 0; z < K; ++z) {
      let m = 0;
      for (let y = 0; y < P; ++y) m = Math.max(m, table[y * K + z] / N);
      phonePurity += m;
    }
    const q = t.quality!.dev;
    expect(q.frames).toBe(N);
    expect(q.pnmi).toBeCloseTo(mi / hy, 10);
    expect(q.phonePurity).toBeCloseTo(phonePurity, 10);
    expect(q.clusterPurity).toBeCloseTo(clusterPurity, 10);
    // MFCC clusters carry phone information (PNMI of independent labels is 0)
    expect(q.pnmi).toBeGreaterThan(0.3);
    expect(t.chance).toBeCloseTo(Math.max(...pz), 12);
  });
});

describe('HuBERT models', () => {
  test('three parameter-matched encoders, pre-trained then fine-tuned; per-utterance PER reproduced by an independent edit distance', async () => {
    const matched = hubertEncoders(preset);
    expect(rec.results.map((r) => r.name)).toEqual(['hubert-ctc-transformer-s0', 'hubert-ctc-transbimamba-s0', 'hubert-ctc-conbimamba-s0']);
    expect(steps.filter((s) => s.endsWith('(pre-training)')).length).toBe(3 * 24);
    expect(steps.filter((s) => s.endsWith('(fine-tuning)')).length).toBe(3 * 24);
    const ref = matched.find((e) => e.type === 'conbimamba')!.parameters;
    const tok = Tokenizer.fromJSON(corpus.tokenizer);
    for (const [i, r] of rec.results.entries()) {
      expect({ task: r.task, headline: r.headline, seed: r.seed, encoder: r.encoder }).toEqual({ task: 'hubert-ctc', headline: 'per', seed: 0, encoder: matched[i].type });
      expect(r.encoderParameters).toBe(encoderParameters(matched[i].spec));
      expect(Math.abs(r.encoderParameters - ref) / ref).toBeLessThan(0.05);
      // pre-training: dev masked loss below the uniform predictor's ln K
      const pre = r.pretrain!;
      expect(pre.steps).toBe(24);
      expect(pre.chance).toBe(rec.targets.chance);
      expect(pre.dev.acc_m).toBeGreaterThanOrEqual(0);
      expect(pre.dev.acc_m).toBeLessThanOrEqual(1);
      expect(pre.dev.loss_m).toBeLessThan(Math.log(K) - 0.1);
      expect(r.trainSeconds).toBeGreaterThan(pre.seconds);
      expect(r.steps).toBe(24);
      const losses = fs.readFileSync(path.join(r.dir, 'finetune', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'train').map((x) => x.loss as number);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);

      const model = loadModel(r.weights, { device: 'cpu' }) as unknown as HubertCtc;
      try {
        expect(model).toBeInstanceOf(HubertCtc);
        expect(model.numParameters()).toBe(r.parameters);
        expect(model.cfg.frontend).toBe('logmel');
        expect(model.cfg.encoder.type).toBe(matched[i].type);
        const batch = collateAsr(testSet.map((u) => ({ id: u.id, features: u.features, phones: u.phones })), tok, { device: 'cpu' });
        const hyps = model.decode(batch).tokens;
        batch.dispose();
        expect(r.perUtterance.ids).toEqual(testSet.map((u) => u.id));
        testSet.forEach((u, k) => {
          const refIds = tok.encode(u.phones);
          expect(r.perUtterance.weights[k]).toBe(refIds.length);
          expect(r.perUtterance.values[k]).toBeCloseTo(edits(refIds, hyps[k]) / refIds.length, 12);
        });
        expect(corpusValue(r)).toBeCloseTo(r.test.per, 12);
        expect(r.test.utterances).toBe(testSet.length);
      } finally {
        model.parameters().forEach((p) => p.dispose());
      }
    }
  });

  test('a second call trains nothing; a model without result.json comes back from its checkpoints with the same numbers', async () => {
    const again: string[] = [];
    const r2 = await run(stageDir, preset, { onStep: (n) => again.push(n) });
    expect(again).toEqual([]);
    expect(r2).toEqual(rec);
    const victim = rec.results[1];
    fs.rmSync(path.join(victim.dir, 'result.json'));
    expect(fs.existsSync(path.join(victim.dir, 'pretrain', 'checkpoints'))).toBe(false); // dropped once hubert.safetensors exists
    const r3 = await run(stageDir, preset, { onStep: (n) => again.push(n) });
    expect(again).toEqual([]);
    const back = r3.results[1];
    expect({ test: back.test, per: back.perUtterance, pretrain: back.pretrain?.dev, bestDev: back.bestDev }).toEqual({ test: victim.test, per: victim.perUtterance, pretrain: victim.pretrain?.dev, bestDev: victim.bestDev });
  });

  test('stopped during pre-training, a rerun resumes at the next step and ends where the unbroken run ended', async () => {
    const p = tinyPreset('logmel', 24, ['transformer']);
    const dir = path.join(tmp, 'stopped');
    let stop: (() => void) | null = null;
    const first = await run(dir, p, { onTrainer: (s) => { stop = s; }, onStep: (_n, step) => { if (step === 8) stop?.(); } });
    expect(first.results[0].test).toEqual({});
    expect(fs.existsSync(path.join(first.results[0].dir, 'result.json'))).toBe(false);
    const seen: Array<[string, number]> = [];
    const second = await run(dir, p, { onStep: (n, step) => seen.push([n, step]) });
    expect(seen[0]).toEqual(['hubert-ctc-transformer-s0 (pre-training)', 9]);
    const a = second.results[0], b = rec.results[0];
    expect({ pre: a.pretrain?.dev, test: a.test, per: a.perUtterance }).toEqual({ pre: b.pretrain?.dev, test: b.test, per: b.perUtterance });
  });
});

describe('HuBERT in the verdict, the report and the analysis', () => {
  const fake = (encoder: 'transformer' | 'transbimamba' | 'conbimamba', values: number[], seed = 0): ModelResult => ({
    name: `hubert-ctc-${encoder}-s${seed}`, task: 'hubert-ctc', encoder, seed, parameters: 1, encoderParameters: 1, dir: '', weights: '', steps: 1, trainSeconds: 1,
    lastLoss: null, bestDev: null, headline: 'per', test: {}, perUtterance: { ids: values.map((_, i) => `u${i}`), values, weights: values.map((_, i) => 2 + (i % 3)) },
    pretrain: { steps: 1, seconds: 1, parameters: 1, weights: '', dev: { acc_m: encoder === 'conbimamba' ? 0.1 : 0.5 }, chance: 0.3 },
  });

  test('S1 / S2 are the paired bootstrap of the fine-tuned PER; B4 / B5 count the models', () => {
    // TransBiMamba clearly below the Transformer on every utterance, ConBiMamba the same: S1
    // supported, S2 inconclusive; ConBiMamba's pre-training below chance: B4 not supported
    const base = Array.from({ length: 30 }, (_, i) => 0.3 + 0.01 * (i % 7));
    const rs = [fake('transformer', base), fake('transbimamba', base.map((v) => v - 0.1)), fake('conbimamba', base)];
    const items = verdict(rs, new Map(), { reconstructionMeanL1: null });
    const by = new Map(items.map((v) => [v.id, v]));
    const w = rs[0].perUtterance.weights, W = w.reduce((x, y) => x + y, 0);
    expect(by.get('S1')!.difference!.mean).toBeCloseTo(-0.1 * w.reduce((x, y) => x + y, 0) / W, 12);
    expect(by.get('S1')!.decision).toBe('supported');
    expect(by.get('S2')!.difference).toEqual({ mean: 0, lo: 0, hi: 0, draws: 2000 });
    expect(by.get('S2')!.decision).toBe('inconclusive');
    expect(by.get('B4')!.decision).toBe('not supported');
    expect(by.get('B4')!.comparison).toMatch(/^2 of 3 /);
    expect(by.get('B5')!.decision).toBe('supported');
    // the run's own models: the items exist and follow from their intervals
    const real = verdict(rec.results, new Map(), { reconstructionMeanL1: null });
    for (const id of ['S1', 'S2']) {
      const v = real.find((x) => x.id === id)!;
      expect(v.decision).toBe(decide(v.difference!));
      const enc = id === 'S1' ? 'transbimamba' : 'conbimamba';
      expect(v.difference!.mean).toBeCloseTo(corpusValue(rec.results.find((r) => r.encoder === enc)!) - corpusValue(rec.results[0]), 12);
    }
    // presets without HuBERT get no S / B4 / B5 items
    expect(verdict([], new Map(), { reconstructionMeanL1: null }).map((v) => v.id).filter((id) => /^S|^B[45]/.test(id))).toEqual([]);
  });

  test('report.md has the HuBERT section and report.json the targets', () => {
    const out = path.join(tmp, 'report');
    fs.mkdirSync(out);
    const v = verdict(rec.results, new Map(), { reconstructionMeanL1: null });
    const files = writeReport({
      outDir: out, corpus, results: rec.results, mi: [], verdict: v, baselines: { reconstructionMeanL1: null }, hubert: rec,
      encoders: { reconstruction: [], classification: [] },
      info: { preset, device: 'cpu', seeds: [0], startedAt: 'now', seconds: 1, stageSeconds: {}, version: 'test' },
    });
    const md = fs.readFileSync(files.md, 'utf8');
    expect(md).toContain('### Self-supervised: HuBERT pre-training, then CTC fine-tuning');
    expect(md).toContain(`PNMI ${rec.targets.quality!.dev.pnmi.toFixed(3)}`);
    expect(md).toContain(`K = ${K}`);
    for (const r of rec.results) {
      const label = { transformer: 'Transformer', transbimamba: 'TransBiMamba', conbimamba: 'ConBiMamba' }[r.encoder as 'transformer'];
      expect(md).toContain(`| ${label}-HuBERT | ${(r.parameters / 1e6).toFixed(2)} M (${(r.encoderParameters / 1e6).toFixed(2)} M) | 24 | ${(100 * r.pretrain!.dev.acc_m).toFixed(1)}% |`);
      expect(md).toMatch(new RegExp(`\\| HuBERT \\+ CTC phone recognition \\| ${label} \\|`));
    }
    expect(md).toMatch(/\| S1 \| self-supervised: fine-tuned with CTC, TransBiMamba-HuBERT reaches Transformer-HuBERT/);
    const json = JSON.parse(fs.readFileSync(files.json, 'utf8'));
    expect(json.hubertTargets).toEqual(rec.targets);
    expect(json.encoders['self-supervised'].map((e: { type: string }) => e.type)).toEqual(['transformer', 'transbimamba', 'conbimamba']);
  });

  test('the MI analysis reads a fine-tuned HuBERT layer by layer with Y = phones', async () => {
    const r = rec.results[2];
    const mi = await analyseModel({ dir: path.join(tmp, 'mi'), result: r, preset, corpus, test: testSet, alignments: corpusAlignments(corpus), device: 'cpu', paper: false });
    expect(mi.model).toBe(r.name);
    expect(mi.corrected.layers.map((l) => l.index)).toEqual([0, 1]);
    for (const l of mi.corrected.layers) {
      expect(Number.isFinite(l.ixt.nats)).toBe(true);
      expect(Number.isFinite(l.ity?.probe?.nats ?? NaN)).toBe(true);
    }
  });
});

describe('HuBERT with the waveform CNN front end', () => {
  test('int16 wave cache is bit-exact, targets equal the log-mel run\'s, X of the analysis = log-mel frames 2t+1, 2t+2', async () => {
    const p = tinyPreset('cnn', 6, ['transformer']);
    const dir = path.join(tmp, 'cnn');
    const r = await run(dir, p);
    const waves = path.join(dir, 'waves');
    const entries = new Map(readManifest(path.join(corpus.corpusDir, 'test.jsonl')).entries.map((e) => [e.id, e.audio]));
    for (const w of waveIndex(waves, 'test')!) {
      const a = await readAudio(entries.get(w.id) as string, { mono: true });
      expect(Buffer.from(readWave(waves, w).buffer).equals(Buffer.from(a.channels[0].buffer, a.channels[0].byteOffset, a.channels[0].byteLength))).toBe(true);
    }
    for (const f of ['train.km', 'dev.km']) expect(fs.readFileSync(path.join(dir, 'targets', f), 'utf8')).toBe(fs.readFileSync(path.join(stageDir, 'targets', f), 'utf8'));
    expect(r.frontend).toBe('cnn');
    const res = r.results[0];
    expect(res.perUtterance.ids).toEqual(testSet.map((u) => u.id));
    expect(corpusValue(res)).toBeCloseTo(res.test.per, 12);

    const model = loadModel(res.weights, { device: 'cpu' }) as unknown as HubertCtc;
    try {
      expect(model.cfg.frontend).toBe('cnn');
      const inp = hubertAnalysisInput(model, res, corpus, testSet, 'cpu');
      expect(inp.frameShift).toBe(1 / 16000);
      const batches = inp.batches()[Symbol.iterator]();
      const batch = batches.next().value as { ids: string[]; features: Tensor; lengths: Int32Array };
      expect(batch.features.shape[2]).toBe(1); // waveforms
      const hs = model.hiddenStates(batch);
      const x = (inp.x as (b: unknown, h: typeof hs) => Tensor)(batch, hs);
      const [B, T, D] = x.shape;
      expect([B, T, D]).toEqual([batch.ids.length, hs.states[0].shape[1], 160]);
      const xd = x.dataSync() as Float32Array;
      const u = testSet.find((q) => q.id === batch.ids[0])!;
      for (const t of [0, 1, T - 1]) {
        for (let k = 0; k < 2; ++k) {
          const src = Math.min(2 * t + 1 + k, u.features.numFrames - 1);
          expect(Array.from(xd.subarray(t * 160 + k * 80, t * 160 + (k + 1) * 80))).toEqual(Array.from(u.features.data.subarray(src * 80, (src + 1) * 80)));
        }
      }
      x.dispose();
      hs.states.forEach((s) => s.dispose());
      hs.inputs?.dispose();
      batches.return?.();
    } finally {
      model.parameters().forEach((q) => q.dispose());
    }
  });
});
