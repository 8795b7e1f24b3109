/**
 * api.test.ts — mi.estimate / mi.estimateMany: bad input errors, determinism, seeds and the
 * interval, estimateMany == one-by-one, the Module critic == the built-in concat critic, the
 * paper-compatible mode, and no tensors left behind.
 */
import { settleMemory } from '../helpers/devices';
import { memory, mi, randn, tensor, Tensor } from '../../lib';
import { gaussians } from './helpers';

const fast = { steps: 40, batchSize: 32, lr: 1e-3 } as const;

describe('mi.estimate: bad input', () => {
  const x = randn([100, 3], { seed: 1 });
  const y = randn([100, 2], { seed: 2 });
  afterAll(() => { x.dispose(); y.dispose(); });

  test('N mismatch', async () => {
    const y2 = randn([99, 2], { seed: 3 });
    await expect(mi.estimate(x, y2, fast)).rejects.toThrow(/^\[mi\.estimate\] x and y must have the same number of rows N: x is \(100, 3\), y is \(99, 2\)/);
    y2.dispose();
  });
  test('N < batch size (after the held-out split)', async () => {
    await expect(mi.estimate(x, y, { ...fast, batchSize: 128 })).rejects.toThrow(/^\[mi\.estimate\] N = 100 pairs leave 80 training pairs after heldOut = 0.2, fewer than batchSize = 128/);
    await expect(mi.estimate(x, y, { paper: true })).rejects.toThrow(/^\[mi\.estimate\] N = 100 pairs is fewer than batchSize = 128/);
  });
  test('NaN and Infinity', async () => {
    const v = new Float32Array(300).fill(0.5);
    v[3 * 17 + 2] = NaN;
    const bad = tensor(v, [100, 3]);
    await expect(mi.estimate(bad, y, fast)).rejects.toThrow(/^\[mi\.estimate\] x has a non-finite value \(NaN\) at row 17, column 2/);
    const w = new Float32Array(200);
    w[5] = Infinity;
    const badY = tensor(w, [100, 2]);
    await expect(mi.estimate(x, badY, fast)).rejects.toThrow(/^\[mi\.estimate\] y has a non-finite value \(Infinity\) at row 2, column 1/);
    bad.dispose();
    badY.dispose();
  });
  test('bad options and inputs', async () => {
    await expect(mi.estimate(x, y, { ...fast, estimator: 'mime' as never })).rejects.toThrow(/^\[mi\.estimate\] estimator must be one of dv, mine, nwj, infonce, smile/);
    await expect(mi.estimate(x, y, { ...fast, estimator: 'infonce', negatives: 'shuffle' })).rejects.toThrow(/^\[mi\.estimate\] infonce .* 'all-pairs'/);
    await expect(mi.estimate(x, y, { ...fast, heldOut: 0 })).rejects.toThrow(/^\[mi\.estimate\] heldOut must be a number in \(0, 1\)/);
    await expect(mi.estimate(x, y, { ...fast, stepz: 3 } as never)).rejects.toThrow(/^\[mi\.estimate\] unknown option 'stepz'/);
    await expect(mi.estimate(x, y, { paper: true, estimator: 'nwj' })).rejects.toThrow(/^\[mi\.estimate\] paper mode fixes estimator = "dv"/);
    await expect(mi.estimate([1, 2] as unknown as Tensor, y, fast)).rejects.toThrow(/^\[mi\.estimate\] x must be a Tensor/);
    const lab = tensor(new Int32Array(100).fill(-1));
    await expect(mi.estimate(x, lab, fast)).rejects.toThrow(/^\[mi\.estimate\] labels must be >= 0, got -1 at row 0/);
    lab.dispose();
    await expect(mi.estimateMany([[x, y], [x, randn([7, 2], { seed: 9 })]], fast)).rejects.toThrow(/^\[mi\.estimateMany\] \[pair 1\] x and y must have the same number of rows/);
  });
});

