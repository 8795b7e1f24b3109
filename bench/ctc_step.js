#!/usr/bin/env node
// ctc_step.js — one CPU training step of a small CTC model, as the `tiny` preset trains them:
// Conv2dSubsampling x4 (80-d log-mel -> C) + 4 conformer layers (d 144, 4 heads, FFN 576,
// depthwise k 31, dropout 0.1) + a linear head to 32 symbols, CTC loss, forward + backward +
// AdamW, on a batch of 8 x 300 frames with lengths 70-100 % of 300 (75 frames after the front
// end) and targets of 20-40 symbols.
//
//   node bench/ctc_step.js [--steps 10] [--layers 4] [--d 144] [--encoder conformer] [--threads n]
//                          [--cpu-time] [--save] [--label text]
//
// Prints the median step time and, measured separately, the front end's share (forward +
// backward of Conv2dSubsampling alone, on the same input). Wall clock by default; --cpu-time
// times the process's CPU time (user + system) instead, which a loaded shared machine disturbs
// far less (with --threads 1: waiting pool threads spin, and that counts). Compare builds by
// alternating whole runs and taking medians.
// --save writes bench/results/ctc_step-cpu.json, the file already there moving into its history.
'use strict';
const ms = require('..');
const { median, machine, printTable, writeJson } = require('./common');
const { buildEncoder } = require('../dist/models/encoder_spec');

const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? args[args.indexOf(name) + 1] : d);
const steps = Number(opt('--steps', 10));
const layers = Number(opt('--layers', 4));
const C = Number(opt('--d', 144));
const type = opt('--encoder', 'conformer');
const B = 8, T = 300, F = 80, V = 32;
const cpuTime = args.includes('--cpu-time');
if (args.includes('--threads')) ms.setNumThreads(Number(opt('--threads')));
/** Seconds now: wall clock, or this process's CPU time with --cpu-time. */
function now() {
  if (!cpuTime) return Number(process.hrtime.bigint()) / 1e9;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

ms.manualSeed(1);
const front = new ms.nn.Conv2dSubsampling(F, C, { seed: 1 });
const encoder = buildEncoder({ type, layers, dModel: C, ffnDim: 4 * C }, { seed: 2 });
const head = new ms.nn.Linear(C, V, { seed: 3 });
const params = [...front.parameters(), ...encoder.parameters(), ...head.parameters()];
const opt_ = new ms.optim.AdamW(params, { lr: 1e-3 });
for (const m of [front, encoder, head]) m.train();

const lens = Int32Array.from({ length: B }, (_, b) => Math.floor(T * (0.7 + 0.3 * b / (B - 1))));
const x = ms.randn([B, T, F], { seed: 4 });
const tlen = Int32Array.from({ length: B }, (_, b) => 20 + ((b * 7) % 21));
const S = Math.max(...tlen);
const tg = new Int32Array(B * S);
for (let i = 0; i < tg.length; ++i) tg[i] = 1 + ((i * 13) % (V - 1));
const targets = ms.tensor(tg, [B, S], { dtype: 'int32' });

function step() {
  ms.tidy(() => {
    const f = front.forward(x, lens);
    const h = encoder.forward(f.out, f.lengths).out;
    const logp = ms.ops.logSoftmax(head.forward(h), -1);
    const loss = ms.ops.ctcLoss(logp, targets, f.lengths, tlen);
    loss.backward();
  });
  opt_.step();
  opt_.zeroGrad();
}
function frontOnly() {
  ms.tidy(() => front.forward(x, lens).out.sum().backward());
  for (const p of front.parameters()) { p.grad?.dispose(); p.grad = null; }
}
function time(fn, n) {
  const ts = [];
  for (let i = 0; i < n; ++i) {
    const t0 = now();
    fn();
    ts.push(now() - t0);
  }
  return median(ts);
}

step();
step();
const mem0 = ms.memory().bytes.cpu;
const stepS = time(step, steps);
const mem1 = ms.memory().bytes.cpu;
const frontS = time(frontOnly, Math.max(3, Math.ceil(steps / 2)));
const nParams = params.reduce((s, p) => s + p.size, 0);
const rows = [
  { part: `whole step (${type} x${layers}, d ${C}, ${nParams} params)`, median: `${(stepS * 1e3).toFixed(1)} ms`, share: '100 %' },
  { part: 'front end fwd+bwd (Conv2dSubsampling alone)', median: `${(frontS * 1e3).toFixed(1)} ms`, share: `${((100 * frontS) / stepS).toFixed(0)} %` },
];
printTable(`CTC training step on cpu — ${machine(ms).cpu} (${machine(ms).cores} cores), ${ms.buildInfo().threads} threads, ${cpuTime ? 'cpu' : 'wall'} clock, batch ${B} x ${T} x ${F}`,
  ['part', 'median', 'share'], rows);
if (mem1 !== mem0) console.log(`note: memory().bytes.cpu moved ${mem0} -> ${mem1} over the timed steps`);

const entry = { date: new Date().toISOString(), label: opt('--label', ''), threads: ms.buildInfo().threads, clock: cpuTime ? 'cpu' : 'wall',
  encoder: type, layers, dModel: C, batch: [B, T, F],
  params: nParams, stepSeconds: stepS, frontEndSeconds: frontS, steps };
if (args.includes('--save')) writeJson('ctc_step-cpu.json', { machine: machine(ms), ...entry });
