#!/usr/bin/env node
// mi.js — training speed of the MI estimators in the paper's configuration: concat critic
// 768 + 768 -> 100 -> 100 -> 1 (ReLU), batch 128, DV with in-batch shuffled negatives, Adam.
//
//   node bench/mi.js [--ref torch_mi.json] [--out name.json] [--steps 200] [--repeats 5]
//
// Cases, per device: one estimate (1 critic), and estimateMany over 13 pairs (13 critics in one
// batched network: the paper's 13 layers x 1 utterance). Steps/s is the difference between a
// run of 2S and of S steps (so data upload, init and the held-out evaluation cancel), median of
// --repeats such differences (min..max shown: the GPU machines' host speed drifts); for 13
// pairs it is pair-steps/s (13 per batched step). The reference is bench/torch_mi.py, the same
// loop in PyTorch on the same machine: its 13-pair figure is 13 sequential runs.
'use strict';
const { machine, printTable, writeJson, loadReference, loadLibrary, median } = require('./common');

const ms = loadLibrary();

const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const ref = loadReference(arg('--ref', null));
const S = Number(arg('--steps', 200));
const D = 768;
const B = 128;
const N = 2048;
const PAIRS = 13;
const REPEATS = Number(arg('--repeats', 5));

async function timed(pairs, device, steps) {
  const opts = { estimator: 'dv', batchSize: B, steps, evalEvery: steps, heldOut: 0.0625, lr: 1e-4, device, standardize: false };
  ms.synchronize();
  const t0 = process.hrtime.bigint();
  if (pairs.length === 1) await ms.mi.estimate(pairs[0][0], pairs[0][1], opts);
  else await ms.mi.estimateMany(pairs, opts);
  ms.synchronize();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Median over REPEATS of (2S-step run − S-step run): the device machines' host speed drifts
 * between runs (up to 2x on a shared VM), so one difference alone is not a figure. */
async function stepsPerSecond(pairs, device, steps) {
  await timed(pairs, device, 10); // warm-up: JIT, allocator cache, cuBLAS handles
  const runs = [];
  for (let r = 0; r < REPEATS; ++r) {
    const t1 = await timed(pairs, device, steps);
    const t2 = await timed(pairs, device, 2 * steps);
    runs.push((steps * pairs.length) / Math.max(t2 - t1, 1e-9));
  }
  return { median: median(runs), runs };
}

(async () => {
  const results = { machine: machine(ms), date: new Date().toISOString(), config: { D, B, N, pairs: PAIRS, hidden: [100, 100], steps: S, repeats: REPEATS }, cases: {} };
  const rows = [];
  for (const device of ['cpu', 'cuda']) {
    if (device === 'cuda' && !ms.cudaAvailable()) continue;
    const x = ms.randn([N, D], { seed: 1, device });
    const ys = Array.from({ length: PAIRS }, (_, i) => ms.randn([N, D], { seed: 2 + i, device }));
    const cpuSteps = device === 'cpu' ? Math.max(20, Math.floor(S / 5)) : S;
    const cases = [['single estimate (1 critic)', [[x, ys[0]]]], [`estimateMany (${PAIRS} pairs)`, ys.map((y) => [x, y])]];
    for (const [name, pairs] of cases) {
      const { median: sps, runs } = await stepsPerSecond(pairs, device, cpuSteps);
      const key = `${device}:${pairs.length}`;
      results.cases[key] = { stepsPerSecond: sps, runs, critics: pairs.length };
      const r = ref && ref.stepsPerSecond && ref.stepsPerSecond[device];
      // The issue's goals are for the GPU (same loop in PyTorch on the same GPU); on the CPU the
      // ratio is shown without one (the GPU machines' shared CPUs gave torch 150-1150 steps/s).
      const goal = device !== 'cuda' ? null : pairs.length === 1 ? 1 : 5;
      rows.push({
        case: name, device, shape: `(${B}, ${D}+${D}) -> 100 -> 100 -> 1`,
        'median ms/step': (1000 / (sps / pairs.length)).toFixed(3),
        'steps/s': pairs.length === 1 ? sps.toFixed(1) : `${sps.toFixed(1)} pair-steps/s`,
        'min..max': `${Math.min(...runs).toFixed(0)}..${Math.max(...runs).toFixed(0)}`,
        reference: r ? `torch ${r.toFixed(1)}${pairs.length === 1 ? '' : ` (x${PAIRS} sequential)`}` : '-',
        ratio: r ? `${(sps / r).toFixed(2)}x torch${goal ? ` (goal ${goal}x)` : ''}` : '-',
      });
    }
    x.dispose();
    ys.forEach((y) => y.dispose());
  }
  if (ref) results.reference = ref;
  printTable(`mamba-speech MI estimator benchmark — ${results.machine.gpus[0] || results.machine.cpu} (${results.machine.cores} cores)`,
    ['case', 'device', 'shape', 'median ms/step', 'steps/s', 'min..max', 'reference', 'ratio'], rows);
  const out = arg('--out', `mi-${ms.cudaAvailable() ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu'}.json`);
  writeJson(out, results);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
