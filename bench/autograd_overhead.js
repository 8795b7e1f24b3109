#!/usr/bin/env node
// autograd_overhead.js — per-op overhead of a small elementwise chain with autograd on (forward
// + backward), and the cost of one fused optimizer step.
//
//   node bench/autograd_overhead.js [--ref ref.json] [--out name.json] [--threads n] [--cpu-time] [--no-save]
//
// Chain (7 ops forward, 7 node backwards):
//   loss = sum(square(sigmoid(sub(tanh(mul(add(x, 1), 0.5)), x))))     x (n), requiresGrad
// timed three ways per device and size: forward with grad off (noGrad), forward with the tape
// recording, and forward + backward; each iteration runs in tidy and frees x.grad, as a
// training loop would. "us/op" divides by 7 (forward) or 14 (forward + backward: each backward
// node costs about one op). At n = 1 this is pure overhead (TS -> N-API -> kernel launch).
// Median over 30 batches of 200 iterations; CUDA batches are synchronised after the timer
// stops for each batch (launch overhead, the GPU keeps up at these sizes).
//
// --cpu-time times process CPU time instead of the wall clock (a loaded shared machine disturbs it
// far less; use with --threads 1, as waiting pool threads spin).
//
// Optimizer rows: Adam.step() over many small params (launch + table overhead: 1 native call
// for all of them) and over one large param (bandwidth: 28 bytes per float32 element: read p,
// g, m, v = 16, write p, m, v = 12).
'use strict';
const ms = require('..');
const { timePerCall, machine, printTable, writeJson, loadReference } = require('./common');

const args = process.argv.slice(2);
const ref = loadReference(args.includes('--ref') ? args[args.indexOf('--ref') + 1] : null);
const cpuTime = args.includes('--cpu-time');
if (args.includes('--threads')) ms.setNumThreads(Number(args[args.indexOf('--threads') + 1]));
const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), clock: cpuTime ? 'cpu' : 'wall', threads: ms.buildInfo().threads,
  chain: {}, optimizer: {} };
const { ops, optim } = ms;
const FWD_OPS = 7;

function chain(x) {
  return ops.sum(ops.square(ops.sigmoid(ops.sub(ops.tanh(ops.mul(ops.add(x, 1), 0.5)), x))));
}

function timeChain(device, n) {
  const x = ms.randn([n], { device, seed: 1 }).requiresGrad_();
  const sync = device === 'cuda' ? () => ms.synchronize() : undefined;
  const noGradFwd = () => ms.tidy(() => { ms.noGrad(() => chain(x)); });
  const fwd = () => ms.tidy(() => { chain(x); });
  const fwdBwd = () => {
    ms.tidy(() => chain(x).backward());
    x.grad.dispose();
    x.grad = null;
  };
  const out = {};
  for (const [name, fn] of [['noGradForward', noGradFwd], ['forward', fwd], ['forwardBackward', fwdBwd]]) {
    for (let i = 0; i < 2000; ++i) fn(); // warm-up: JIT, handle pool, allocator cache
    if (sync) sync();
    out[name] = timePerCall(fn, 200, 30, sync, cpuTime);
  }
  x.dispose();
  return out;
}

