#!/usr/bin/env node
// conv.js — convolutions and norms of the paper's models, forward and forward+backward, on the
// default device (MAMBA_SPEECH_DEVICE picks): HuBERT's CNN front end (k 10/3/2, strides 5/2),
// Conformer's depthwise conv (k = 31, groups = C), Conv2dSubsampling, and the norms around them.
// Convs report TFLOP/s (2 * N * Cout * P * Kc per forward, x3 with the backward), norms GB/s
// (bytes read + written once: the floor for a fused kernel). `--ref file.json` adds a reference
// time per row name (e.g. torch on the same device) and the ratio. Needs `npm run build` (dist/).
'use strict';
const ms = require('..');
const { machine, printTable, writeJson, loadReference, median } = require('./common');

const args = process.argv.slice(2);
const ref = loadReference(args.includes('--ref') ? args[args.indexOf('--ref') + 1] : null) || {};
const device = ms.getDefaultDevice();
const dtype = args.includes('--bf16') && device === 'cuda' ? 'bfloat16' : 'float32';
const sync = () => ms.synchronize();

function timeIt(fn, reps = 7) {
  ms.tidy(fn);
  sync();
  let t0 = process.hrtime.bigint();
  ms.tidy(fn);
  sync();
  const once = Number(process.hrtime.bigint() - t0) / 1e9;
  const per = Math.max(1, Math.min(50, Math.round(0.1 / Math.max(once, 1e-6))));
  const ts = [];
  for (let r = 0; r < reps; ++r) {
    t0 = process.hrtime.bigint();
    for (let i = 0; i < per; ++i) ms.tidy(fn);
    sync();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9 / per);
  }
  return median(ts);
}

const rnd = (shape, rg = false) => ms.randn(shape, { device, dtype, requiresGrad: rg });
const B = Number(process.env.MS_BENCH_BATCH || 8);
const convs = [
  // name, op, x shape, w shape, options
  ['hubert conv0 k10 s5', 'conv1d', [B, 1, 16000], [512, 1, 10], { stride: 5 }],
  ['hubert conv1 k3 s2', 'conv1d', [B, 512, 3199], [512, 512, 3], { stride: 2 }],
  ['hubert conv6 k2 s2', 'conv1d', [B, 512, 99], [512, 512, 2], { stride: 2 }],
  ['conformer dw k31', 'conv1d', [B, 256, 500], [256, 1, 31], { padding: 'same', groups: 256 }],
  ['subsampling conv2d k3 s2', 'conv2d', [B, 144, 249, 39], [144, 144, 3, 3], { stride: 2 }],
  ['convT k4 s2', 'convTranspose1d', [B, 256, 500], [256, 256, 4], { stride: 2, padding: 1 }],
];
const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), device, dtype, rows: {} };
const fmt = (s) => (s * 1e3).toFixed(3);

for (const [name, op, xs, ws, opts] of convs) {
  const x = rnd(xs, true);
  const w = rnd(ws, true);
  const y0 = ms.noGrad(() => ms.ops[op](x, w, null, opts));
  const P = y0.shape.slice(2).reduce((a, b) => a * b, 1);
  const kc = ws.slice(1).reduce((a, b) => a * b, 1);
  // FLOPs of the GEMM view: 2 * N * Cout * P * Kc (convT: the conv it transposes).
  const flops = op === 'convTranspose1d' ? 2 * xs[0] * xs[1] * xs[2] * ws[1] * ws[2] : 2 * xs[0] * ws[0] * P * kc;
  y0.dispose();
  const fwd = timeIt(() => ms.noGrad(() => ms.ops[op](x, w, null, opts)));
  const both = timeIt(() => ms.ops[op](x, w, null, opts).sum().backward());
  const r = ref[name];
  rows.push({ shape: `${name} ${JSON.stringify(xs)}`, 'fwd ms': fmt(fwd), 'fwd TFLOP/s': (flops / fwd / 1e12).toFixed(2),
    'fwd+bwd ms': fmt(both), 'fwd+bwd TFLOP/s': (3 * flops / both / 1e12).toFixed(2),
    'ref ms': r ? fmt(r) : '', ratio: r ? (r / both).toFixed(2) : '' });
  results.rows[name] = { fwd, both, flops };
  x.grad?.dispose();
  w.grad?.dispose();
}

const norms = [
  ['layerNorm (8*500, 768)', (x, w, b) => ms.ops.layerNorm(x, [768], w, b), [B * 500, 768], 768],
  ['groupNorm (8, 512, 3199) G=512', (x, w, b) => ms.ops.groupNorm(x, 512, w, b), [B, 512, 3199], 512],
  ['batchNorm (8, 256, 500) train', (x, w, b) => ms.ops.batchNorm(x, null, null, w, b, { training: true }), [B, 256, 500], 256],
  ['rmsNorm (8*500, 768)', (x, w) => ms.ops.rmsNorm(x, [768], w), [B * 500, 768], 768],
];
for (const [name, fn, xs, C] of norms) {
  const x = rnd(xs, true);
  const w = ms.randn([C], { device, requiresGrad: true });
  const b = ms.randn([C], { device, requiresGrad: true });
  const bytes = x.size * (dtype === 'bfloat16' ? 2 : 4);
  const fwd = timeIt(() => ms.noGrad(() => fn(x, w, b)));
  const both = timeIt(() => fn(x, w, b).sum().backward());
  const r = ref[name];
  // forward moves 2 * bytes (read x, write y); backward ~3 more (read x, dy; write dx).
  rows.push({ shape: name, 'fwd ms': fmt(fwd), 'fwd GB/s': (2 * bytes / fwd / 1e9).toFixed(1), 'fwd+bwd ms': fmt(both),
    'fwd+bwd GB/s': (5 * bytes / both / 1e9).toFixed(1), 'ref ms': r ? fmt(r) : '', ratio: r ? (r / both).toFixed(2) : '' });
  results.rows[name] = { fwd, both, bytes };
}

printTable(`conv / norm on ${device} (${dtype}), batch ${B}`,
  ['shape', 'fwd ms', 'fwd TFLOP/s', 'fwd GB/s', 'fwd+bwd ms', 'fwd+bwd TFLOP/s', 'fwd+bwd GB/s', 'ref ms', 'ratio'], rows);
writeJson(`conv-${device}-${dtype}.json`, results);
