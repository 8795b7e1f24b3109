// models.Hubert and models.HubertCtc, unit level: the loss against a float64 recomputation from
// the model's own outputs (cosine logits / 0.1, CE over masked frames, feature penalty); the CNN
// gradient scaled by exactly featureGradMult (0 = frozen); masks on labelled frames only;
// label-length and class errors; bad input; config / save / load round trips; hidden states;
// iteration-2 layer features; HubertCtc from a pre-trained model, the encoder frozen for N updates,
// num_updates saved; no tensor leak over training steps; batching.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { data, memory, optim, randn, tensor, Tensor } from '../../lib';
import {
  collateHubert, Hubert, HubertCtc, HubertOptions, hubertBase, hubertBatchSource, hubertTiny, layerFeatures, layerTargets,
} from '../../lib/models/hubert';
import type { EncoderType } from '../../lib/models/encoder_spec';
import { describeCuda } from '../helpers/devices';

const enc = (type: EncoderType = 'transformer') => ({ type, layers: 2, dModel: 16, heads: 2, ffnDim: 24, dState: 4, depthwiseKernel: 3, dropout: 0 });
const tinyLogmel = (o: Partial<HubertOptions> = {}) => new Hubert({
  encoder: enc(), frontend: 'logmel', nMels: 12, extractorChannels: 8, posConvKernel: 8, posConvGroups: 4, numClasses: 7, finalDim: 6,
  mask: { maskLength: 2 }, dropoutInput: 0, device: 'cpu', ...o,
});
const tinyCnn = (o: Partial<HubertOptions> = {}) => new Hubert({
  encoder: enc(), frontend: 'cnn', extractorChannels: 8, posConvKernel: 8, posConvGroups: 4, numClasses: 7, finalDim: 6, labelRate: 100,
  mask: { maskLength: 2 }, dropoutInput: 0, device: 'cpu', ...o,
});

/** A log-mel batch (B = 3, T = 41, F = 12) with 100 Hz labels of each item's length. */
function logmelBatch(seed = 1) {
  const lengths = Int32Array.of(41, 33, 29);
  const x = randn([3, 41, 12], { seed });
  const labels = Array.from(lengths, (n, b) => Int32Array.from({ length: n }, (_, i) => (i * (b + 2)) % 7));
  return { ids: ['a', 'b', 'c'], features: x, lengths, labels };
}

function waveBatch(seed = 2) {
  const lengths = Int32Array.of(4000, 3217);
  const x = randn([2, 4000], { seed });
  const labels = Array.from(lengths, (n) => Int32Array.from({ length: Math.floor((n - 400) / 160) + 1 }, (_, i) => i % 7));
  return { features: x, lengths, labels };
}

