/**
 * frames.test.ts — the frame sample: hidden states that encode (utterance, frame, layer) in
 * their values show which positions were taken: valid frames only, the same positions in every
 * layer, X and Y, the per-utterance cap, a uniform reservoir, stacked input features, nothing
 * leaked on the device. Phone labels at the layer frame rate against a brute-force reference.
 */
import { analysis, memory, nn, tensor, Tensor } from '../../lib';
import type { models } from '../../lib';
import { collectFrames } from '../../lib/analysis/frames';
import { Inventory, phoneBatchLabels, phoneLabels } from '../../lib/analysis/labels';
import { settleMemory } from '../helpers/devices';

interface CodeBatch { ids: string[]; base: number; lengths: Int32Array; T: number; features: Tensor }

const PAD = 999;

/** hs_l[b, t] = [utterance, t, l] on valid frames, PAD on padding; inputs [utterance, input frame] at s x the rate. */
class CodeModel extends nn.Module implements models.TaskModel<CodeBatch> {
  readonly task = 'code';
  constructor(readonly L: number, readonly s: number) { super(); }
  hiddenStates(batch: CodeBatch): models.HiddenStates {
    const B = batch.lengths.length;
    const states = Array.from({ length: this.L + 1 }, (_, l) => {
      const a = new Float32Array(B * batch.T * 3);
      for (let b = 0; b < B; ++b) for (let t = 0; t < batch.T; ++t) {
        const v = t < batch.lengths[b] ? [batch.base + b, t, l] : [PAD, PAD, PAD];
        a.set(v, (b * batch.T + t) * 3);
      }
      return tensor(a, [B, batch.T, 3]);
    });
    const inLen = Int32Array.from(batch.lengths, (n) => n * this.s - 1);   // the last layer frame has s - 1 input frames
    return { states, lengths: batch.lengths, subsampling: this.s, inputs: batch.features, inputLengths: inLen };
  }
  loss(): never { throw new Error('unused'); }
  async evaluate(): Promise<Record<string, number>> { return {}; }
  toConfig(): Record<string, unknown> { return {}; }
  override numParameters(): number { return 0; }
  override forward(): never { throw new Error('unused'); }
}

function codeBatches(utts: number, B: number, minLen: number, maxLen: number, s: number): CodeBatch[] {
  const out: CodeBatch[] = [];
  for (let u = 0; u < utts; u += B) {
    const n = Math.min(B, utts - u);
    const lengths = Int32Array.from({ length: n }, (_, b) => minLen + ((u + b) * 7919) % (maxLen - minLen + 1));
    const T = Math.max(...lengths);
    const f = new Float32Array(n * T * s * 2);
    for (let b = 0; b < n; ++b) for (let i = 0; i < T * s; ++i) f.set([u + b, i < lengths[b] * s - 1 ? i : -5], (b * T * s + i) * 2);
    out.push({ ids: Array.from({ length: n }, (_, b) => `u${u + b}`), base: u, lengths, T, features: tensor(f, [n, T * s, 2]) });
  }
  return out;
}

