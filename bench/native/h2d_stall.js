#!/usr/bin/env node
// h2d_stall.js — does a small host->device upload wait for the GPU's queued work? Queues K
// large adds (each ~0.1 ms on an H100/H200), then times the host side of: (a) nothing, (b) one
// 15 KB tensor() upload, (c) one optimizer step. If (b) or (c) take about as long as the queued
// work, the upload synchronised the stream (a copy from pageable memory does).
// Caveat (H200, 2026-11-28): the sync after (a) read 0.01 ms, i.e. the queued adds had already
// drained before the timed call, with and without pinned staging; as written the probe shows
// no stall either way. Make the queued work outlast the host side (longer kernels, no
// allocation in the loop) before reading anything into it.
'use strict';
const { loadLibrary } = require('../common');
const ms = loadLibrary();
if (!ms.cudaAvailable()) { console.log('h2d_stall: no GPU'); process.exit(0); }
const big = ms.randn([1 << 24], { device: 'cuda', seed: 1 });
const idx = new Int32Array(3840);
const p = ms.randn([1000], { device: 'cuda', seed: 2 }).requiresGrad_(true);
const opt = new ms.optim.Adam([p], { lr: 1e-3 });
p.grad = ms.randn([1000], { device: 'cuda', seed: 3 });
const K = 50;
function queued(after) {
  ms.synchronize();
  const ts = [];
  for (let i = 0; i < K; ++i) ts.push(ms.add(big, 1));
  const t0 = process.hrtime.bigint();
  after();
  const host = Number(process.hrtime.bigint() - t0) / 1e6;
  const t1 = process.hrtime.bigint();
  ms.synchronize();
  const rest = Number(process.hrtime.bigint() - t1) / 1e6;
  ts.forEach((t) => t.dispose());
  return { host, rest };
}
for (let rep = 0; rep < 3; ++rep) {
  const a = queued(() => {});
  const b = queued(() => ms.tensor(idx, [3840], { device: 'cuda' }).dispose());
  const c = queued(() => opt.step());
  console.log(`rep ${rep}: nothing ${a.host.toFixed(3)} ms (then sync ${a.rest.toFixed(2)} ms) | 15 KB upload ${b.host.toFixed(3)} ms (then ${b.rest.toFixed(2)}) | Adam step ${c.host.toFixed(3)} ms (then ${c.rest.toFixed(2)})`);
}
