/** Batching: every item exactly once per epoch, frame budget, determinism; padding/lengths;
 *  feature cache hits on epoch 2; prefetch runs ahead of the consumer. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeWav } from '../../lib/audio/wav';
import { Rng } from '../../lib/audio/rng';
import { FeatureCache, Features, batchIterator, collate, planBatches, prefetch } from '../../lib/data/batching';
import { ManifestEntry } from '../../lib/data/manifest';
import { Tokenizer } from '../../lib/data/tokenizer';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const rng = new Rng(Date.now() & 0xffff);

test('planBatches: each item exactly once, budget kept, deterministic per (seed, epoch)', () => {
  for (const n of [1, 7, 129, 500]) {
    const lengths = Array.from({ length: n }, () => rng.int(1, 1500));
    const opts = { maxFrames: 4000, seed: 5 };
    const e0 = planBatches(lengths, { ...opts, epoch: 0 });
    const flat = e0.flat().sort((a, b) => a - b);
    expect(flat).toEqual([...Array(n).keys()]);
    for (const b of e0) {
      const longest = Math.max(...b.map((i) => lengths[i]));
      expect(b.length * longest <= 4000 || b.length === 1).toBe(true);
    }
    expect(planBatches(lengths, { ...opts, epoch: 0 })).toEqual(e0);
    if (n > 7) expect(planBatches(lengths, { ...opts, epoch: 1 })).not.toEqual(e0);
    const e1 = planBatches(lengths, { ...opts, epoch: 1, maxBatchSize: 3 });
    expect(e1.flat().sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
    expect(Math.max(...e1.map((b) => b.length))).toBeLessThanOrEqual(3);
  }
  expect(planBatches([5000, 10], { maxFrames: 1000, seed: 1, shuffle: false })).toEqual([[1], [0]]);
});

test('collate pads on the right with int32 lengths and padded targets', () => {
  const f = (T: number, v: number): Features => ({ data: new Float32Array(T * 2).fill(v), numFrames: T, dim: 2 });
  const b = collate([{ id: 'a', features: f(3, 1), targets: Int32Array.from([4, 5]) }, { id: 'b', features: f(1, 2), targets: Int32Array.from([6]) }]);
  expect(b.shape).toEqual([2, 3, 2]);
  expect(Array.from(b.lengths)).toEqual([3, 1]);
  expect(Array.from(b.features)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 0, 0, 0, 0]);
  expect(Array.from(b.targets!)).toEqual([4, 5, 6, 0]);
  expect(Array.from(b.targetLengths!)).toEqual([2, 1]);
  expect(() => collate([{ id: 'a', features: f(2, 0) }, { id: 'b', features: { data: new Float32Array(3), numFrames: 1, dim: 3 } }])).toThrow('[collate] item 1 (b) has feature dim 3');
});

test('batchIterator: one epoch covers every entry; epoch 2 reads features from the cache', async () => {
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < 13; i++) {
    const n = 160 * rng.int(5, 40);
    const x = new Float32Array(n).map(() => rng.uniform() - 0.5);
    const file = path.join(tmp, `u${i}.wav`);
    writeWav(file, { sampleRate: 16000, channels: [x] });
    entries.push({ id: `u${i}`, audio: file, duration: n / 16000, text: i % 2 ? 'ab' : 'bab a' });
  }
  let computed = 0;
  const featurize = (x: Float32Array): Features => {
    computed++;
    const T = x.length / 160;
    const data = new Float32Array(T * 3);
    for (let t = 0; t < T; t++) data[t * 3] = x[t * 160];
    return { data, numFrames: T, dim: 3 };
  };
  const cache = new FeatureCache(path.join(tmp, 'cache'));
  const tok = Tokenizer.fromManifest(entries, 'char');
  const seen: string[][] = [];
  for (const epoch of [0, 1]) {
    const ids: string[] = [];
    for await (const b of batchIterator({ entries, featurize, featureOptions: { dim: 3 }, cache, maxFrames: 60, seed: 3, epoch, tokenizer: tok })) {
      expect(b.shape[0] * b.shape[1] <= 60 || b.shape[0] === 1).toBe(true);
      expect(b.lengths.length).toBe(b.shape[0]);
      expect(b.targetLengths!.length).toBe(b.shape[0]);
      ids.push(...b.ids);
    }
    expect([...ids].sort()).toEqual(entries.map((e) => e.id).sort());
    seen.push(ids);
  }
  expect(computed).toBe(13); // epoch 2 computed nothing
  expect(cache.hits).toBe(13);
  expect(seen[0]).not.toEqual(seen[1]);
  // touching a file (new mtime) invalidates its entry only
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(entries[0].audio, later, later);
  for await (const b of batchIterator({ entries, featurize, featureOptions: { dim: 3 }, cache, maxFrames: 60, seed: 3 })) void b;
  expect(computed).toBe(14);
  // other feature options are other cache entries
  for await (const b of batchIterator({ entries: entries.slice(0, 2), featurize, featureOptions: { dim: 4 }, cache, maxFrames: 60, seed: 3 })) void b;
  expect(computed).toBe(16);
});

test('prefetch produces the next items while the consumer awaits', async () => {
  const log: string[] = [];
  async function* src(): AsyncGenerator<number> {
    for (let i = 0; i < 4; i++) {
      log.push(`start ${i}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`made ${i}`);
      yield i;
    }
  }
  const got: number[] = [];
  for await (const v of prefetch(src(), 1)) {
    log.push(`consume ${v}`);
    await new Promise((r) => setTimeout(r, 20)); // e.g. a GPU step
    got.push(v);
  }
  expect(got).toEqual([0, 1, 2, 3]);
  // item 1 was made before the consumer finished item 0
  expect(log.indexOf('made 1')).toBeLessThan(log.indexOf('consume 1'));
  expect(log.indexOf('made 1')).toBeLessThan(log.indexOf('consume 0') + 3);
  async function* bad(): AsyncGenerator<number> {
    yield 1;
    throw new Error('boom');
  }
  const out: number[] = [];
  await expect((async () => { for await (const v of prefetch(bad(), 2)) out.push(v); })()).rejects.toThrow('boom');
  expect(out).toEqual([1]);
});
