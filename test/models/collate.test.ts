/** Batching glue: items / data.Batch -> model batches (padding, targets from ids or a tokenizer,
 *  refs, device tensors), and the BatchSource helpers (every item once per epoch, same batches for
 *  the same epoch, frame budget, one live batch at a time). */
import { data, memory, models } from '../../lib';

const item = (id: string, T: number, F: number, v: number) => ({ id, features: { data: Float32Array.from({ length: T * F }, (_, i) => v + i), numFrames: T, dim: F } });

test('collateAsr pads features and targets on the right and keeps per-item refs', () => {
  const b = models.collateAsr([{ ...item('a', 3, 2, 1), targets: [4, 5] }, { ...item('b', 1, 2, 10), targets: Int32Array.of(6) }], null, { device: 'cpu' });
  try {
    expect(b.ids).toEqual(['a', 'b']);
    expect(b.features.shape).toEqual([2, 3, 2]);
    expect(Array.from(b.features.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 10, 11, 0, 0, 0, 0]);
    expect(Array.from(b.lengths)).toEqual([3, 1]);
    expect(b.targets.dtype).toBe('int32');
    expect(Array.from(b.targets.dataSync())).toEqual([4, 5, 6, 0]);
    expect(Array.from(b.targetLengths)).toEqual([2, 1]);
    expect(b.refs.map((r) => Array.from(r))).toEqual([[4, 5], [6]]);
  } finally {
    b.dispose();
  }
  expect(b.features.isDisposed && b.targets.isDisposed).toBe(true);
});

test('collateAsr encodes text or phones with the tokenizer and takes a data.Batch as is', () => {
  const chars = new data.Tokenizer('char', ['a', 'b', ' ']);
  const phones = new data.Tokenizer('phone', ['k', 'ae', 't']);
  const b1 = models.collateAsr([{ ...item('x', 2, 3, 0), text: 'ab a' }], chars);
  expect(b1.refs.map((r) => Array.from(r))).toEqual([Array.from(chars.encode('ab a'))]);
  b1.dispose();
  const b2 = models.collateAsr([{ ...item('x', 2, 3, 0), phones: ['k', 'ae', 't'] }], phones);
  expect(Array.from(b2.refs[0])).toEqual([2, 3, 4]);
  b2.dispose();
  const raw = data.collate([{ ...item('p', 2, 3, 0), targets: Int32Array.of(3, 2) }, { ...item('q', 4, 3, 7), targets: Int32Array.of(4) }]);
  const b3 = models.collateAsr(raw);
  expect(b3.features.shape).toEqual([2, 4, 3]);
  expect(b3.refs.map((r) => Array.from(r))).toEqual([[3, 2], [4]]);
  expect(Array.from(b3.features.dataSync())).toEqual(Array.from(raw.features));
  b3.dispose();
  const r = models.collateReconstruction(raw);
  expect(r.features.shape).toEqual([2, 4, 3]);
  expect(Array.from(r.lengths)).toEqual([2, 4]);
  r.dispose();
});

test('collate errors name the item and what is missing', () => {
  expect(() => models.collateAsr([])).toThrow('[collateAsr] empty batch: no items');
  expect(() => models.collateAsr([item('a', 2, 2, 0)])).toThrow('[collateAsr] item 0 (a) has no targets and no tokenizer was given');
  expect(() => models.collateAsr([item('a', 2, 2, 0)], new data.Tokenizer('char', ['a']))).toThrow('[collateAsr] item 0 (a) has no text for the char tokenizer');
  expect(() => models.collateAsr([{ ...item('a', 2, 2, 0), targets: [1, -2] }])).toThrow('[collateAsr] item 0 (a) targets[1] = -2 is not a token id ≥ 0');
  expect(() => models.collateAsr([{ ...item('a', 2, 2, 0), targets: [1.5] }])).toThrow('targets[0] = 1.5 is not a token id');
  expect(() => models.collateAsr([{ ...item('a', 2, 2, 0), targets: [1] }, { ...item('b', 2, 3, 0), targets: [1] }])).toThrow('[collate] item 1 (b) has feature dim 3, item 0 has 2');
  const noTargets = data.collate([item('a', 2, 2, 0)]);
  expect(() => models.collateAsr(noTargets)).toThrow('[collateAsr] the data.Batch has no targets');
  expect(() => models.collateReconstruction([])).toThrow('[collateReconstruction] empty batch');
});

test('asrBatchSource: each item once per epoch, the same batches for the same epoch, budget kept, one live batch', async () => {
  const lens = [5, 17, 1, 9, 30, 12, 7, 7, 22, 3, 14];
  const items = lens.map((T, i) => ({ ...item(`u${i}`, T, 4, i), targets: [1 + (i % 3)] }));
  const src = models.asrBatchSource(items, null, { maxFrames: 40, seed: 9 });
  const epochIds = (e: number) => {
    const out: string[][] = [];
    for (const b of src.epoch(e) as Iterable<models.AsrBatch>) {
      expect(b.features.shape[0] * b.features.shape[1] <= 40 || b.ids.length === 1).toBe(true);
      b.ids.forEach((id) => expect(Array.from(b.refs[b.ids.indexOf(id)])).toEqual([1 + (Number(id.slice(1)) % 3)]));
      out.push(b.ids);
    }
    return out;
  };
  const e0 = epochIds(0);
  expect(e0.flat().sort()).toEqual(items.map((it) => it.id).sort());
  expect(epochIds(0)).toEqual(e0);
  expect(src.size!(0)).toBe(e0.length);
  expect([1, 2, 3].some((e) => JSON.stringify(epochIds(e)) !== JSON.stringify(e0))).toBe(true);
  // Batches are disposed as the loop advances: tensors alive stay flat over an epoch.
  const base = memory().tensors;
  let seen = 0;
  let prev: models.AsrBatch | null = null;
  for (const b of src.epoch(4) as Iterable<models.AsrBatch>) {
    if (prev) expect(prev.features.isDisposed).toBe(true);
    expect(memory().tensors - base).toBeLessThanOrEqual(2);
    prev = b;
    ++seen;
  }
  expect(prev!.features.isDisposed).toBe(true);
  expect(seen).toBe(src.size!(4));
  expect(() => models.asrBatchSource(items, null, { maxFrames: 0, seed: 1 })).toThrow('[planBatches] maxFrames must be > 0');
  expect(() => models.asrBatchSource([], null, { maxFrames: 10, seed: 1 })).toThrow('[makeBatchSource] no items');
});

test('reconstructionBatchSource with shuffle false: sorted by length, the same every epoch', () => {
  const items = [9, 2, 5, 5, 1].map((T, i) => item(`r${i}`, T, 3, 0));
  const src = models.reconstructionBatchSource(items, { maxFrames: 10, seed: 1, shuffle: false });
  const ids = (e: number) => [...(src.epoch(e) as Iterable<models.ReconstructionBatch>)].map((b) => b.ids);
  expect(ids(0)).toEqual([['r4', 'r1'], ['r2', 'r3'], ['r0']]);
  expect(ids(3)).toEqual(ids(0));
});