test('collectFrames: valid frames only, the same positions in every layer, X and Y, capped per utterance, no device leak', async () => {
  const batches = codeBatches(37, 5, 3, 41, 2);
  const lengthOf = new Map<number, number>();
  for (const b of batches) b.lengths.forEach((n, i) => lengthOf.set(b.base + i, n));
  await settleMemory();
  const before = memory().tensors;
  const col = await collectFrames({
    model: new CodeModel(3, 2), batches, maxFrames: 300, perUtterance: 9, seed: 4, layers: [0, 2, 3], x: 'features', featureStack: 'stack',
    labels: (batch, hs) => Array.from(hs.lengths, (n, b) => Int32Array.from({ length: n }, (_, t) => ((batch.base + b) * 7 + t) % 5)),
  });
  expect(memory().tensors).toBe(before);                                 // every hidden state freed
  const total = [...lengthOf.values()].reduce((a, n) => a + Math.min(n, 9), 0);
  expect(col.candidates).toBe(total);
  expect(col.validFrames).toBe([...lengthOf.values()].reduce((a, n) => a + n, 0));
  expect(col.x.n).toBe(Math.min(300, total));
  expect(col.layerIndex).toEqual([0, 2, 3]);
  const perUtt = new Map<number, Set<number>>();
  for (let i = 0; i < col.x.n; ++i) {
    const u = col.layers[0].data[i * 3];
    const t = col.layers[0].data[i * 3 + 1];
    expect(u).toBe(col.rowUtterance[i]);
    expect(t).toBe(col.rowFrame[i]);
    expect(t).toBeLessThan(lengthOf.get(u)!);                          // never padding (PAD = 999)
    col.layers.forEach((f, li) => expect(Array.from(f.data.subarray(i * 3, i * 3 + 3))).toEqual([u, t, col.layerIndex[li]]));
    // X: input frames 2t and 2t+1 stacked; past the input length the last valid frame repeats.
    const last = lengthOf.get(u)! * 2 - 2;
    expect(Array.from(col.x.data.subarray(i * 4, i * 4 + 4))).toEqual([u, Math.min(2 * t, last), u, Math.min(2 * t + 1, last)]);
    expect(col.y![i]).toBe((u * 7 + t) % 5);
    if (!perUtt.has(u)) perUtt.set(u, new Set());
    expect(perUtt.get(u)!.has(t)).toBe(false);                         // no frame twice
    perUtt.get(u)!.add(t);
  }
  for (const s of perUtt.values()) expect(s.size).toBeLessThanOrEqual(9);
  for (const b of batches) b.features.dispose();
});

test('collectFrames: the reservoir is uniform over the stream and reproducible per seed', async () => {
  const batches = codeBatches(200, 16, 50, 50, 1);
  const run = (seed: number) => collectFrames({ model: new CodeModel(1, 1), batches, maxFrames: 500, perUtterance: 10, seed, layers: null, x: 'hs0', featureStack: 'stack', labels: null });
  const a = await run(1);
  const b = await run(1);
  const c = await run(2);
  expect(Array.from(a.rowUtterance)).toEqual(Array.from(b.rowUtterance));
  expect(Array.from(a.rowFrame)).toEqual(Array.from(b.rowFrame));
  expect(Array.from(a.rowUtterance)).not.toEqual(Array.from(c.rowUtterance));
  for (const col of [a, c]) {
    // 2000 candidates, 500 kept: rows from the first 100 utterances ~ hypergeometric(500, 1/2), SD 9.7.
    const early = Array.from(col.rowUtterance).filter((u) => u < 100).length;
    expect(Math.abs(early - 250)).toBeLessThan(45);
    const firstHalf = Array.from(col.rowFrame).filter((t) => t < 25).length;
    expect(Math.abs(firstHalf - 250)).toBeLessThan(45);
  }
  for (const bt of batches) bt.features.dispose();
});

test('phone labels at the layer frame rate: the phone at each layer frame centre (brute force)', () => {
  const a = { frameShift: 0.01, segments: [['sil', 0, 7], ['a', 7, 19], ['b', 19, 20], ['c', 20, 33]] as [string, number, number][] };
  for (const [shift, s] of [[0.01, 1], [0.01, 4], [0.02, 2], [0.01, 3]] as const) {
    const inv = new Inventory();
    const frames = Math.ceil((33 * 0.01) / (shift * s)) + 1;              // one frame past the audio
    const got = phoneLabels(a, frames, shift, s, inv, 'test');
    const { names, remap } = inv.finish();
    expect(names).toEqual(['a', 'b', 'c', 'sil']);
    for (let j = 0; j < frames; ++j) {
      const centre = (j + 0.5) * shift * s;                              // seconds
      const seg = a.segments.find(([, st, en]) => centre >= st * 0.01 && centre < en * 0.01) ?? a.segments[a.segments.length - 1];
      expect(names[remap[got[j]]]).toBe(seg[0]);
    }
  }
  const fixed = new Inventory(['a', 'b']);
  expect(() => phoneLabels(a, 3, 0.01, 1, fixed, 'op')).toThrow("[op] label 'sil' is not in the given phoneSet (2 names)");
  const hs = { states: [], lengths: Int32Array.from([3]), subsampling: 1, inputs: null, inputLengths: null };
  expect(() => phoneBatchLabels('op', { ids: ['x'] }, hs, new Map(), 0.01, new Inventory())).toThrow("[op] no alignment for utterance 'x'");
  expect(() => phoneBatchLabels('op', {}, hs, new Map(), 0.01, new Inventory())).toThrow("[op] y = 'phones' needs batch.ids");
});

