#!/usr/bin/env node
// probe-trainer.js — where a trainer step's extra time goes on the device: the bench's bare step
// (forward, loss.item(), backward, Adam) against variants that add one piece each of what
// train.fit does (the gradient norm, the loss read after backward instead of after forward).
// Median per-step ms of 5 interleaved rounds. A diagnostic, not a benchmark.
'use strict';
const { median } = require('../bench/common');
const ms = require('..');
const { nn, ops, optim } = ms;
const device = process.argv[2] || ms.getDefaultDevice();
const B = 32, IN = 64, HID = 256;
const mk = () => {
  const a = new nn.Linear(IN, HID, { seed: 1, device }), b = new nn.Linear(HID, HID, { seed: 2, device }), c = new nn.Linear(HID, 1, { seed: 3, device });
  const params = [...a.parameters(), ...b.parameters(), ...c.parameters()];
  return { f: (x) => c.forward(ops.gelu(b.forward(ops.gelu(a.forward(x))))), params, opt: new optim.Adam(params, { lr: 1e-4 }) };
};
const batches = Array.from({ length: 16 }, (_, i) => ({ x: ms.keep(ms.randn([B, IN], { seed: 100 + i, device })), y: ms.keep(ms.randn([B, 1], { seed: 200 + i, device })) }));
const variants = {
  bare: (m, bt) => { ms.tidy(() => { const l = ops.mseLoss(m.f(bt.x), bt.y); l.item(); l.backward(); }); m.opt.step(); m.opt.zeroGrad(); },
  'read after backward': (m, bt) => { ms.tidy(() => { const l = ops.mseLoss(m.f(bt.x), bt.y); l.backward(); l.item(); }); m.opt.step(); m.opt.zeroGrad(); },
  'no read': (m, bt) => { ms.tidy(() => { const l = ops.mseLoss(m.f(bt.x), bt.y); l.backward(); }); m.opt.step(); m.opt.zeroGrad(); },
  '+ norm (then read)': (m, bt) => { ms.tidy(() => { const l = ops.mseLoss(m.f(bt.x), bt.y); l.backward(); optim.clipGradNorm(m.params, Infinity); l.item(); }); m.opt.step(); m.opt.zeroGrad(); },
  '+ norm & read together': (m, bt) => { ms.tidy(() => { const l = ops.mseLoss(m.f(bt.x), bt.y); l.backward(); optim.clipGradNormAndRead(m.params, Infinity, [l]); }); m.opt.step(); m.opt.zeroGrad(); },
  'bf16: bare': (m, bt) => { ms.tidy(() => { const l = ms.autocast('bfloat16', () => ops.mseLoss(m.f(bt.x), bt.y)); l.item(); l.backward(); }); m.opt.step(); m.opt.zeroGrad(); },
  'bf16: norm & read together': (m, bt) => { ms.tidy(() => { const l = ms.autocast('bfloat16', () => ops.mseLoss(m.f(bt.x), bt.y)); l.backward(); optim.clipGradNormAndRead(m.params, Infinity, [l]); }); m.opt.step(); m.opt.zeroGrad(); },
  // what Trainer.step does, inline: tidy { autocast(loss); backward; detach }, then norm & read, step, zeroGrad
  'bf16: trainer-like inline': (m, bt) => {
    const l = ms.tidy(() => { const x = ms.autocast('bfloat16', () => ops.mseLoss(m.f(bt.x), bt.y)); x.backward(); return x.detach(); });
    optim.clipGradNormAndRead(m.params, Infinity, [l]);
    l.dispose();
    m.opt.step(); m.opt.zeroGrad();
  },
  'bf16: no mid-step read': (m, bt) => { ms.tidy(() => { const l = ms.autocast('bfloat16', () => ops.mseLoss(m.f(bt.x), bt.y)); l.backward(); }); m.opt.step(); m.opt.zeroGrad(); },
  '+ norm, no read': (m, bt) => { ms.tidy(() => { const l = ops.mseLoss(m.f(bt.x), bt.y); l.backward(); optim.clipGradNorm(m.params, Infinity); }); m.opt.step(); m.opt.zeroGrad(); },
};
const models = Object.fromEntries(Object.keys(variants).map((k) => [k, mk()]));
const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < 6; ++r) {
  for (const [k, v] of Object.entries(variants)) {
    for (let s = 0; s < 300; ++s) {
      const t = process.hrtime.bigint();
      v(models[k], batches[s % 16]);
      ms.synchronize();
      if (r) times[k].push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
}
const base = median(times.bare);
for (const k of Object.keys(variants)) console.log(`${k.padEnd(24)} ${median(times[k]).toFixed(4)} ms  (${((median(times[k]) / base - 1) * 100).toFixed(1)} %)`);
