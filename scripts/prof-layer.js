#!/usr/bin/env node
// prof-layer.js — one encoder layer's forward + backward at (8, 1000, 768) in bf16 autocast, run
// `iters` times after warm-up, for a profiler on the device (nsys: kernel and API time per name).
// A diagnostic, not a benchmark.   nsys profile -o out node scripts/prof-layer.js transformer 20
'use strict';
const ms = require('..');
const { nn, ops } = ms;
const [name = 'transformer', iters = '20'] = process.argv.slice(2);
const [B, L, C] = [8, 1000, 768];
const make = {
  transformer: () => new nn.TransformerEncoderLayer({ dModel: C, nHead: 12, dimFeedforward: 4 * C, dropout: 0.1, device: 'cuda' }),
  conformer: () => new nn.ConformerLayer({ dModel: C, nHead: 12, ffnDim: 4 * C, depthwiseKernel: 31, dropout: 0.1, device: 'cuda' }),
  mamba: () => new nn.MambaLayer({ dModel: C, device: 'cuda' }),
  conbimamba: () => new nn.ConBiMambaLayer({ dModel: C, ffnDim: 4 * C, depthwiseKernel: 31, dropout: 0.1, device: 'cuda' }),
}[name];
if (!make) throw new Error(`prof-layer: unknown layer '${name}'`);
const layer = make();
const x = ms.randn([B, L, C], { device: 'cuda', seed: 1 });
const step = () => ms.tidy(() => {
  const y = ms.autocast('bfloat16', () => layer.forward(x));
  ops.sum(y.to('float32')).backward();
  layer.zeroGrad();
});
for (let i = 0; i < 3; ++i) step();
ms.synchronize();
const t0 = process.hrtime.bigint();
for (let i = 0; i < Number(iters); ++i) step();
ms.synchronize();
console.log(`${name}: ${(Number(process.hrtime.bigint() - t0) / 1e6 / Number(iters)).toFixed(2)} ms/iter (under the profiler)`);
