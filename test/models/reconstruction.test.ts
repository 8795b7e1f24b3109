/** MaskedReconstruction: overfits a handful of synth utterances with every encoder type (masked L1
 *  falls ≥ 5×); loss and metrics against float64 formulas; masks inside valid lengths, at least one
 *  per utterance, reproducible and resumable; eval masks independent of batching; padding
 *  invariance for every type; bad input; save/load and checkpoints of other models. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { autocast, data, memory, models, noGrad, ops, optim, randn, tensor, Tensor, tidy } from '../../lib';
import type { ReconstructionBatch } from '../../lib/models/collate';
import { describeCuda } from '../helpers/devices';
import { N_MELS, synthSet, tinySpec, trainUntil } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recon-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** 4 synth utterances cropped to frames [20, 68) (speech, not the leading silence). */
function cropped(T = 48) {
  return synthSet(4).items.map((it) => {
    const f = it.features as data.FeatureItem;
    return { id: it.id, features: { data: f.data.slice(20 * N_MELS, (20 + T) * N_MELS), numFrames: T, dim: N_MELS } };
  });
}

const make = (type: models.EncoderType, o: Partial<models.MaskedReconstructionOptions> = {}) =>
  new models.MaskedReconstruction({ inputDim: N_MELS, encoder: tinySpec(type, { layers: 1 }), maskProb: 0.3, maskSpan: 2, seed: 3, device: 'cpu', ...o });

describe('overfits 4 utterances: masked L1 falls ≥ 5×', () => {
  const items = cropped();
  const stats = models.featureStats(items.map((i) => i.features));
  test.each(models.ENCODER_TYPES.map((t) => [t]))('%s', async (type) => {
    const m = make(type);
    m.setNormalization(stats);
    const batch = models.collateReconstruction(items);
    const e0 = await m.evaluate([batch]);
    let last = e0;
    const steps = await trainUntil(m, [batch], {
      lr: 5e-3, maxSteps: 400, every: 20,
      done: async () => (last = await m.evaluate([batch])).maskedL1 < e0.maskedL1 / 5,
    });
    expect({ type, l1: last.maskedL1, from: e0.maskedL1, reached: steps > 0 }).toEqual({ type, l1: last.maskedL1, from: e0.maskedL1, reached: true });
    expect(last.lsd).toBeLessThan(e0.lsd / 3);
    batch.dispose();
  });
});

test('loss, masked L1 and LSD equal their float64 formulas on the eval masks (l1 and mse)', () => {
  const items = cropped(13).slice(0, 3);
  items[1].features.numFrames = 9; // shorter item: padding after frame 9
  items[1].features.data = items[1].features.data.slice(0, 9 * N_MELS);
  const stats = models.featureStats(items.map((i) => i.features));
  for (const lossKind of ['l1', 'mse'] as const) {
    const m = make('mamba', { loss: lossKind, maskProb: 0.4, maskSpan: 3 }).eval();
    m.setNormalization(stats);
    const batch = models.collateReconstruction(items);
    const r = m.loss(batch);
    const [B, T, F] = batch.features.shape;
    const masks = m.drawMasks(T, batch.lengths, batch.ids.map((id) => data.deriveSeed(3, 'eval', id)));
    const out = m.forward(batch.features, batch.lengths, { masks });
    const pred = out.prediction.dataSync(), x = batch.features.dataSync();
    const mean = stats.mean(), std = stats.std(models.VAR_FLOOR);
    let loss = 0, l1 = 0, lsd = 0, n = 0;
    for (let b = 0; b < B; ++b) {
      for (let t = 0; t < T; ++t) {
        if (!masks.time[b * T + t]) continue;
        expect(t).toBeLessThan(batch.lengths[b]);
        ++n;
        let sq = 0;
        for (let f = 0; f < F; ++f) {
          const i = (b * T + t) * F + f;
          const d = pred[i] - (x[i] - mean[f]) / std[f];
          loss += lossKind === 'l1' ? Math.abs(d) : d * d;
          l1 += Math.abs(d * std[f]);
          sq += (d * std[f]) ** 2;
        }
        lsd += (10 / Math.LN10) * Math.sqrt(sq / F);
      }
    }
    expect(r.count).toBe(n);
    expect(r.metrics.maskedFrames).toBe(n);
    expect(r.loss.item()).toBeCloseTo(loss / (n * F), 5);
    expect(r.metrics.maskedL1).toBeCloseTo(l1 / (n * F), 4);
    expect(r.metrics.lsd).toBeCloseTo(lsd / n, 3);
    [r.loss, out.prediction].forEach((t) => t.dispose());
    batch.dispose();
  }
});