describe('Hubert', () => {
  test('loss = CE over masked frames of cos(final_proj(x), e_k) / 0.1 + 10 · mean(features²), recomputed in float64', () => {
    const m = tinyLogmel().eval();
    const batch = logmelBatch();
    const f = m.forward(batch, { maskSeed: 5 });
    const r = m.loss(batch, { maskSeed: 5 });
    const [B, T, K] = f.logits.shape;
    // logits from the encoder output and the head weights, float64
    const out = f.out.dataSync(), W = m.final_proj.weight.dataSync(), bias = m.final_proj.bias!.dataSync(), E = m.label_embeddings.dataSync();
    const d = 16, F = 6, logits = f.logits.dataSync();
    let ce = 0, n = 0, maxErr = 0;
    for (let i = 0; i < B * T; ++i) {
      const p = Array.from({ length: F }, (_, j) => { let s = bias[j]; for (let c = 0; c < d; ++c) s += W[j * d + c] * out[i * d + c]; return s; });
      const pn = Math.sqrt(p.reduce((s, v) => s + v * v, 0));
      const z = Array.from({ length: K }, (_, k) => {
        let dot = 0, en = 0;
        for (let j = 0; j < F; ++j) { dot += p[j] * E[k * F + j]; en += E[k * F + j] ** 2; }
        return dot / (pn * Math.sqrt(en)) / 0.1;
      });
      z.forEach((v, k) => (maxErr = Math.max(maxErr, Math.abs(v - logits[i * K + k]))));
      if (f.targets[i] >= 0 && f.mask.mask[i]) {
        const mx = Math.max(...z);
        ce += mx + Math.log(z.reduce((s, v) => s + Math.exp(v - mx), 0)) - z[f.targets[i]];
        ++n;
      }
    }
    expect(maxErr).toBeLessThan(1e-4);
    expect(n).toBeGreaterThan(0);
    expect(n).toBe(r.metrics.masked);
    const feats = Array.from(f.features.dataSync());
    const pen = feats.reduce((s, v) => s + v * v, 0) / feats.length;
    expect(r.loss.item()).toBeCloseTo(ce / n + 10 * pen, 4);
    expect(r.count).toBe(n);
    // frames past an item's labelled frames (padding) carry no target and no mask
    for (let b = 0; b < B; ++b) for (let t = f.labelled[b]; t < T; ++t) {
      expect(f.targets[b * T + t]).toBe(-1);
      expect(f.mask.mask[b * T + t]).toBe(0);
    }
  });

  test('the CNN gradient is scaled by featureGradMult exactly; 0 freezes it; the rest is unchanged', () => {
    const batch = waveBatch();
    const grads = (mult: number) => {
      const m = tinyCnn({ featureGradMult: mult, seed: 3 }).eval();
      const r = m.loss(batch, { maskSeed: 9 });
      r.loss.backward();
      return Object.fromEntries(m.namedParameters().map(([k, p]) => [k, p.grad ? Array.from(p.grad.dataSync()) : null]));
    };
    const g1 = grads(1), g01 = grads(0.1), g0 = grads(0);
    for (const k of Object.keys(g1)) {
      if (k.startsWith('feature_extractor.')) {
        g1[k]!.forEach((v, i) => expect(g01[k]![i]).toBeCloseTo(0.1 * v, 6));
        expect(g0[k]).toBeNull();
      } else if (g1[k]) {
        expect(g01[k]).toEqual(g1[k]);
      }
    }
    expect(g1['mask_embedding']!.some((v) => v !== 0)).toBe(true);
  });

  test('training-mode masks follow the global generator (manualSeed), eval has none unless seeded', () => {
    const { manualSeed } = require('../../lib') as typeof import('../../lib');
    const m = tinyLogmel();
    const batch = logmelBatch();
    manualSeed(4);
    const a = m.forward(batch).mask.mask;
    manualSeed(4);
    const b = m.forward(batch).mask.mask;
    const c = m.forward(batch).mask.mask;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
    m.eval();
    expect(m.forward(batch).mask.counts.every((v) => v === 0)).toBe(true);
  });

  test('bad input: labels of the wrong length or class, missing labels, shapes, lengths, too-short items, no masked frame', () => {
    const m = tinyLogmel();
    const batch = logmelBatch();
    expect(() => m.loss({ ...batch, labels: [batch.labels[0], batch.labels[1].subarray(0, 10), batch.labels[2]] }))
      .toThrow(/\[Hubert\] labels of "b" cover 0\.100 s \(10 labels at 100 Hz\) but its audio is 0\.330 s/);
    expect(() => m.loss({ ...batch, labels: [batch.labels[0], batch.labels[1], Int32Array.from(batch.labels[2], () => 9)] })).toThrow(/labels of "c" hold 9, outside the K = 7 classes/);
    expect(() => m.loss({ features: batch.features, lengths: batch.lengths })).toThrow(/batch\.labels must hold B = 3 label arrays/);
    expect(() => m.loss({ ...batch, features: randn([3, 12, 41]) })).toThrow(/features must be \(B, T, 12\) log-mel features, got \(3, 12, 41\): this looks like \(B, F, T\)/);
    expect(() => m.loss({ ...batch, lengths: [41, 42, 3] })).toThrow(/lengths\[1\] = 42 is outside \[1, 41\]/);
    expect(() => m.loss({ ...batch, lengths: [41, 5, 29] })).toThrow(/item 1 has 5 frames; the logmel front end needs at least 7/);
    expect(() => tinyCnn().loss({ features: randn([1, 300]), labels: [new Int32Array(1)] })).toThrow(/item 0 has 300 samples; the cnn front end needs at least 400/);
    const none = tinyLogmel({ mask: { maskProb: 0, minMasks: 0 } });
    expect(() => none.loss(batch)).toThrow(/\[Hubert\] no masked frame in this batch .*maskProb > 0 or minMasks > 0/);
    expect(() => new Hubert({ ...hubertTiny(), numClasses: 0 })).toThrow(/\[Hubert\] numClasses must be a positive integer, got 0/);
    expect(() => new Hubert({ ...hubertTiny(), posConvGroups: 5 })).toThrow(/dModel \(64\) must be divisible by posConvGroups \(5\)/);
    expect(() => new Hubert({ ...hubertTiny(), bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
  });

  test('config, save and load round trip; base preset sizes match the paper', () => {
    const a = tinyCnn({ seed: 7 });
    const b = Hubert.fromConfig(JSON.parse(JSON.stringify(a.toConfig())), { device: 'cpu' });
    expect(b.toConfig()).toEqual(a.toConfig());
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubert-'));
    const file = path.join(tmp, 'h.safetensors');
    a.save(file);
    const c = tinyCnn({ seed: 8 });
    c.load(file);
    const batch = waveBatch();
    const la = a.eval().forward(batch, { maskSeed: 1 }).logits.dataSync(), lc = c.eval().forward(batch, { maskSeed: 1 }).logits.dataSync();
    expect(Array.from(lc)).toEqual(Array.from(la));
    // models.create / models.loadModel rebuild it from the config (the checkpoint's metadata)
    const { models } = require('../../lib') as typeof import('../../lib');
    const viaCreate = models.create(a.toConfig(), { device: 'cpu' }) as Hubert;
    expect(viaCreate).toBeInstanceOf(Hubert);
    const loaded = models.loadModel(file, { device: 'cpu' }) as Hubert;
    expect(Array.from(loaded.eval().forward(batch, { maskSeed: 1 }).logits.dataSync())).toEqual(Array.from(la));
    const ctc = HubertCtc.fromPretrained(a, { vocabSize: 4 });
    expect(models.create(ctc.toConfig(), { device: 'cpu' })).toBeInstanceOf(HubertCtc);
    fs.rmSync(tmp, { recursive: true });
    const base = hubertBase('conbimamba');
    expect(base.encoder).toMatchObject({ type: 'conbimamba', layers: 12, dModel: 768, ffnDim: 3072, heads: 12 });
    expect([base.extractorChannels, base.finalDim, base.numClasses]).toEqual([512, 256, 100]);
  });

  test.each(['transformer', 'mamba', 'transbimamba'] as EncoderType[])('hiddenStates (%s): L + 1 states at T\' frames, eval mode, caller-owned inputs', (type) => {
    const m = tinyLogmel({ encoder: enc(type) });
    m.train();
    const batch = logmelBatch();
    const hs = m.hiddenStates(batch);
    expect(m.training).toBe(true);
    expect(hs.states.length).toBe(3);
    hs.states.forEach((s) => expect(s.shape).toEqual([3, 9, 16]));
    expect(Array.from(hs.lengths)).toEqual([9, 7, 6]); // ((T - 1) // 2 - 1) // 2
    expect(hs.subsampling).toBe(4);
    hs.inputs!.dispose();
    expect(batch.features.isDisposed).toBe(false);
  });

  test('iteration 2: layer features of valid frames per utterance, and k-means targets at the model frame rate', async () => {
    const m = tinyLogmel();
    const batch = logmelBatch();
    const items = await layerFeatures(m, [batch], 1);
    expect(items.map((it) => [it.numFrames, it.dim])).toEqual([[9, 16], [7, 16], [6, 16]]);
    const t = await layerTargets(m, [batch], { layer: 2, frameRate: m.frameRate, k: 4, nInit: 1, batchSize: 8, maxIter: 5 });
    expect(t.labelRate).toBe(25);
    expect(t.labels.map((l) => l.length)).toEqual([9, 7, 6]);
    await expect(layerFeatures(m, [batch], 3)).rejects.toThrow(/layer must be in \[0, 2\]/);
  });

  test('a training loop does not grow the live tensor count', () => {
    const m = tinyLogmel();
    const opt = new optim.AdamW(m.parameters(), { lr: 1e-3 });
    const batch = logmelBatch();
    let live = -1;
    for (let s = 0; s < 6; ++s) {
      const r = m.loss(batch);
      r.loss.backward();
      r.loss.dispose();
      opt.step();
      opt.zeroGrad();
      if (s === 1) live = memory().tensors;
    }
    expect(memory().tensors).toBe(live);
  });

  test('collateHubert and hubertBatchSource: padded features, host labels, the same batches per epoch', () => {
    const items = [5, 9, 7, 12].map((n, i) => ({ id: `u${i}`, input: Float32Array.from({ length: n * 100 }, (_, j) => Math.sin(j + i)), labels: new Int32Array(n) }));
    const b = collateHubert(items.slice(0, 2));
    expect(b.features.shape).toEqual([2, 900, 1]);
    expect(Array.from(b.lengths)).toEqual([500, 900]);
    expect(b.labels!.map((l) => l.length)).toEqual([5, 9]);
    b.dispose();
    const src = hubertBatchSource(items, { maxFrames: 2000, seed: 1 });
    const ids = (e: number) => [...(src.epoch(e) as Iterable<{ ids: string[] }>)].map((x) => x.ids.join(','));
    expect(ids(0)).toEqual(ids(0));
    expect(ids(0).join(',').split(',').sort()).toEqual(['u0', 'u1', 'u2', 'u3']);
    expect(() => collateHubert([{ input: new Float32Array(3), labels: [1] }, { input: new Float32Array(3) }])).toThrow(/some items have labels and some do not/);
  });
});

describe('HubertCtc', () => {
  const tok = new data.Tokenizer('phone', ['a', 'b', 'c']);
  function ctcBatch() {
    const b = logmelBatch();
    const refs = [Int32Array.of(2, 3, 4), Int32Array.of(3, 3), Int32Array.of(4)];
    const t = new Int32Array(9);
    refs.forEach((r, i) => t.set(r, i * 3));
    return { features: b.features, lengths: b.lengths, targets: tensor(t, [3, 3], { dtype: 'int32' }), targetLengths: Int32Array.of(3, 2, 1), refs };
  }

  test('fromPretrained copies the backbone; the encoder is frozen for N updates, the CNN/front end always; num_updates is saved', () => {
    const pre = tinyLogmel({ seed: 4 });
    const m = HubertCtc.fromPretrained(pre, { tokenizer: tok, freezeEncoderUpdates: 2 });
    expect(Array.from(m.mask_embedding.dataSync())).toEqual(Array.from(pre.mask_embedding.dataSync()));
    expect(Array.from(m.encoder.layers[1].parameters()[0].dataSync())).toEqual(Array.from(pre.encoder.layers[1].parameters()[0].dataSync()));
    expect(m.stateDict()).not.toHaveProperty('label_embeddings');
    const batch = ctcBatch();
    const step = () => {
      m.zeroGrad();
      const r = m.loss(batch);
      r.loss.backward();
      const g = (k: string) => m.namedParameters().find(([n]) => n === k)![1].grad;
      return { frozen: r.metrics.frozen, enc: g('encoder.layers.0.linear1.weight'), head: g('ctc_proj.weight'), front: g('subsampling.conv.0.weight') };
    };
    const s1 = step(), s2 = step(), s3 = step();
    expect([s1.frozen, s2.frozen, s3.frozen]).toEqual([1, 1, 0]);
    expect(s1.enc).toBeNull();
    expect(s1.head).not.toBeNull();
    expect(s3.enc).not.toBeNull();
    expect([s1.front, s3.front]).toEqual([null, null]);
    expect(m.numUpdates).toBe(3);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubert-ctc-'));
    const file = path.join(tmp, 'ctc.safetensors');
    m.save(file);
    const back = HubertCtc.fromConfig(m.toConfig(), { device: 'cpu' });
    back.load(file);
    expect(back.numUpdates).toBe(3);
    expect(back.tokenizer!.tokens).toEqual(tok.tokens);
    fs.rmSync(tmp, { recursive: true });
  });

  test('evaluate reports per with a phone tokenizer; decode is greedy; bad targets are errors', async () => {
    const m = HubertCtc.fromPretrained(tinyLogmel(), { tokenizer: tok });
    const batch = ctcBatch();
    const r = await m.evaluate([batch]);
    expect(r.per).toBeGreaterThanOrEqual(0);
    expect(r.utterances).toBe(3);
    expect(r.refTokens).toBe(6);
    expect(m.decode(batch).tokens.length).toBe(3);
    expect(m.numUpdates).toBe(0); // eval-mode losses are not updates
    const bad = { ...batch, refs: undefined, targets: tensor(Int32Array.of(2, 0, 4, 3, 3, 0, 4, 0, 0), [3, 3], { dtype: 'int32' }) };
    expect(() => m.loss(bad)).toThrow(/\[HubertCtc\] targets\[0\]\[1\] is the blank \(0\)/);
    expect(() => new HubertCtc({ encoder: enc(), frontend: 'logmel', nMels: 12, posConvKernel: 8, posConvGroups: 4 })).toThrow(/vocabSize must be an integer >= 2/);
  });

  test('applyMask: training-mode masks change the output, eval mode is deterministic', () => {
    const m = HubertCtc.fromPretrained(tinyLogmel(), { vocabSize: 5, applyMask: true });
    const b = ctcBatch();
    const t1 = m.train().forward(b.features, b.lengths).logits.dataSync();
    const e1 = m.eval().forward(b.features, b.lengths).logits.dataSync(), e2 = m.forward(b.features, b.lengths).logits.dataSync();
    expect(Array.from(e1)).toEqual(Array.from(e2));
    expect(Array.from(t1)).not.toEqual(Array.from(e1));
  });
});

describeCuda('Hubert on cuda', () => {
  test.each(['transformer', 'conbimamba'] as EncoderType[])('%s: cpu and cuda give the same loss and gradients; bf16 autocast trains', (type) => {
    const { autocast } = require('../../lib') as typeof import('../../lib');
    const run = (device: 'cpu' | 'cuda') => {
      const m = tinyLogmel({ encoder: enc(type), seed: 6 });
      m.to(device).eval();
      const b = logmelBatch();
      const r = m.loss({ ...b, features: b.features.to(device) }, { maskSeed: 3 });
      r.loss.backward();
      return { loss: r.loss.item(), g: Array.from(m.final_proj.weight.grad!.dataSync()), acc: r.metrics.acc_m };
    };
    const a = run('cpu'), c = run('cuda');
    expect(Math.abs(a.loss - c.loss) / Math.abs(a.loss)).toBeLessThan(1e-4);
    const scale = Math.max(...a.g.map(Math.abs));
    a.g.forEach((v, i) => expect(Math.abs(v - c.g[i])).toBeLessThan(1e-3 * scale));
    const m = tinyLogmel({ encoder: enc(type) }).to('cuda');
    const opt = new optim.AdamW(m.parameters(), { lr: 1e-3 });
    const b = logmelBatch();
    const batch = { ...b, features: b.features.to('cuda') };
    for (let s = 0; s < 3; ++s) {
      const r = autocast('bfloat16', () => m.loss(batch));
      expect(Number.isFinite(r.metrics.loss)).toBe(true);
      r.loss.backward();
      r.loss.dispose();
      opt.step();
      opt.zeroGrad();
    }
    const ctc = HubertCtc.fromPretrained(m, { vocabSize: 5 });
    expect(ctc.device).toBe('cuda');
    const out = autocast('bfloat16', () => ctc.forward(batch.features, batch.lengths));
    expect(out.logits.shape[2]).toBe(5);
  });
});

// The Tensor import is used for types in helpers above.
export type { Tensor };
