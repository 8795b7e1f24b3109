/**
 * Checkpoints: a save/load round trip restores model, optimizer and scheduler bit for bit;
 * atomic writes (a failing writer leaves the old file and no temp; temp names never repeat;
 * stale temps of dead writers are removed, live writers' kept); a writer SIGKILLed at random
 * moments never leaves a torn file at the final path (several kills, seed printed).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DataRng } from '../../lib/data';
import { loadSafetensors } from '../../lib/io';
import { Adam, LRScheduler, warmupLinear } from '../../lib/optim';
import { getRngState, manualSeed } from '../../lib/tensor';
import {
  cleanStaleTemps, loadCheckpoint, disposeLoaded, readCheckpointMeta, restoreCheckpoint, saveCheckpoint, tempPathFor, writeAtomicWith, writeFileAtomic,
} from '../../lib/train';
import type { TrainerState } from '../../lib/train';
import { TinyRegressor, TinySource } from './tiny';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const state = (step: number): TrainerState => ({
  step, epoch: 1, batchIndex: 3, skippedSteps: 0, nonFiniteInARow: 0, bestValue: null, bestStep: null, evalsWithoutImprovement: 0,
  lastEvalStep: null, best: [], elapsedSeconds: 1.5, window: { steps: 0, applied: 0, loss: 0, seconds: 0, gradNorm: null, metrics: {} },
});

function trained(steps: number): { model: TinyRegressor; opt: Adam; sched: LRScheduler } {
  const model = new TinyRegressor({ seed: 2, dropout: 0 });
  const opt = new Adam(model.parameters(), { lr: 1e-2, amsgrad: true });
  const sched = new LRScheduler(opt, warmupLinear({ warmupSteps: 2, totalSteps: 10 }));
  const batches = [...new TinySource(20, 5).epoch(0)];
  for (let s = 0; s < steps; ++s) {
    model.loss(batches[s % batches.length]).loss.backward();
    opt.step();
    opt.zeroGrad();
    sched.step();
  }
  return { model, opt, sched };
}

test('save -> restore gives the same weights, optimizer state, schedule, RNG and metadata', () => {
  manualSeed(77);
  const a = trained(3);
  const file = path.join(tmp, 'a.safetensors');
  const rng = getRngState();
  saveCheckpoint(file, { model: a.model, optimizer: a.opt, scheduler: a.sched, kind: 'last', trainer: state(3), rng, config: { x: 1 }, metrics: { mse: 0.5 } });
  const meta = readCheckpointMeta(file);
  expect(meta).toMatchObject({ format: 'mamba-speech/checkpoint', version: 1, kind: 'last', rng, config: { x: 1 }, metrics: { mse: 0.5 } });
  expect(meta.trainer).toEqual(state(3));
  expect(meta.model).toMatchObject({ className: 'TinyRegressor', task: 'tiny', numParameters: a.model.numParameters() });
  expect(meta.scheduler).toEqual({ step: 3, baseLrs: [1e-2] });

  const b = trained(0);
  restoreCheckpoint(file, { model: b.model, optimizer: b.opt, scheduler: b.sched });
  a.model.parameters().forEach((p, i) => expect(b.model.parameters()[i].dataSync()).toEqual(p.dataSync()));
  expect(b.opt.paramGroups[0].lr).toBe(a.opt.paramGroups[0].lr);
  const sa = a.opt.stateDict({ arrays: true });
  const sb = b.opt.stateDict({ arrays: true });
  expect(sb).toEqual(sa);
  // One more identical step on each: still identical (Adam's step counts and amsgrad max came back).
  const batch = [...new TinySource(20, 5).epoch(0)][1];
  for (const t of [a, b]) {
    t.model.loss(batch).loss.backward();
    t.opt.step();
    t.opt.zeroGrad();
  }
  a.model.parameters().forEach((p, i) => expect(b.model.parameters()[i].dataSync()).toEqual(p.dataSync()));
  // Plain safetensors readers see the model under model.<name>.
  const raw = loadSafetensors(file, { device: 'cpu' });
  expect(Object.keys(raw.tensors).filter((k) => k.startsWith('model.')).sort()).toEqual(['model.l1.bias', 'model.l1.weight', 'model.l2.bias', 'model.l2.weight']);
  Object.values(raw.tensors).forEach((t) => t.dispose());
  const loaded = loadCheckpoint(file);
  expect(Object.keys(loaded.optimizer.state)).toHaveLength(4);
  disposeLoaded(loaded);
});

test('restore refuses a checkpoint of another optimizer or model, naming both', () => {
  const a = trained(1);
  const file = path.join(tmp, 'b.safetensors');
  saveCheckpoint(file, { model: a.model, optimizer: a.opt, scheduler: null, kind: 'last', trainer: state(1), rng: getRngState(), config: null, metrics: null });
  const b = trained(0);
  const { SGD } = jest.requireActual('../../lib/optim') as typeof import('../../lib/optim');
  expect(() => restoreCheckpoint(file, { model: b.model, optimizer: new SGD(b.model.parameters(), { lr: 1 }) }))
    .toThrow(/was saved with the Adam optimizer; this run uses SGD/);
  expect(() => restoreCheckpoint(file, { model: b.model, optimizer: b.opt, scheduler: b.sched })).toThrow(/has no scheduler state/);
  fs.writeFileSync(path.join(tmp, 'junk.safetensors'), 'not a checkpoint');
  expect(() => readCheckpointMeta(path.join(tmp, 'junk.safetensors'))).toThrow(/\[loadCheckpoint\] .*junk.safetensors: header length/);
});

test('atomic writes: a failing writer leaves the old file and no temp; temp names never repeat', () => {
  const target = path.join(tmp, 'atomic', 'f.txt');
  writeFileAtomic(target, 'old');
  expect(() => writeAtomicWith(target, (t) => { fs.writeFileSync(t, 'half'); throw new Error('disk full'); })).toThrow('disk full');
  expect(fs.readFileSync(target, 'utf8')).toBe('old');
  expect(fs.readdirSync(path.dirname(target))).toEqual(['f.txt']);
  const names = new Set(Array.from({ length: 2000 }, () => tempPathFor(target)));
  expect(names.size).toBe(2000);
  expect(path.basename([...names][0])).toMatch(new RegExp(`^\\.f\\.txt\\.[A-Za-z0-9]+-${process.pid}-\\d+-\\d+-[0-9a-f]{12}\\.tmp$`));
});

test('stale temps of dead writers are cleaned, those of live writers kept', () => {
  const target = path.join(tmp, 'stale', 'last.safetensors');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const host = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 16) || 'host';
  const at = (name: string): string => path.join(path.dirname(target), name);
  const deadTmp = at(`.last.safetensors.${host}-${dead}-0-1-0123456789ab.tmp`);
  const liveTmp = at(`.last.safetensors.${host}-${process.ppid}-0-1-0123456789ab.tmp`);
  const other = at(`.best.safetensors.${host}-${dead}-0-1-0123456789ab.tmp`);
  const notOurs = at('.last.safetensors.notes.tmp');
  for (const f of [deadTmp, liveTmp, other, notOurs]) fs.writeFileSync(f, 'x');
  expect(cleanStaleTemps(target)).toEqual([deadTmp]);
  for (const f of [liveTmp, other, notOurs]) expect(fs.existsSync(f)).toBe(true);
  // a checkpoint save cleans them too (it writes through the same atomic writer)
  fs.writeFileSync(deadTmp, 'x');
  writeAtomicWith(target, (t) => fs.writeFileSync(t, 'new'));
  expect(fs.existsSync(deadTmp)).toBe(false);
  expect(fs.readFileSync(target, 'utf8')).toBe('new');
});

test('a checkpoint writer SIGKILLed at random moments never leaves a torn file', async () => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 100000);
  const rng = new DataRng(seed);
  const file = path.join(tmp, 'kill', 'last.safetensors');
  const outcomes: string[] = [];
  for (let trial = 0; trial < 3; ++trial) {
    const delay = 20 + rng.int(0, 150);
    const child = spawn(process.execPath, ['-r', './test/cli/ts-hook.js', 'test/train/child_write.ts', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    await new Promise<void>((resolve) => {
      let armed = false;
      child.stdout!.on('data', () => {
        if (!armed) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delay);
        }
      });
      child.on('exit', () => resolve());
    });
    expect({ seed, trial, err }).toEqual({ seed, trial, err: '' });
    // Whatever moment the kill hit, the file at the final path is a whole checkpoint of one write.
    const c = loadCheckpoint(file);
    const k = c.meta.trainer.step;
    expect(c.meta.config).toEqual({ k });
    for (const t of Object.values(c.model)) {
      const v = t.dataSync();
      expect({ seed, trial, k, first: v[0], last: v[v.length - 1] }).toEqual({ seed, trial, k, first: k, last: k });
    }
    disposeLoaded(c);
    outcomes.push(`${delay} ms -> write ${k}`);
  }
  // The next writer removes the temps the killed ones left.
  writeFileAtomic(file + '.x', 'y');
  cleanStaleTemps(file);
  expect(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(outcomes).toHaveLength(3);
});