test('masks: inside valid lengths, at least one per utterance (also 1-frame ones), seeded', () => {
  const m = make('mamba', { maskProb: 0.2, maskSpan: 5, freqMask: { masks: 2, width: 6 } });
  const lengths = Int32Array.of(40, 1, 3, 17, 5);
  const seeds = [11, 12, 13, 14, 15];
  const T = 40;
  const a = m.drawMasks(T, lengths, seeds);
  for (let b = 0; b < lengths.length; ++b) {
    const row = Array.from(a.time.subarray(b * T, (b + 1) * T));
    expect(row.slice(lengths[b]).every((v) => v === 0)).toBe(true);
    expect(row.reduce((s, v) => s + v, 0)).toBe(a.counts[b]);
    expect(a.counts[b]).toBeGreaterThanOrEqual(1);
    const fr = Array.from(a.freq!.subarray(b * N_MELS, (b + 1) * N_MELS)).reduce((s, v) => s + v, 0);
    expect(fr).toBeLessThanOrEqual(12);
  }
  expect(m.drawMasks(T, lengths, seeds)).toEqual(a);
  expect(m.drawMasks(T, lengths, seeds.map((s) => s + 100)).time).not.toEqual(a.time);
});

test('frequency masks zero the masked bins of the normalised input', () => {
  const items = cropped(11).slice(0, 2);
  const m = make('bimamba', { freqMask: { masks: 1, width: 9 } }).eval();
  const stats = models.featureStats(items.map((i) => i.features));
  m.setNormalization(stats);
  const batch = models.collateReconstruction(items);
  const [B, T, F] = batch.features.shape;
  const masks = m.drawMasks(T, batch.lengths, [1, 2]);
  // The same input with the masked bins set to their mean (0 after normalisation) and no freq mask.
  const x = Float32Array.from(batch.features.dataSync());
  const mean = stats.mean();
  for (let b = 0; b < B; ++b) for (let t = 0; t < T; ++t) for (let f = 0; f < F; ++f) if (masks.freq![b * F + f]) x[(b * T + t) * F + f] = mean[f];
  const xt = tensor(x, [B, T, F]);
  const p1 = m.forward(batch.features, batch.lengths, { masks }).prediction;
  const p2 = m.forward(xt, batch.lengths, { masks: { ...masks, freq: null } }).prediction;
  const d = p1.dataSync(), e = p2.dataSync();
  for (let i = 0; i < d.length; ++i) expect(Math.abs(d[i] - e[i])).toBeLessThan(1e-4);
  expect(masks.freq!.some((v) => v === 1)).toBe(true);
  [xt, p1, p2].forEach((t) => t.dispose());
  batch.dispose();
});

test('training draws new masks each step from (seed, step); setRngState replays them; eval masks are per utterance id', async () => {
  const items = cropped(24);
  const batch = models.collateReconstruction(items);
  const a = make('transformer', { maskProb: 0.3 });
  const losses: number[] = [];
  for (let i = 0; i < 3; ++i) {
    const r = a.loss(batch);
    losses.push(r.loss.item());
    r.loss.dispose();
  }
  expect(a.rngState()).toEqual({ seed: 3, step: 3 });
  expect(new Set(losses).size).toBe(3);
  const b = make('transformer', { maskProb: 0.3 });
  b.setRngState({ seed: 3, step: 1 });
  const r = b.loss(batch);
  expect(r.loss.item()).toBe(losses[1]);
  r.loss.dispose();
  expect(() => b.setRngState({ seed: 4, step: 0 })).toThrow('[MaskedReconstruction] setRngState: state is for seed 4, this model has seed 3');
  // Evaluation: the same numbers whether the 4 utterances come as one batch or as two of two.
  const whole = await a.evaluate([batch]);
  const halves = [models.collateReconstruction(items.slice(0, 2)), models.collateReconstruction(items.slice(2))];
  const split = await a.evaluate(halves);
  expect(split.maskedFrames).toBe(whole.maskedFrames);
  expect(split.loss).toBeCloseTo(whole.loss, 5);
  expect(split.lsd).toBeCloseTo(whole.lsd, 4);
  expect(a.rngState().step).toBe(3); // evaluation does not advance the training stream
  expect(a.training).toBe(true); // and restores the mode
  [batch, ...halves].forEach((x) => x.dispose());
});

