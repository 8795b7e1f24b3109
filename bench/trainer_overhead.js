#!/usr/bin/env node
// trainer_overhead.js — what the Trainer costs per step: the same small model, optimizer and
// batches trained through `train.fit` and through a bare loop (forward, backward, Adam step,
// zeroGrad, loss.item()), interleaved rounds, the median single step of each (the mean is in the
// JSON too). Goal: fit ≤ 5 % slower on the CPU, ≤ 3 % on the GPU.
//
//   node bench/trainer_overhead.js [--device cpu|cuda] [--steps 300] [--rounds 5] [--quick] [--save] [--out name.json]
//
// Model: x (B, 64) -> Linear 64->256 -> GELU -> Linear 256->256 -> GELU -> Linear 256->1, MSE;
// B = 32; bf16 autocast on CUDA in both paths (fit's default). On the CPU one step is ~1 ms,
// small enough that per-step bookkeeping would show:
// the trainer adds the gradient-norm pass (it logs the norm), the data cursor, the log window,
// callbacks and a yield to the event loop every 20 ms. No checkpoints or log files are written
// (outDir unset): those are I/O, paid every N steps, not per step.
// JSON goes to bench/results/ only with --save (or under $BENCH_OUT_DIR when that is set).
'use strict';
const fs = require('fs');
const path = require('path');
const { median, machine, printTable, writeJson } = require('./common');

const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;

function loadLibrary() {
  // The built package when it has the trainer; otherwise the TypeScript sources (a dist/ built
  // before lib/train existed, or none at all).
  try {
    const m = require('..');
    if (m.train) return m;
  } catch { /* not built */ }
  const hook = path.join(__dirname, '..', 'test', 'cli', 'ts-hook.js');
  if (fs.existsSync(hook)) require(hook);
  else {
    const ts = require('typescript');
    require.extensions['.ts'] = (module, filename) => {
      const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
        fileName: filename, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true },
      });
      module._compile(outputText, filename);
    };
  }
  return require(path.join(__dirname, '..', 'lib'));
}

const ms = loadLibrary();
const { nn, ops, optim, train } = ms;
const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const quick = args.includes('--quick');
const device = arg('--device', ms.getDefaultDevice());
const steps = Number(arg('--steps', quick ? 60 : 300));
const rounds = Number(arg('--rounds', quick ? 3 : 5));
const B = 32;
const IN = 64;
const HID = 256;

class Mlp extends nn.Module {
  constructor() {
    super();
    this.a = this.module('a', new nn.Linear(IN, HID, { seed: 1, device }));
    this.b = this.module('b', new nn.Linear(HID, HID, { seed: 2, device }));
    this.c = this.module('c', new nn.Linear(HID, 1, { seed: 3, device }));
    this.task = 'bench';
  }
  forward(x) {
    return this.c.forward(ops.gelu(this.b.forward(ops.gelu(this.a.forward(x)))));
  }
  loss(batch) {
    const loss = ops.mseLoss(this.forward(batch.x), batch.y);
    return { loss, metrics: {}, count: B };
  }
  async evaluate() { return {}; }
  hiddenStates() { throw new Error('not used'); }
  toConfig() { return {}; }
}

// 16 fixed batches on the device; the source hands them out in order every epoch.
const batches = Array.from({ length: 16 }, (_, i) => ({
  x: ms.keep(ms.randn([B, IN], { seed: 100 + i, device })),
  y: ms.keep(ms.randn([B, 1], { seed: 200 + i, device })),
}));
const source = { epoch: () => batches, size: () => batches.length };
const sync = device === 'cuda' ? () => ms.synchronize() : () => undefined;

// The same numerics on both paths: fit's default autocast ('auto') runs the forward in bf16 on
// CUDA, so the bare loop does too (comparing a bf16 fit with a float32 loop measured the casts).
const useAutocast = device === 'cuda';

function bareStep(model, opt, batch) {
  ms.tidy(() => {
    const { loss } = ms.autocast('bfloat16', () => model.loss(batch), { enabled: useAutocast });
    loss.item();
    loss.backward();
  });
  opt.step();
  opt.zeroGrad();
}

/** Per-step seconds of n bare steps (each timed on its own). */
function timeBare(model, opt, n) {
  const out = [];
  for (let s = 0; s < n; ++s) {
    const t0 = process.hrtime.bigint();
    bareStep(model, opt, batches[s % batches.length]);
    sync();
    out.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return out;
}

/** Per-step seconds of n steps through fit: the interval between consecutive onStep calls is one
 *  whole trainer step (data cursor, forward/backward, norm, update, bookkeeping). */
async function timeFit(model, opt, n) {
  const out = [];
  let last = null;
  await train.fit({
    model, optimizer: opt, train: source, maxSteps: n + 1, logEvery: 10,
    callbacks: { onStep: () => { sync(); const t = process.hrtime.bigint(); if (last !== null) out.push(Number(t - last) / 1e9); last = t; } },
  });
  return out;
}

(async () => {
  // One model and optimizer per path, warmed up; rounds interleave the two so load drifts on a
  // shared machine hit both alike, and the median of single steps ignores scheduling spikes.
  const mb = new Mlp();
  const ob = new optim.Adam(mb.parameters(), { lr: 1e-4 });
  const mf = new Mlp();
  const of = new optim.Adam(mf.parameters(), { lr: 1e-4 });
  timeBare(mb, ob, 20);
  await timeFit(mf, of, 20);
  const b = [];
  const f = [];
  for (let r = 0; r < rounds; ++r) {
    b.push(...timeBare(mb, ob, steps));
    f.push(...await timeFit(mf, of, steps));
  }
  const tb = median(b);
  const tf = median(f);
  const overhead = tf / tb - 1;
  const goal = device === 'cuda' ? 0.03 : 0.05;
  const shape = `MLP ${IN}-${HID}-${HID}-1, B ${B}${useAutocast ? ', bf16 autocast' : ''}`;
  printTable(`trainer overhead (${device}; median step of ${rounds} interleaved rounds of ${steps} steps)`, ['shape', 'bare ms/step', 'fit ms/step', 'overhead', 'goal', 'ratio'], [{
    shape, 'bare ms/step': (tb * 1e3).toFixed(3), 'fit ms/step': (tf * 1e3).toFixed(3),
    overhead: `${(overhead * 100).toFixed(1)}%`, goal: `<= ${goal * 100}%`, ratio: (tf / tb).toFixed(3),
  }]);
  const results = {
    machine: machine(ms), date: new Date().toISOString(), device, steps, rounds,
    [device]: { shape, bareSeconds: tb, fitSeconds: tf, overheadRatio: tf / tb, goalRatio: 1 + goal, bareMeanSeconds: mean(b), fitMeanSeconds: mean(f) },
  };
  const tag = device === 'cuda' ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu';
  if (args.includes('--save') || process.env.BENCH_OUT_DIR) writeJson(arg('--out', `trainer_overhead-${tag}.json`), results);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