describe('mi.estimate: determinism, seeds, bookkeeping', () => {
  const [x, y] = gaussians(600, 2, 1, 11);
  afterAll(() => { x.dispose(); y.dispose(); });

  test('same options and seed -> the same estimate; nats, bits, history; nothing left behind', async () => {
    await settleMemory();
    const before = memory().tensors;
    const a = await mi.estimate(x, y, { ...fast, estimator: 'mine', evalEvery: 10 });
    const b = await mi.estimate(x, y, { ...fast, estimator: 'mine', evalEvery: 10 });
    // <=: garbage from earlier files in this worker may still be freed meanwhile; a leak would add.
    expect(memory().tensors).toBeLessThanOrEqual(before);
    expect(a.nats).toBe(b.nats);
    expect(a.mi).toBe(a.nats);
    expect(a.bits).toBeCloseTo(a.nats / Math.LN2, 12);
    expect(a.perSeed).toEqual([a.nats]);
    expect(a.ci).toBeUndefined();
    expect(a.history.map((h) => h.step)).toEqual([10, 20, 30, 40]);
    expect(a.history[3].heldOut).toBe(a.nats);
    const c = await mi.estimate(x, y, { ...fast, estimator: 'mine', seed: 5 });
    expect(c.nats).not.toBe(a.nats);
  });

  test('seeds > 1: mean of perSeed and a 95% interval around it; seed i equals a run with seed + i', async () => {
    const r = await mi.estimate(x, y, { ...fast, estimator: 'smile', seeds: 3, seed: 4 });
    expect(r.perSeed).toHaveLength(3);
    expect(r.nats).toBeCloseTo((r.perSeed[0] + r.perSeed[1] + r.perSeed[2]) / 3, 10);
    expect(r.ci![0]).toBeLessThan(r.nats);
    expect(r.ci![1]).toBeGreaterThan(r.nats);
    const one = await mi.estimate(x, y, { ...fast, estimator: 'smile', seed: 5 });
    expect(one.nats).toBeCloseTo(r.perSeed[1], 4);
  });

  test('infonce reports its log B ceiling', async () => {
    const r = await mi.estimate(x, y, { ...fast, estimator: 'infonce' });
    expect(r.bound).toBeCloseTo(Math.log(32), 10);
    expect(r.nats).toBeLessThanOrEqual(r.bound!);
  });
});

describe('mi.estimateMany', () => {
  test('same seeds give the same estimates as one-by-one runs (every estimator, both critics, mixed shapes)', async () => {
    const [x1, y1] = gaussians(300, 2, 0.5, 21);
    const [x2, y2] = gaussians(300, 2, 1.5, 22);
    const [x3, y3] = gaussians(260, 3, 1, 23);
    const pairs: [Tensor, Tensor][] = [[x1, y1], [x3, y3], [x2, y2]];
    const cases = [
      { estimator: 'dv', critic: 'concat' }, { estimator: 'mine', critic: 'concat' }, { estimator: 'nwj', critic: 'separable' },
      { estimator: 'infonce', critic: 'concat' }, { estimator: 'smile', critic: 'separable', negatives: 'all-pairs' },
    ] as const;
    for (const c of cases) {
      const opts = { ...fast, steps: 25, ...c, seeds: 2 };
      const many = await mi.estimateMany(pairs, opts);
      for (let i = 0; i < pairs.length; ++i) {
        const one = await mi.estimate(pairs[i][0], pairs[i][1], opts);
        one.perSeed.forEach((v, s) => expect(Math.abs(many[i].perSeed[s] - v)).toBeLessThan(1e-4));
      }
    }
    for (const t of [x1, y1, x2, y2, x3, y3]) t.dispose();
  });

  test('a Module critic (ConcatCritic) trains like the built-in concat critic with the same seed', async () => {
    const [x, y] = gaussians(300, 2, 1, 31);
    const opts = { ...fast, estimator: 'dv', seed: 3 } as const;
    const builtIn = await mi.estimate(x, y, opts);
    const net = new mi.ConcatCritic(2, 2, [100, 100], { seed: 3 });
    const asModule = await mi.estimate(x, y, { ...opts, critic: net });
    expect(Math.abs(asModule.nats - builtIn.nats)).toBeLessThan(1e-4);
    for (const p of net.parameters()) p.dispose();
    x.dispose();
    y.dispose();
  });
});

