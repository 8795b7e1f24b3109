/**
 * Exact resume after SIGKILL: a child training run (test/train/child_train.ts: dropout, AdamW,
 * cosine schedule, gradient accumulation over epoch boundaries, clipping, evaluations, best-k)
 * is killed at a random step — often inside a checkpoint write, since it saves every step — and
 * resumed; its log must equal an uninterrupted run's bit for bit (losses, lrs, grad norms, eval
 * metrics), and its final weights too. Several trials, random kill points (seed printed).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DataRng } from '../../lib/data';
import { readCheckpointMeta } from '../../lib/train';
import type { EvalRecord, StepRecord } from '../../lib/train';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-resume-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const STEPS = 14;

function start(dir: string, resume: boolean): ChildProcess {
  const args = ['-r', './test/cli/ts-hook.js', 'test/train/child_train.ts', dir, String(STEPS), ...(resume ? ['resume'] : [])];
  return spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs to the end, or SIGKILLs the child `delayMs` after it printed "step <killAt>". */
function run(dir: string, resume: boolean, killAt: number | null, delayMs = 0): Promise<{ code: number | null; signal: string | null; err: string }> {
  return new Promise((resolve) => {
    const c = start(dir, resume);
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAt !== null && out.includes(`step ${killAt}\n`)) {
        killAt = null;
        setTimeout(() => c.kill('SIGKILL'), delayMs);
      }
    });
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('exit', (code, signal) => resolve({ code, signal, err }));
  });
}

function log(dir: string): unknown[] {
  return fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const r = JSON.parse(l) as StepRecord | EvalRecord;
    return r.type === 'train' ? ['train', r.step, r.epoch, r.loss, r.lr, r.gradNorm, r.metrics, r.skipped] : ['eval', r.step, r.epoch, r.metrics, r.best];
  });
}

test('SIGKILL at random steps, resume: the log and weights equal an uninterrupted run bitwise', async () => {
  const refDir = path.join(tmp, 'ref');
  const ref = await run(refDir, false, null);
  expect(ref.err).toBe('');
  expect(ref.code).toBe(0);
  const expected = log(refDir);
  expect(expected.filter((r) => (r as unknown[])[0] === 'train')).toHaveLength(STEPS);
  const refLast = fs.readFileSync(path.join(refDir, 'checkpoints', 'last.safetensors'));

  const seed = Number(process.env.TEST_SEED ?? Date.now() % 100000);
  const rng = new DataRng(seed);
  for (let trial = 0; trial < 3; ++trial) {
    const dir = path.join(tmp, `trial${trial}`);
    const kills: string[] = [];
    // First kill anywhere in the run; trial 2 is killed a second time after resuming.
    let resume = false;
    let from = 1;
    for (let k = 0; k < (trial >= 2 ? 2 : 1); ++k) {
      const at = from + rng.int(0, STEPS - 1 - from);
      from = at + 1;
      const delay = rng.int(0, 4);
      const r = await run(dir, resume, at, delay);
      kills.push(`step ${at} + ${delay} ms -> ${r.signal ?? `exit ${r.code}`}`);
      resume = true;
      const last = path.join(dir, 'checkpoints', 'last.safetensors');
      if (fs.existsSync(last)) expect(readCheckpointMeta(last).trainer.step).toBeGreaterThan(0); // whole, never torn
    }
    const fin = await run(dir, true, null);
    const what = `seed ${seed}, trial ${trial}: ${kills.join('; ')}`;
    expect({ what, err: fin.err, code: fin.code }).toEqual({ what, err: '', code: 0 });
    expect({ what, log: log(dir) }).toEqual({ what, log: expected });
    // The model and optimizer tensors are the same bytes (the JSON metadata differs in times).
    const a = fs.readFileSync(path.join(dir, 'checkpoints', 'last.safetensors'));
    const tensorsOf = (b: Buffer): Buffer => b.subarray(8 + Number(b.readBigUInt64LE(0)));
    expect({ what, same: tensorsOf(a).equals(tensorsOf(refLast)) }).toEqual({ what, same: true });
    expect(fs.readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.startsWith('best-')).sort())
      .toEqual(fs.readdirSync(path.join(refDir, 'checkpoints')).filter((f) => f.startsWith('best-')).sort());
  }
});
