#!/usr/bin/env node
// foundation.js — per-call overhead of a 1-element add through TS -> N-API -> kernel, and
// host<->device / device-to-device copy bandwidth.
//
//   node bench/foundation.js [--ref torch.json] [--out name.json]
//
// Overhead: median over 100 batches of 1000 calls (10^5 calls) of `add(a, b)` plus dispose()
// of the result; on CUDA the batch is only enqueued (synchronised after the timer stops).
// Copies: CUDA events, median of 20, 256 MiB; device-to-device counts read + write (2x bytes),
// the convention the kernel issues' bandwidth floors use.
'use strict';
const ms = require('..');
const { timePerCall, machine, printTable, writeJson, loadReference, median } = require('./common');

const args = process.argv.slice(2);
const refFile = args.includes('--ref') ? args[args.indexOf('--ref') + 1] : null;
const ref = loadReference(refFile);
const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), overhead: {}, copy: {} };

function overhead(device) {
  const a = ms.randn([1], { device, seed: 1 });
  const b = ms.randn([1], { device, seed: 2 });
  const call = () => ms.add(a, b).dispose();
  for (let i = 0; i < 20000; ++i) call(); // warm-up: JIT, allocator cache
  const sync = device === 'cuda' ? () => ms.synchronize() : undefined;
  const s = timePerCall(call, 1000, 100, sync);
  const tidyCall = () => ms.tidy(() => ms.add(a, b));
  for (let i = 0; i < 5000; ++i) tidyCall().dispose();
  const st = timePerCall(() => tidyCall().dispose(), 1000, 50, sync);
  a.dispose();
  b.dispose();
  return { addDispose: s, tidyAddDispose: st };
}

const goals = { cpu: 3e-6, cuda: 8e-6 };
for (const device of ['cpu', 'cuda']) {
  if (device === 'cuda' && !ms.cudaAvailable()) continue;
  const o = overhead(device);
  results.overhead[device] = o;
  const r = ref && ref.overhead && ref.overhead[device];
  rows.push({
    case: `add 1 elem + dispose (${device})`,
    shape: '(1)',
    median: `${(o.addDispose * 1e6).toFixed(2)} us`,
    achieved: `${(1 / o.addDispose / 1e3).toFixed(0)} kcalls/s`,
    'floor/goal': `goal ${goals[device] * 1e6} us`,
    reference: r ? `torch ${(r * 1e6).toFixed(2)} us` : '-',
    ratio: r ? `${(r / o.addDispose).toFixed(2)}x torch` : `${(goals[device] / o.addDispose).toFixed(2)}x goal`,
  });
  rows.push({
    case: `tidy(add) + dispose (${device})`,
    shape: '(1)',
    median: `${(o.tidyAddDispose * 1e6).toFixed(2)} us`,
    achieved: `${(1 / o.tidyAddDispose / 1e3).toFixed(0)} kcalls/s`,
    'floor/goal': `goal ${goals[device] * 1e6} us`,
    reference: '-',
    ratio: `${(goals[device] / o.tidyAddDispose).toFixed(2)}x goal`,
  });
}

if (ms.cudaAvailable()) {
  const { native } = require('../dist/native');
  const bytes = 256 * 1024 * 1024;
  const kinds = [
    ['h2d pageable', 0, 1],
    ['h2d pinned', 1, 1],
    ['d2h pinned', 2, 1],
    ['d2d (read+write)', 3, 2],
  ];
  for (const [name, kind, factor] of kinds) {
    const s = native.timeCopy(kind, bytes, 20);
    const gbs = (factor * bytes) / s / 1e9;
    results.copy[name] = { seconds: s, GBps: gbs, bytes };
    const r = ref && ref.copy && ref.copy[name];
    rows.push({
      case: `copy ${name}`,
      shape: '256 MiB',
      median: `${(s * 1e3).toFixed(3)} ms`,
      achieved: `${gbs.toFixed(1)} GB/s`,
      'floor/goal': '-',
      reference: r ? `torch ${r.toFixed(1)} GB/s` : '-',
      ratio: r ? `${(gbs / r).toFixed(2)}x torch` : '-',
    });
  }
}

// The library's own path, wall clock: a Float32Array into a tensor on the device, and the tensor
// back through dataSync() into a fresh Float32Array (256 MiB; median of 5 after one). The
// reference is torch.tensor(numpy array, device=...) and .cpu().numpy() (.numpy().copy() on CPU).
for (const device of ['cpu', 'cuda']) {
  if (device === 'cuda' && !ms.cudaAvailable()) continue;
  const bytes = 256 * 1024 * 1024;
  const n = bytes / 4;
  const host = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) host[i] = i;
  const up = [];
  const down = [];
  for (let i = 0; i < 6; ++i) {
    let t0 = process.hrtime.bigint();
    const t = ms.tensor(host, [n], { device });
    ms.synchronize();
    up.push(Number(process.hrtime.bigint() - t0) / 1e9);
    t0 = process.hrtime.bigint();
    t.dataSync();
    down.push(Number(process.hrtime.bigint() - t0) / 1e9);
    t.dispose();
  }
  for (const [name, arr] of [[`tensor(Float32Array) -> ${device}`, up], [`dataSync() ${device} -> Float32Array`, down]]) {
    const s = median(arr.slice(1));
    const gbs = bytes / s / 1e9;
    results.copy[name] = { seconds: s, GBps: gbs, bytes };
    const r = ref && ref.copy && ref.copy[name];
    rows.push({
      case: name, shape: '256 MiB', median: `${(s * 1e3).toFixed(1)} ms`, achieved: `${gbs.toFixed(1)} GB/s`,
      'floor/goal': '-', reference: r ? `torch ${r.toFixed(1)} GB/s` : '-', ratio: r ? `${(gbs / r).toFixed(2)}x torch` : '-',
    });
  }
}

// Large add: memory-bound, 12 bytes per float32 element; compared with the copy bandwidth floor.
for (const device of ['cpu', 'cuda']) {
  if (device === 'cuda' && !ms.cudaAvailable()) continue;
  const n = device === 'cuda' ? 1 << 26 : 1 << 24;
  const a = ms.randn([n], { device, seed: 1 });
  const b = ms.randn([n], { device, seed: 2 });
  const times = [];
  for (let i = 0; i < 12; ++i) {
    ms.synchronize();
    const t0 = process.hrtime.bigint();
    const c = ms.add(a, b);
    ms.synchronize();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    c.dispose();
  }
  const s = median(times.slice(2));
  const gbs = (12 * n) / s / 1e9;
  const floor = device === 'cuda' && results.copy['d2d (read+write)'] ? results.copy['d2d (read+write)'].GBps : null;
  results.overhead[`add_${device}_large`] = { n, seconds: s, GBps: gbs };
  rows.push({
    case: `add float32 (${device})`, shape: `(${n})`, median: `${(s * 1e3).toFixed(3)} ms`,
    achieved: `${gbs.toFixed(1)} GB/s`, 'floor/goal': floor ? `d2d ${floor.toFixed(0)} GB/s` : '-',
    reference: '-', ratio: floor ? `${(gbs / floor).toFixed(2)} of d2d` : '-',
  });
  a.dispose();
  b.dispose();
}

if (ref) results.reference = ref;
printTable(`mamba-speech foundation benchmark — ${results.machine.gpus[0] || results.machine.cpu} (${results.machine.cores} cores)`,
  ['case', 'shape', 'median', 'achieved', 'floor/goal', 'reference', 'ratio'], rows);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1]
  : `foundation-${ms.cudaAvailable() ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu'}.json`;
writeJson(out, results);