test('layerwiseMi: bad calls are answered with [analysis.layerwiseMi] errors', async () => {
  const batches = codeBatches(4, 2, 3, 5, 1);
  const model = new CodeModel(1, 1);
  await expect(analysis.layerwiseMi(model, batches, { bogus: 1 } as never)).rejects.toThrow("[analysis.layerwiseMi] unknown option 'bogus'");
  await expect(analysis.layerwiseMi(model, batches, { y: 'phones' })).rejects.toThrow("[analysis.layerwiseMi] y = 'phones' needs `alignments`");
  await expect(analysis.layerwiseMi({} as never, batches)).rejects.toThrow('[analysis.layerwiseMi] model must implement hiddenStates(batch)');
  await expect(analysis.layerwiseMi(model, 5 as never)).rejects.toThrow('[analysis.layerwiseMi] batches must be an iterable');
  await expect(analysis.layerwiseMi(model, batches, { noise: -1 })).rejects.toThrow('[analysis.layerwiseMi] noise must be a number >= 0');
  await expect(analysis.layerwiseMi(model, batches, { estimator: { seeds: 2 } })).rejects.toThrow("[analysis.layerwiseMi] estimator.seeds is set by the analysis (use the top-level 'seeds' option)");
  await expect(analysis.layerwiseMi(model, [], {})).rejects.toThrow('[analysis.layerwiseMi] the batches gave no valid frame (0 batches, 0 utterances)');
  await expect(analysis.layerwiseMi(model, batches, { layers: [0, 5] })).rejects.toThrow('[analysis.layerwiseMi] layers must be indices in [0, 1], got 5');
  for (const b of batches) b.features.dispose();
});

test("layerwiseMiFromFrames with y = 'kmeans': cluster ids of X, which a probe on X itself reads well above chance", async () => {
  const rng = { s: 7, next() { this.s = (this.s * 1103515245 + 12345) % 2147483648; return this.s / 2147483648; } };
  const n = 1200;
  const centres = [[4, 0, 0], [0, 4, 0], [0, 0, 4], [-4, -4, 0]];
  const x = new Float32Array(n * 3);
  for (let i = 0; i < n; ++i) for (let j = 0; j < 3; ++j) x[i * 3 + j] = centres[i % 4][j] + (rng.next() - 0.5) * 2;
  const noisy = Float32Array.from(x, (v) => v + (rng.next() - 0.5) * 6);
  const xt = tensor(x, [n, 3]);
  const r = await analysis.layerwiseMiFromFrames({ x: xt, layers: [xt, { data: noisy, n, d: 3 }] }, {
    y: 'kmeans', kmeans: { k: 4 }, seeds: 1, calibrate: false, ityCritic: false, probe: { steps: 300 }, estimator: { steps: 50, batchSize: 64 },
  });
  expect(r.y!.classes).toBe(4);
  expect(r.y!.kind).toBe('k-means of X (k = 4, seed 0)');
  const [clean, blurred] = r.layers.map((l) => l.ity!.probe!);
  expect(clean.accuracy).toBeGreaterThan(0.95);                          // the clusters are X's own
  expect(clean.nats).toBeGreaterThan(blurred.nats);                      // noise lowers the bound
  expect(blurred.accuracy).toBeGreaterThan(blurred.chance + 0.1);
  expect(clean.nats).toBeLessThan(clean.entropy + 1e-9);
  xt.dispose();
});
