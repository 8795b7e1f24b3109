#!/usr/bin/env node
// probe-norm.js — the pieces of clipGradNormAndRead on an idle device, each in a loop of 2000
// calls (median µs per call): the whole call, the native norm alone, a one-element read, a bare
// synchronize, a tiny kernel + synchronize, the per-grad contiguous checks. A diagnostic for the
// trainer overhead (#15), not a benchmark.   node scripts/probe-norm.js [cuda|cpu]
'use strict';
const { median } = require('../bench/common');
const ms = require('..');
const { nn, ops, optim } = ms;
const { native } = require('../dist/native');
const { recycled } = require('../dist/tensor/tensor');
const device = process.argv[2] || ms.getDefaultDevice();
const a = new nn.Linear(64, 256, { seed: 1, device }), b = new nn.Linear(256, 256, { seed: 2, device }), c = new nn.Linear(256, 1, { seed: 3, device });
const params = [...a.parameters(), ...b.parameters(), ...c.parameters()];
const x = ms.randn([32, 64], { seed: 5, device });
ms.tidy(() => ops.mseLoss(c.forward(ops.gelu(b.forward(ops.gelu(a.forward(x))))), ms.zeros([32, 1], { device })).backward());
const loss = ms.keep(ms.randn([1], { seed: 6, device }));
optim.clipGradNorm(params, Infinity); // grads made dense once
const hs = params.map((p) => p.grad.handle('probe'));
const small = ms.keep(ms.randn([16], { seed: 7, device }));
const probes = {
  'clipGradNormAndRead (norm + 1 scalar)': () => optim.clipGradNormAndRead(params, Infinity, [loss]),
  'clipGradNorm (norm only)': () => optim.clipGradNorm(params, Infinity),
  'native.optimNormParts + scalar': () => native.optimNormParts(hs, 2, [loss.handle('probe')]),
  'native.optimNormParts': () => native.optimNormParts(hs, 2),
  'native.contiguous x6': () => { for (const h of hs) native.contiguous(h, recycled()); },
  'loss.item()': () => loss.item(),
  'synchronize()': () => ms.synchronize(),
  'add (16) + dispose + synchronize': () => { ops.add(small, small).dispose(); ms.synchronize(); },
  'add (16) + dispose': () => { ops.add(small, small).dispose(); },
  'optim.step (Adam, 6 params)': (() => { const o = new optim.Adam(params, { lr: 0 }); return () => o.step(); })(),
};
const times = Object.fromEntries(Object.keys(probes).map((k) => [k, []]));
for (let r = 0; r < 4; ++r) {
  for (const [k, f] of Object.entries(probes)) {
    ms.synchronize();
    for (let i = 0; i < 500; ++i) {
      const t = process.hrtime.bigint();
      f();
      if (r) times[k].push(Number(process.hrtime.bigint() - t) / 1e3);
    }
  }
}
console.log(`device ${device}`);
for (const k of Object.keys(probes)) console.log(`${k.padEnd(40)} ${median(times[k]).toFixed(1).padStart(7)} µs`);
