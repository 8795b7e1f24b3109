#!/usr/bin/env node
// nn_layers.js — forward+backward of one encoder layer of each kind at (B, L, C) = (8, 1000, 768)
// in bf16 autocast on CUDA (median of 10 after 3 warm-ups, synchronised wall clock), against the
// PyTorch modules timed by bench/torch_nn_layers.py in the same call (--ref).
//   node bench/nn_layers.js [--ref torch.json] [--only transformer,mamba] [--iters 10] [--save]
'use strict';
const ms = require('..');
const { machine, printTable, writeJson, loadReference, median } = require('./common');

const args = process.argv.slice(2);
const arg = (k) => (args.includes(k) ? args[args.indexOf(k) + 1] : null);
const ref = loadReference(arg('--ref'));
// --only transformer,conformer: those layers; --iters N: timed steps (e.g. under a profiler)
const only = arg('--only') ? arg('--only').split(',') : null;
const ITERS = Number(arg('--iters') || 10);
if (!ms.cudaAvailable()) {
  console.log('nn_layers: needs a GPU (bf16 autocast on CUDA)');
  process.exit(0);
}
const [B, L, C] = [8, 1000, 768];
const { nn, ops } = ms;
const build = {
  transformer: () => new nn.TransformerEncoderLayer({ dModel: C, nHead: 12, dimFeedforward: 4 * C, dropout: 0.1, device: 'cuda' }),
  conformer: () => new nn.ConformerLayer({ dModel: C, nHead: 12, ffnDim: 4 * C, depthwiseKernel: 31, dropout: 0.1, device: 'cuda' }),
  mamba: () => new nn.MambaLayer({ dModel: C, device: 'cuda' }),
  conbimamba: () => new nn.ConBiMambaLayer({ dModel: C, ffnDim: 4 * C, depthwiseKernel: 31, dropout: 0.1, device: 'cuda' }),
};
const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), shape: [B, L, C], layers: {} };
for (const [name, make] of Object.entries(build)) {
  if (only && !only.includes(name)) continue;
  let t;
  try {
    const layer = make();
    const x = ms.randn([B, L, C], { device: 'cuda', seed: 1 });
    const step = () => ms.tidy(() => {
      const y = ms.autocast('bfloat16', () => layer.forward(x));
      ops.sum(y.to('float32')).backward();
      layer.zeroGrad();
    });
    for (let i = 0; i < 3; ++i) step();
    ms.synchronize();
    const ts = [];
    for (let i = 0; i < ITERS; ++i) {
      const t0 = process.hrtime.bigint();
      step();
      ms.synchronize();
      ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t = median(ts);
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    t = NaN;
  }
  const r = ref && ref.layers && ref.layers[name];
  results.layers[name] = { ms: t, torchMs: r };
  rows.push({ layer: name, shape: `(${B}, ${L}, ${C})`, 'fwd+bwd ms': t.toFixed(2), torch: r ? r.toFixed(2) : '-', ratio: r ? `${(r / t).toFixed(2)}x torch` : '-' });
}
printTable(`encoder layers, bf16 autocast — ${results.machine.gpus[0]}`, ['layer', 'shape', 'fwd+bwd ms', 'torch', 'ratio'], rows);
writeJson(`nn_layers-${results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-')}.json`, results);
