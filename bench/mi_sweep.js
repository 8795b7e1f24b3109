#!/usr/bin/env node
// mi_sweep.js — cost of the validation sweep's settings (test/mi/sweep.test.ts): P = 15 critics
// (5 MI levels x 3 seeds) trained together by one mi.estimateMany, batch 256, N = 400000 pairs
// per level, 10% held out.
//
//   node bench/mi_sweep.js [--device cpu|cuda] [--d 20] [--n 400000] [--steps 400] [--only mine,dv] [--repeats 3] [--out name.json | -]
//
// Per setting: ms per batched training step (difference of a 2S- and an S-step run with one
// evaluation each, so setup and evaluation cancel) and ms per held-out evaluation (difference of
// an S-step run evaluated every S/4 steps and one evaluated once: 3 extra evaluations of
// 40000 rows x 15 critics). GFLOP/s counts the critics' matmul arithmetic (forward + backward,
// approximate): far below the device's rate, the step is bound by per-op overhead, not math.
'use strict';
const { machine, printTable, writeJson, loadLibrary, median } = require('./common');

const ms = loadLibrary();
const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const device = arg('--device', ms.cudaAvailable() ? 'cuda' : 'cpu');
const d = Number(arg('--d', 20));
const S = Number(arg('--steps', device === 'cuda' ? 400 : 40));
const N = Number(arg('--n', 400000));
const LEVELS = [0.5, 1, 2, 4, 8];
const B = 256;
const REPEATS = Number(arg('--repeats', 3));

const common = { batchSize: B, heldOut: 0.1, seeds: 3, smoothing: 3, device };
const allPairs = { critic: 'separable', negatives: 'all-pairs' };
const SETTINGS = {
  smile: { ...common, ...allPairs, estimator: 'smile', tau: 5, lr: 5e-4 },
  mine: { ...common, estimator: 'mine', lr: 2e-4 },
  infonce: { ...common, ...allPairs, estimator: 'infonce', hidden: [256, 256], lr: 2e-4 },
  dv: { ...common, ...allPairs, estimator: 'dv', lr: 3e-4 },
};

/** Multiply-adds of one training step per critic (forward; backward ~2x). */
function macs(name) {
  const s = SETTINGS[name];
  const h = s.hidden || [100, 100];
  const mlp = (inF) => [inF, ...h].reduce((acc, w, i, a) => acc + (i ? a[i - 1] * w : 0), 0) + h[h.length - 1];
  if (s.critic === 'separable') return B * 2 * (mlp(d) + h[h.length - 1] * 32) + B * B * 32;
  return 2 * B * (mlp(2 * d));
}

function gaussians(nats, seed) {
  const rho = Math.sqrt(1 - Math.exp((-2 * nats) / d));
  return ms.tidy(() => {
    const x = ms.randn([N, d], { seed, device });
    const e = ms.randn([N, d], { seed: seed + 7919, device });
    return [x, ms.add(ms.mul(x, rho), ms.mul(e, Math.sqrt(1 - rho * rho)))];
  });
}

async function seconds(pairs, opts) {
  ms.synchronize();
  const t0 = process.hrtime.bigint();
  await ms.mi.estimateMany(pairs, opts);
  ms.synchronize();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

(async () => {
  const pairs = LEVELS.map((nats, i) => gaussians(nats, 100 + i));
  const results = { machine: machine(ms), date: new Date().toISOString(), device, config: { d, N, B, critics: 15, steps: S, repeats: REPEATS }, cases: {} };
  const rows = [];
  const evalCol = `ms/eval (${Math.floor(N / 10)} rows)`;
  const only = arg('--only', null);
  for (const name of only ? only.split(',') : Object.keys(SETTINGS)) {
    if (!SETTINGS[name]) throw new Error(`--only: unknown setting '${name}' (${Object.keys(SETTINGS).join(', ')})`);
    const o = SETTINGS[name];
    await seconds(pairs, { ...o, steps: 5, evalEvery: 5 });                 // warm-up
    // Medians over REPEATS interleaved rounds: a run's setup (standardising 400000 rows, the
    // split) jitters by more than S steps cost on the GPU machines' shared CPUs.
    const r1 = [], r2 = [], r4 = [];
    for (let r = 0; r < REPEATS; ++r) {
      r1.push(await seconds(pairs, { ...o, steps: S, evalEvery: S }));
      r2.push(await seconds(pairs, { ...o, steps: 2 * S, evalEvery: 2 * S }));
      r4.push(await seconds(pairs, { ...o, steps: S, evalEvery: S / 4 }));
    }
    const [t1, t2, t4] = [median(r1), median(r2), median(r4)];
    const stepMs = ((t2 - t1) / S) * 1e3;
    const evalMs = ((t4 - t1) / 3) * 1e3;
    const flop = 3 * 2 * 15 * macs(name);
    results.cases[name] = { stepMs, evalMs, flopPerStep: flop, setupAndOneEvalS: t1 - (S * stepMs) / 1e3, runsS: { steps: r1, doubleSteps: r2, fourEvals: r4 } };
    rows.push({
      setting: name, shape: `P=15 B=${B} d=${d} ${o.critic || 'concat'}${o.negatives === 'all-pairs' ? ' all-pairs' : ''}`,
      'ms/step': stepMs.toFixed(3), 'GFLOP/s': (flop / stepMs / 1e6).toFixed(1),
      [evalCol]: evalMs.toFixed(1),
      'sweep run (steps + 20 evals)': `${((8000 * stepMs + 20 * evalMs) / 1e3).toFixed(1)} s at 8000 steps`,
    });
  }
  for (const [x, y] of pairs) x.dispose(), y.dispose();
  printTable(`MI sweep settings — ${device === 'cuda' ? results.machine.gpus[0] : results.machine.cpu} (${device}, d = ${d}, N = ${N})`,
    ['setting', 'shape', 'ms/step', 'GFLOP/s', evalCol, 'sweep run (steps + 20 evals)'], rows);
  const tag = device === 'cuda' ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu';
  const out = arg('--out', `mi_sweep-${tag}.json`);
  if (out !== '-') writeJson(out, results);                                // --out -: table only
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