test('a training loop and evaluate leave no tensors behind', async () => {
  const m = make('conformer', { freqMask: { masks: 1, width: 4 } });
  const batch = models.collateReconstruction(cropped(20));
  const opt = new optim.AdamW(m.parameters(), { lr: 1e-3 });
  const step = () => {
    const r = m.loss(batch);
    r.loss.backward();
    r.loss.dispose();
    opt.step();
    opt.zeroGrad();
  };
  step();
  const base = memory().tensors;
  for (let i = 0; i < 3; ++i) step();
  expect(memory().tensors).toBe(base);
  await m.evaluate([batch]);
  // forward outside noGrad records a graph whose saved tensors live until it is collected.
  const p = noGrad(() => m.forward(batch.features, batch.lengths, { masks: m.drawMasks(20, batch.lengths, [1, 2, 3, 4]) }));
  p.prediction.dispose();
  expect(memory().tensors).toBe(base);
  batch.dispose();
});

test.each(models.ENCODER_TYPES.map((t) => [t]))('padding invariance: %s predictions on valid frames ignore the padding content', (type) => {
  const m = new models.MaskedReconstruction({ inputDim: 12, encoder: tinySpec(type, { dModel: 16 }), seed: 1, device: 'cpu' }).eval();
  const lengths = Int32Array.of(13, 6, 1);
  const masks = m.drawMasks(13, lengths, [1, 2, 3]);
  tidy(() => {
    const x = randn([3, 13, 12], { seed: 7 });
    const noise = randn([3, 13, 12], { seed: 8 }).mul(50);
    const keep = tensor(Float32Array.from({ length: 3 * 13 }, (_, i) => (i % 13 < lengths[Math.floor(i / 13)] ? 1 : 0)), [3, 13, 1]);
    const x2 = ops.add(ops.mul(x, keep), ops.mul(noise, ops.sub(1, keep)));
    const a = m.forward(x, lengths, { masks }).prediction.dataSync();
    const b = m.forward(x2, lengths, { masks }).prediction.dataSync();
    let worst = 0;
    for (let i = 0; i < a.length; ++i) if (Math.floor(i / 12) % 13 < lengths[Math.floor(i / (13 * 12))]) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('bad input: errors name the model; nothing changes', () => {
  const m = make('conformer');
  test('features, lengths, batches', () => {
    const x = randn([2, 9, N_MELS]);
    const xt = randn([2, N_MELS, 9]);
    const batch = (f: Tensor, l: number[]): ReconstructionBatch => ({ ids: ['a', 'b'], features: f, lengths: Int32Array.from(l), dispose: () => undefined });
    expect(() => m.loss(batch(randn([2, 9, 80]), [9, 9]))).toThrow('[MaskedReconstruction] features must be (B, T, 40), got (2, 9, 80)');
    expect(() => m.loss(batch(xt, [9, 9]))).toThrow('[MaskedReconstruction] features must be (B, T, 40), got (2, 40, 9) — this looks like (B, F, T): transpose it to (B, T, F)');
    expect(() => m.loss(batch(x, [9, 10]))).toThrow('[MaskedReconstruction] lengths[1] = 10 is longer than the T = 9 frames of features (2, 9, 40)');
    expect(() => m.loss(batch(x, [9, 0]))).toThrow('[MaskedReconstruction] lengths[1] = 0: every item needs at least one frame');
    expect(() => m.loss(batch(x, [9]))).toThrow('[MaskedReconstruction] lengths must have B = 2 entries, got 1');
    expect(() => m.loss(batch(randn([0, 9, N_MELS]), []))).toThrow('[MaskedReconstruction] empty batch');
    expect(() => m.forward(randn([9, N_MELS]), null)).toThrow('[MaskedReconstruction] features must be (B, T, 40), got (9, 40)');
    expect(m.rngState().step).toBe(0); // no failed call advanced the stream
  });
  test('options', () => {
    const enc = tinySpec('mamba');
    expect(() => new models.MaskedReconstruction({ inputDim: 40, encoder: enc, maskProb: 0 })).toThrow('[MaskedReconstruction] maskProb must be in (0, 1], got 0');
    expect(() => new models.MaskedReconstruction({ inputDim: 40, encoder: enc, maskSpan: 0 })).toThrow('[MaskedReconstruction] maskSpan must be a positive integer');
    expect(() => new models.MaskedReconstruction({ inputDim: 40, encoder: enc, freqMask: { masks: 1, width: 41 } })).toThrow('[MaskedReconstruction] freqMask must be false or { masks ≥ 0, width in [0, 40] }');
    expect(() => new models.MaskedReconstruction({ inputDim: 40, encoder: enc, loss: 'l2' as 'l1' })).toThrow("[MaskedReconstruction] loss must be 'l1' or 'mse'");
    expect(() => new models.MaskedReconstruction({ inputDim: 40, encoder: enc, maskprob: 0.1 } as unknown as models.MaskedReconstructionOptions)).toThrow("[MaskedReconstruction] unknown option 'maskprob'");
    expect(() => new models.MaskedReconstruction({ inputDim: 40, encoder: { ...enc, layers: 0 } })).toThrow('[MaskedReconstruction.encoder] layers must be a positive integer, got 0');
  });
});

describe('save / load', () => {
  test('round trip: weights, normalisation buffers and metadata; outputs identical', () => {
    const items = cropped(10);
    const a = make('conbimamba');
    a.setNormalization(models.featureStats(items.map((i) => i.features)));
    const batch = models.collateReconstruction(items);
    const r = a.loss(batch);
    r.loss.backward();
    r.loss.dispose();
    a.eval();
    const file = path.join(tmp, 'recon.safetensors');
    a.save(file);
    const b = make('conbimamba').eval();
    expect(b.normalize.fitted).toBe(false);
    b.load(file);
    expect(b.normalize.fitted).toBe(true);
    expect(Array.from(b.normalize.std.dataSync())).toEqual(Array.from(a.normalize.std.dataSync()));
    expect(Array.from(b.mask_emb.dataSync())).toEqual(Array.from(a.mask_emb.dataSync()));
    const pa = a.forward(batch.features, batch.lengths).prediction, pb = b.forward(batch.features, batch.lengths).prediction;
    expect(Array.from(pb.dataSync())).toEqual(Array.from(pa.dataSync()));
    const h = b.hiddenStates(batch);
    expect(h.states.length).toBe(2);
    expect(h.subsampling).toBe(1);
    expect(h.states[1].shape).toEqual([4, 10, 32]);
    expect(h.inputs!.shape).toEqual([4, 10, N_MELS]);
    [pa, pb, ...h.states, h.inputs!].forEach((t) => t.dispose());
    batch.dispose();
  });

  test('another task, another encoder type or another size: an error naming both, nothing written', () => {
    const file = path.join(tmp, 'other.safetensors');
    const m = make('mamba');
    const before = Array.from(m.out_proj.weight.dataSync());
    const ctc = new models.CtcAsr({ inputDim: N_MELS, vocabSize: 9, encoder: tinySpec('mamba', { layers: 1 }), device: 'cpu' });
    ctc.save(file);
    expect(() => m.load(file)).toThrow(/^\[MaskedReconstruction\] .*other\.safetensors holds a CtcAsr \('ctc'\) checkpoint, not a MaskedReconstruction \('reconstruction'\) one/);
    make('conformer').save(file);
    expect(() => m.load(file)).toThrow(/^\[MaskedReconstruction\] .* has a conformer \(1 layers, d 32\) encoder; this model is MaskedReconstruction \('reconstruction'\) with a mamba \(1 layers, d 32\) encoder/);
    const sd = make('conformer').stateDict();
    expect(() => m.loadStateDict(sd)).toThrow('[MaskedReconstruction] state dict has a conformer encoder');
    const wide = new models.MaskedReconstruction({ inputDim: N_MELS, encoder: tinySpec('mamba', { layers: 1, dModel: 48 }), device: 'cpu' });
    wide.save(file);
    expect(() => m.load(file)).toThrow(/^\[MaskedReconstruction\] state dict does not fit this mamba \(1 layers, d 32\) model: shape mismatches: in_proj\.weight: expected \(32, 40\), got \(48, 40\)/);
    expect(Array.from(m.out_proj.weight.dataSync())).toEqual(before);
  });
});

describeCuda('cuda', () => {
  test('bf16 autocast: a training step runs, the loss is close to float32 and the gradients reach every parameter', () => {
    const items = cropped(32);
    const m = make('conbimamba', { dropout: 0 }).to('cuda');
    const batch = models.collateReconstruction(items, { device: 'cuda' });
    m.setRngState({ seed: 3, step: 0 });
    const f32 = m.loss(batch);
    m.setRngState({ seed: 3, step: 0 });
    const bf = autocast('bfloat16', () => m.loss(batch));
    expect(Math.abs(bf.loss.item() - f32.loss.item())).toBeLessThan(0.05 * f32.loss.item());
    bf.loss.backward();
    for (const [n, p] of m.namedParameters()) expect({ n, finite: p.grad !== null && p.grad.dataSync().every(Number.isFinite) }).toEqual({ n, finite: true });
    [f32.loss, bf.loss].forEach((t) => t.dispose());
    batch.dispose();
  });
});
