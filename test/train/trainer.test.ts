/**
 * The Trainer on a tiny regression model (test/train/tiny.ts): a run's log, CSV and checkpoints;
 * gradient accumulation against one large batch; clipping against the norm computed here;
 * non-finite steps skipped and a clear stop after N in a row; early stopping; best-k rotation;
 * in-process exact resume (bitwise); callbacks; no memory growth over thousands of steps; bad
 * options.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { manualSeed, memory } from '../../lib/tensor';
import { Adam, AdamW, SGD, warmupCosine } from '../../lib/optim';
import { fit, readCheckpointMeta, Trainer, TrainingError } from '../../lib/train';
import type { EvalRecord, StepRecord, TrainerOptions } from '../../lib/train';
import { describeCuda, settleMemory } from '../helpers/devices';
import { TinyBatch, TinyRegressor, TinySource } from './tiny';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-trainer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let runNo = 0;
const runDir = (): string => path.join(tmp, `run${runNo++}`);

function base(over: Partial<TrainerOptions<TinyBatch>> = {}): TrainerOptions<TinyBatch> {
  const model = over.model ?? new TinyRegressor({ seed: 3 });
  return {
    model,
    optimizer: over.optimizer ?? new Adam(model.parameters(), { lr: 1e-2 }),
    train: new TinySource(40, 5, 1),
    maxSteps: 20,
    logEvery: 1,
    ...over,
  };
}

function snapshot(m: TinyRegressor): Float32Array[] {
  return m.parameters().map((p) => Float32Array.from(p.dataSync()));
}

function readLog(dir: string): (StepRecord | EvalRecord)[] {
  return fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('Trainer', () => {
  test('trains, logs every step and evaluation, writes CSV and checkpoints', async () => {
    manualSeed(5);
    const dir = runDir();
    const r = await fit(base({ dev: new TinySource(15, 4, 9), maxSteps: 24, evalEvery: 8, monitor: 'mse', outDir: dir, schedule: warmupCosine({ warmupSteps: 4, totalSteps: 24 }) }));
    expect(r.step).toBe(24);
    expect(r.stopReason).toBe('maxSteps');
    const log = readLog(dir);
    const train = log.filter((x): x is StepRecord => x.type === 'train');
    const evals = log.filter((x): x is EvalRecord => x.type === 'eval');
    expect(train.map((x) => x.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(evals.map((x) => x.step)).toEqual([8, 16, 24]);
    // 8 batches per epoch: step 9 reads the first batch of epoch 1.
    expect(train[7].epoch).toBe(1);
    expect(train[8].epoch).toBe(1);
    for (const t of train) {
      expect(Number.isFinite(t.loss!)).toBe(true);
      expect(t.metrics.mse).toBeCloseTo(t.loss!, 5);
      expect(t.gradNorm!).toBeGreaterThan(0);
      expect(t.memory.cpu).toBeGreaterThan(0);
    }
    // warmup: lr of step s (0-based index s) is 1e-2 * s / 4 for s < 4; the record holds the lr after the step
    expect(train[0].lr).toBeCloseTo(1e-2 * 1 / 4, 12);
    expect(evals[2].metrics.mse).toBeLessThan(evals[0].metrics.mse);
    const meanLoss = (xs: StepRecord[]): number => xs.reduce((a, x) => a + x.loss!, 0) / xs.length;
    expect(meanLoss(train.slice(16))).toBeLessThan(meanLoss(train.slice(0, 8)));
    expect(r.metrics!.mse).toBe(evals[2].metrics.mse);
    const csv = fs.readFileSync(path.join(dir, 'train.csv'), 'utf8').trim().split('\n');
    expect(csv[0].split(',')).toEqual(expect.arrayContaining(['step', 'loss', 'lr', 'grad_norm', 'mse', 'dev_mse', 'dev_rmse']));
    expect(csv).toHaveLength(25);
    expect(fs.readFileSync(path.join(dir, 'loss.svg'), 'utf8')).toMatch(/^<svg[^>]*>[\s\S]*train loss[\s\S]*<\/svg>\s*$/);
    expect(fs.readFileSync(path.join(dir, 'loss.png')).subarray(1, 4).toString()).toBe('PNG');
    const last = readCheckpointMeta(path.join(dir, 'checkpoints', 'last.safetensors'));
    expect(last.trainer.step).toBe(24);
    expect(last.trainer.epoch).toBe(3);
    expect(last.trainer.batchIndex).toBe(0);
    expect(last.model.className).toBe('TinyRegressor');
    expect(last.optimizer.name).toBe('Adam');
    expect(r.checkpoints.best).toHaveLength(1);
    const bestMeta = readCheckpointMeta(r.checkpoints.best[0]);
    expect(bestMeta.metrics!.mse).toBe(Math.min(...evals.map((e) => e.metrics.mse)));
  });

  test('gradient accumulation over 2 batches equals one step on their union', async () => {
    // Equal-sized halves: the mean loss of the union is the mean of the halves' means.
    const src = new TinySource(8, 4, 2);
    const union = { epoch: () => [(() => { const [a, b] = [...src.epoch(0)]; return { x: Float32Array.of(...a.x, ...b.x), y: Float32Array.of(...a.y, ...b.y), B: 8 }; })()] };
    const m1 = new TinyRegressor({ seed: 4, dropout: 0, noise: 0 });
    const m2 = new TinyRegressor({ seed: 4, dropout: 0, noise: 0 });
    await fit({ model: m1, optimizer: new SGD(m1.parameters(), { lr: 0.5 }), train: src, maxSteps: 1, accumulate: 2 });
    await fit({ model: m2, optimizer: new SGD(m2.parameters(), { lr: 0.5 }), train: union, maxSteps: 1 });
    const a = snapshot(m1);
    const b = snapshot(m2);
    const before = snapshot(new TinyRegressor({ seed: 4, dropout: 0, noise: 0 }));
    let moved = 0;
    a.forEach((p, i) => p.forEach((v, j) => {
      expect(Math.abs(v - b[i][j])).toBeLessThan(2e-6);
      moved = Math.max(moved, Math.abs(v - before[i][j]));
    }));
    expect(moved).toBeGreaterThan(1e-3);
  });

  test('clipGradNorm scales the update to the clip norm; the logged norm is the unclipped one', async () => {
    const dir = runDir();
    const m = new TinyRegressor({ seed: 6, dropout: 0, noise: 0 });
    const before = snapshot(m);
    // Reference grad norm from a manual backward on the same batch.
    const ref = new TinyRegressor({ seed: 6, dropout: 0, noise: 0 });
    const batch = [...new TinySource(40, 5, 1).epoch(0)][0];
    ref.loss(batch).loss.backward();
    let sq = 0;
    for (const p of ref.parameters()) for (const g of p.grad!.dataSync()) sq += g * g;
    const norm = Math.sqrt(sq);
    const clip = norm / 10;
    await fit({ model: m, optimizer: new SGD(m.parameters(), { lr: 1 }), train: new TinySource(40, 5, 1), maxSteps: 1, clipGradNorm: clip, outDir: dir, logEvery: 1 });
    const rec = readLog(dir)[0] as StepRecord;
    expect(rec.gradNorm!).toBeCloseTo(norm, 4);
    let moved = 0;
    snapshot(m).forEach((p, i) => p.forEach((v, j) => { moved += (v - before[i][j]) ** 2; }));
    expect(Math.sqrt(moved)).toBeCloseTo(clip, 4); // SGD lr 1: the update is the clipped grad
  });

  test('a non-finite step is skipped and counted; N in a row stop with a clear message', async () => {
    const dir = runDir();
    const m = new TinyRegressor({ seed: 7, dropout: 0 });
    const seen: { step: number; skipped: boolean; params: Float32Array[] }[] = [];
    const poison = (e: number, i: number): boolean => e === 0 && i === 2; // step 3
    await fit({
      model: m, optimizer: new SGD(m.parameters(), { lr: 0.1 }), train: new TinySource(40, 5, 1, poison), maxSteps: 5, outDir: dir, logEvery: 1,
      callbacks: { onStep: (s) => { seen.push({ step: s.step, skipped: s.skipped, params: snapshot(m) }); } },
    });
    expect(seen.map((s) => s.skipped)).toEqual([false, false, true, false, false]);
    expect(seen[2].params).toEqual(seen[1].params); // no update on the skipped step
    expect(seen[3].params).not.toEqual(seen[2].params);
    const log = readLog(dir) as StepRecord[];
    expect(log[2].loss).toBeNull();
    expect(log[4].skipped).toBe(1);

    const m2 = new TinyRegressor({ seed: 7, dropout: 0 });
    const allBad = new TinySource(40, 5, 1, (e, i) => e > 0 || i >= 1);
    const p = fit({ model: m2, optimizer: new SGD(m2.parameters(), { lr: 0.1 }), train: allBad, maxSteps: 20, maxNonFiniteSteps: 3 });
    await expect(p).rejects.toThrow(TrainingError);
    await expect(fit({ model: m2, optimizer: new SGD(m2.parameters(), { lr: 0.1 }), train: allBad, maxSteps: 20, maxNonFiniteSteps: 3 }))
      .rejects.toThrow(/3 steps in a row had a non-finite loss or gradient \(steps 2-4; last: the loss was NaN\); lower the learning rate/);
  });

  test('early stopping after `patience` evaluations without improvement; best-k keeps the k best', async () => {
    const dir = runDir();
    const m = new TinyRegressor({ seed: 8, dropout: 0 });
    // lr 0: the dev metric never changes after the first evaluation
    const r = await fit({
      model: m, optimizer: new SGD(m.parameters(), { lr: 0 }), train: new TinySource(40, 5, 1), dev: new TinySource(10, 5, 9),
      maxSteps: 100, evalEvery: 2, monitor: 'mse', earlyStopping: { patience: 3 }, outDir: dir,
    });
    expect(r.stopReason).toBe('earlyStopping');
    expect(r.step).toBe(8); // evals at 2 (best), 4, 6, 8 (3 without improvement)
    expect(r.best).toEqual({ metric: 'mse', value: expect.any(Number), step: 2 });

    const dir2 = runDir();
    const evals: number[] = [];
    const m3 = new TinyRegressor({ seed: 9, dropout: 0 });
    const r2 = await fit({
      model: m3, optimizer: new Adam(m3.parameters(), { lr: 3e-2 }), train: new TinySource(40, 5, 1), dev: new TinySource(10, 5, 9),
      maxSteps: 12, evalEvery: 2, monitor: 'rmse', checkpoint: { keepBest: 2 }, outDir: dir2,
      callbacks: { onEval: (e) => { evals.push(e.metrics.rmse); } },
    });
    const files = fs.readdirSync(path.join(dir2, 'checkpoints')).filter((f) => f.startsWith('best-')).sort();
    expect(files).toHaveLength(2);
    const kept = files.map((f) => readCheckpointMeta(path.join(dir2, 'checkpoints', f)).metrics!.rmse).sort((a, b) => a - b);
    expect(kept).toEqual([...evals].sort((a, b) => a - b).slice(0, 2));
    expect(r2.checkpoints.best.map((f) => path.basename(f)).sort()).toEqual(files);
    expect(fs.readdirSync(path.join(dir2, 'checkpoints')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('resume continues bitwise: 7 steps, stop, resume to 14 == 14 steps straight (dropout, Adam, schedule, epochs)', async () => {
    const run = async (dir: string, stopAt: number | null, resume: boolean): Promise<void> => {
      const model = new TinyRegressor({ seed: 10 });
      const optimizer = new AdamW(model.parameters(), { lr: 2e-2 });
      const t: Trainer<TinyBatch> = new Trainer({
        model, optimizer, schedule: warmupCosine({ warmupSteps: 3, totalSteps: 14 }), train: new TinySource(23, 4, 3), dev: new TinySource(9, 4, 9),
        evalEvery: 5, monitor: 'mse', maxSteps: 14, outDir: dir, resume, logEvery: 3, checkpoint: { every: 2 },
        callbacks: { onStep: (s) => { if (s.step === stopAt) t.requestStop(); } },
      });
      await t.fit();
    };
    manualSeed(11);
    const a = runDir();
    await run(a, null, false);
    manualSeed(11);
    const b = runDir();
    await run(b, 7, false); // stops after step 7 as a signal does (requestStop), saving last mid log window
    manualSeed(999); // the checkpoint's RNG state must win over whatever the process has
    await run(b, null, true);
    const strip = (l: (StepRecord | EvalRecord)[]): unknown[] => l.map((r) => (r.type === 'train' ? [r.step, r.epoch, r.loss, r.lr, r.gradNorm, r.metrics] : [r.step, r.metrics]));
    const la = readLog(a);
    expect(strip(readLog(b))).toEqual(strip(la));
    expect(la.filter((r) => r.type === 'train').map((r) => r.step)).toEqual([3, 6, 9, 12, 14]);
    const wa = new TinyRegressor();
    const wb = new TinyRegressor();
    wa.load(path.join(a, 'checkpoints', 'last.safetensors'), { strict: false });
    wb.load(path.join(b, 'checkpoints', 'last.safetensors'), { strict: false });
    expect(snapshot(wa)).toEqual(snapshot(wb));
  });

  test('requestStop() ends after the current step and saves last; callbacks see every step', async () => {
    const dir = runDir();
    const calls: string[] = [];
    const opts = base({ outDir: dir, maxSteps: 50 });
    const t = new Trainer({
      ...opts,
      callbacks: {
        onStart: (s) => { calls.push(`start ${s.step} ${s.totalSteps}`); },
        onStep: (s) => { calls.push(`step ${s.step}`); if (s.step === 4) t.requestStop(); },
        onCheckpoint: (c) => { calls.push(`ckpt ${c.kind} ${c.step}`); },
      },
    });
    const r = await t.fit();
    expect(r.stopReason).toBe('requested');
    expect(calls).toEqual(['start 0 50', 'step 1', 'step 2', 'step 3', 'step 4', 'ckpt last 4']);
    expect(readCheckpointMeta(path.join(dir, 'checkpoints', 'last.safetensors')).trainer.step).toBe(4);
  });

  test('maxEpochs with a partial last accumulation ends after the data; totalSteps from size()', async () => {
    let total: number | null = null;
    const r = await fit(base({ maxSteps: undefined, maxEpochs: 2, accumulate: 3, callbacks: { onStart: (s) => { total = s.totalSteps; } } }));
    // 2 epochs x 8 batches = 16 micro-batches = 5 full steps + 1 partial
    expect(total).toBe(6);
    expect(r.step).toBe(6);
    expect(r.stopReason).toBe('maxEpochs');
    expect(r.epoch).toBe(2);
  });

  test('memory stays at its baseline over 2000 steps', async () => {
    await settleMemory();
    const m = new TinyRegressor({ seed: 12 });
    const counts: number[] = [];
    const bytes: number[] = [];
    await fit({
      model: m, optimizer: new Adam(m.parameters(), { lr: 1e-3 }), train: new TinySource(64, 8, 5), maxSteps: 2000, logEvery: 100,
      clipGradNorm: 1,
      callbacks: { onStep: (s) => { if (s.step >= 10) { const mm = memory(); counts.push(mm.tensors); bytes.push(mm.bytes.cpu); } } },
    });
    expect(counts.length).toBe(1991);
    expect(Math.max(...counts)).toBe(counts[0]);
    expect(Math.min(...counts)).toBe(counts[0]);
    expect(Math.max(...bytes)).toBe(bytes[0]);
  });

  test('bad options are refused with the option named', () => {
    const m = new TinyRegressor();
    const opt = new SGD(m.parameters(), { lr: 0.1 });
    const src = new TinySource(10, 5);
    const cases: [Partial<TrainerOptions<TinyBatch>>, RegExp][] = [
      [{ maxSteps: undefined }, /give maxSteps or maxEpochs/],
      [{ maxSteps: 0 }, /maxSteps must be an integer >= 1, got 0/],
      [{ accumulate: 1.5 }, /accumulate must be an integer >= 1, got 1.5/],
      [{ clipGradNorm: -1 }, /clipGradNorm must be a number > 0 or null, got -1/],
      [{ train: {} as never }, /train must be a BatchSource/],
      [{ model: {} as never }, /model must be a Module with loss/],
      [{ optimizer: {} as never }, /optimizer must be an optim optimizer/],
      [{ earlyStopping: { patience: 2 } }, /earlyStopping needs monitor/],
      [{ monitorMode: 'up' as never, monitor: 'mse' }, /monitorMode must be 'min' or 'max', got "up"/],
      [{ resume: true }, /resume: true needs outDir/],
      [{ callbacks: { onStp: () => undefined } as never }, /unknown callback 'onStp'/],
      [{ evalEvery: 0 }, /evalEvery must be an integer >= 1, got 0/],
    ];
    for (const [over, re] of cases) {
      expect(() => new Trainer({ model: m, optimizer: opt, train: src, maxSteps: 3, ...over })).toThrow(re);
    }
  });
});

describeCuda('Trainer on CUDA', () => {
  test('bf16 autocast by default on cuda: finite losses, weights move, float32 master weights', async () => {
    const m = new TinyRegressor({ seed: 13 }).to('cuda');
    const before = snapshot(m);
    const losses: number[] = [];
    const r = await fit({
      model: m, optimizer: new AdamW(m.parameters(), { lr: 1e-2 }), train: new TinySource(40, 5, 1), maxSteps: 30, clipGradNorm: 1,
      callbacks: { onStep: (s) => { losses.push(s.loss); } },
    });
    expect(r.step).toBe(30);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.slice(-8).reduce((a, b) => a + b) / 8).toBeLessThan(losses.slice(0, 8).reduce((a, b) => a + b) / 8);
    expect(m.parameters().every((p) => p.dtype === 'float32' && p.device === 'cuda')).toBe(true);
    expect(snapshot(m)).not.toEqual(before);
  });
});

