// The addon is context-aware: it loads and computes inside worker_threads, with per-thread
// memory accounting, while the main thread keeps working.
import * as path from 'path';
import { Worker } from 'worker_threads';

import { add, memory, randn } from '../../lib';
import { settleMemory } from '../helpers/devices';

const addonPath = path.resolve(__dirname, '../../build/Release/mamba_speech.node');

// Plain JS run in the worker: the addon directly (the TS sources are not compiled there).
const workerSource = `
const { parentPort, workerData } = require('worker_threads');
const m = require(workerData.addonPath);
const before = m.memory().tensors;
const a = m.random(1, [workerData.n], workerData.seed, 0, 'float32', 'cpu');
const b = m.add(a, a);
const values = Array.from(b.dataSync());
const during = m.memory().tensors;
a.dispose(); b.dispose();
parentPort.postMessage({ values, before, during, after: m.memory().tensors });
`;

function runWorker(seed: number, n: number): Promise<{ values: number[]; before: number; during: number; after: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerSource, { eval: true, workerData: { addonPath, seed, n } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

test('loads in several workers at once and matches the main thread', async () => {
  await settleMemory();
  const held = randn([10], { seed: 1, device: 'cpu' }); // main-thread tensor alive meanwhile
  const results = await Promise.all([11, 12, 13, 14].map((s) => runWorker(s, 4099)));
  results.forEach((r, i) => {
    expect(r.before).toBe(0); // a fresh environment: its own accounting
    expect(r.during).toBe(2);
    expect(r.after).toBe(0);
    const x = randn([4099], { seed: 11 + i, device: 'cpu' });
    expect(r.values).toEqual(Array.from(add(x, x).dataSync()));
  });
  // The main thread's own tensor is in its own accounting (the workers' are not). Compared
  // around its dispose: a finalizer of an older, unreachable tensor may run at any GC, so a
  // count read against a baseline taken earlier can drop under load (it failed once so).
  const withHeld = memory().tensors;
  held.dispose();
  expect(withHeld - memory().tensors).toBeGreaterThanOrEqual(1);
});