describe('mi.estimate: early stopping', () => {
  /** The value early stopping must report: the best smoothed held-out value, raised only by > minDelta. */
  function expectedStop(history: mi.HistoryEntry[], patience: number, minDelta: number): { value: number; step: number } {
    let best = -Infinity;
    let since = 0;
    for (const h of history) {
      const v = h.heldOut as number;
      if (best === -Infinity || v > best + minDelta) (best = Math.max(v, best)), (since = 0);
      else if (++since >= patience) return { value: best, step: h.step };
    }
    return { value: best, step: history[history.length - 1].step };
  }

  test('a plateau stops the run: the best held-out value is reported, no later evaluations', async () => {
    const x = randn([2000, 3], { seed: 51 });
    const y = randn([2000, 3], { seed: 52 });                              // independent: I = 0
    const full = await mi.estimate(x, y, { ...fast, estimator: 'smile', steps: 400, evalEvery: 10 });
    const r = await mi.estimate(x, y, { ...fast, estimator: 'smile', steps: 400, evalEvery: 10, earlyStop: { patience: 3, minDelta: 0.02 } });
    const want = expectedStop(full.history, 3, 0.02);
    expect(want.step).toBeLessThan(400);                                  // the plateau is reached
    expect(r.history[r.history.length - 1].step).toBe(want.step);
    expect(r.history).toEqual(full.history.slice(0, r.history.length));   // same run up to the stop
    expect(r.nats).toBeCloseTo(want.value, 12);
    x.dispose();
    y.dispose();
  });

  test('estimateMany: each member stops on its own, as it would alone', async () => {
    const [x1, y1] = gaussians(400, 2, 0.2, 53);
    const [x2, y2] = gaussians(400, 2, 2, 54);
    const opts = { ...fast, estimator: 'nwj', steps: 300, evalEvery: 10, seeds: 2, earlyStop: { patience: 2 } } as const;
    const many = await mi.estimateMany([[x1, y1], [x2, y2]], opts);
    const one = [await mi.estimate(x1, y1, opts), await mi.estimate(x2, y2, opts)];
    const stops = many.map((r) => r.history[r.history.length - 1].step);
    expect(Math.max(...stops)).toBeLessThan(300);                         // both stopped early,
    expect(stops[0]).not.toBe(stops[1]);                                 // at different steps
    for (let i = 0; i < 2; ++i) {
      expect(many[i].history.map((h) => h.step)).toEqual(one[i].history.map((h) => h.step));
      one[i].perSeed.forEach((v, s) => expect(Math.abs(many[i].perSeed[s] - v)).toBeLessThan(1e-4));
    }
    for (const t of [x1, y1, x2, y2]) t.dispose();
  });

  test('bad earlyStop options', async () => {
    const x = randn([100, 2], { seed: 55 });
    await expect(mi.estimate(x, x, { ...fast, earlyStop: { patience: 0 } })).rejects.toThrow(/^\[mi\.estimate\] earlyStop\.patience/);
    await expect(mi.estimate(x, x, { ...fast, earlyStop: 3 as never })).rejects.toThrow(/^\[mi\.estimate\] earlyStop must be \{ patience, minDelta\? \} or false/);
    x.dispose();
  });
});

describe('mi.estimate: paper-compatible mode', () => {
  test('100 epochs of floor(N / 128) batches, DV, one evaluation on all frames', async () => {
    const [x, y] = gaussians(300, 4, 1, 41);
    const r = await mi.estimate(x, y, { paper: true });
    expect(r.history).toHaveLength(100);                              // one point per epoch
    expect(r.history[99].step).toBe(200);                             // 2 batches per epoch, 44 frames dropped
    expect(r.history.every((h) => h.heldOut === null)).toBe(true);
    expect(Number.isFinite(r.nats)).toBe(true);
    const again = await mi.estimate(x, y, { paper: true });
    expect(again.nats).toBe(r.nats);
    x.dispose();
    y.dispose();
  });
});