const goals = { cpu: 3e-6, cuda: 8e-6 };  // us per op, forward + backward, at n = 1 (issue 17's host-overhead targets)
for (const device of ['cpu', 'cuda']) {
  if (device === 'cuda' && !ms.cudaAvailable()) continue;
  for (const n of [1, 4096]) {
    const t = timeChain(device, n);
    results.chain[`${device}_${n}`] = { n, ...t, usPerOpForward: (t.forward / FWD_OPS) * 1e6, usPerOpForwardBackward: (t.forwardBackward / (2 * FWD_OPS)) * 1e6 };
    const r = ref && ref.chain && ref.chain[`${device}_${n}`];
    const per = (s, k) => `${((s / k) * 1e6).toFixed(2)} us/op`;
    rows.push({ case: `chain fwd, noGrad (${device})`, shape: `(${n})`, median: `${(t.noGradForward * 1e6).toFixed(1)} us`, 'per op': per(t.noGradForward, FWD_OPS), goal: '-', reference: '-', ratio: '-' });
    rows.push({ case: `chain fwd, tape on (${device})`, shape: `(${n})`, median: `${(t.forward * 1e6).toFixed(1)} us`, 'per op': per(t.forward, FWD_OPS), goal: '-', reference: '-',
      ratio: `${(t.forward / t.noGradForward).toFixed(2)}x noGrad` });
    rows.push({
      case: `chain fwd+bwd (${device})`, shape: `(${n})`, median: `${(t.forwardBackward * 1e6).toFixed(1)} us`, 'per op': per(t.forwardBackward, 2 * FWD_OPS),
      goal: n === 1 ? `${goals[device] * 1e6} us/op` : '-',
      reference: r ? `torch ${((r.forwardBackward / (2 * FWD_OPS)) * 1e6).toFixed(2)} us/op` : '-',
      ratio: r ? `${(r.forwardBackward / t.forwardBackward).toFixed(2)}x torch` : n === 1 ? `${((goals[device] * 2 * FWD_OPS) / t.forwardBackward).toFixed(2)}x goal` : '-',
    });
  }
}

function timeAdam(device, shapes) {
  const params = shapes.map((s, i) => ms.randn(s, { device, seed: 10 + i }).requiresGrad_());
  for (const p of params) p.grad = ms.randn(p.shape, { device, seed: 99 });
  const opt = new optim.Adam(params, { lr: 1e-3 });
  const sync = device === 'cuda' ? () => ms.synchronize() : undefined;
  for (let i = 0; i < 20; ++i) opt.step();
  if (sync) sync();
  const iters = shapes.length > 1 ? 50 : 5;
  // Synchronise inside the timed call for the large case: its time is GPU time, not launch.
  const s = timePerCall(() => { opt.step(); if (sync && shapes.length === 1) sync(); }, iters, 15, sync, cpuTime);
  opt.disposeState();
  for (const p of params) { p.grad.dispose(); p.dispose(); }
  return s;
}

for (const device of ['cpu', 'cuda']) {
  if (device === 'cuda' && !ms.cudaAvailable()) continue;
  const many = Array.from({ length: 200 }, (_, i) => (i % 2 ? [256] : [64, 64]));
  const sMany = timeAdam(device, many);
  const nLarge = device === 'cuda' ? 1 << 26 : 1 << 22;
  const sLarge = timeAdam(device, [[nLarge]]);
  const gbs = (28 * nLarge) / sLarge / 1e9;
  results.optimizer[device] = { manySmall: { params: many.length, seconds: sMany }, large: { n: nLarge, seconds: sLarge, GBps: gbs } };
  rows.push({ case: `Adam.step 200 params (${device})`, shape: '100x(64,64)+100x(256)', median: `${(sMany * 1e6).toFixed(1)} us`, 'per op': `${((sMany / many.length) * 1e6).toFixed(2)} us/param`, goal: '1 native call', reference: '-', ratio: '-' });
  rows.push({ case: `Adam.step 1 param (${device})`, shape: `(${nLarge})`, median: `${(sLarge * 1e3).toFixed(3)} ms`, 'per op': `${gbs.toFixed(1)} GB/s`, goal: '28 B/elem', reference: '-', ratio: '-' });
}

if (ref) results.reference = ref;
printTable(`mamba-speech autograd overhead — ${results.machine.gpus[0] || results.machine.cpu} (${results.machine.cores} cores)`,
  ['case', 'shape', 'median', 'per op', 'goal', 'reference', 'ratio'], rows);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1]
  : `autograd_overhead-${ms.cudaAvailable() ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu'}.json`;
if (!args.includes('--no-save')) writeJson(out, results);
