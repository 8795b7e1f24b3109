#!/usr/bin/env node
// enhancement.js — one MaskEnhancer training step (forward + backward + AdamW) per encoder type:
// STFT -> |X|^0.3 -> encoder -> learnable-sigmoid mask -> iSTFT, with the default losses
// (compressed magnitude 0.9, complex 0.1, negative SI-SDR 0.02 through the iSTFT).
//
//   node bench/enhancement.js [--device cpu|cuda] [--paper] [--steps 10] [--warmup 3] [--save [--force]]
//                             [--layers n] [--dmodel d] [--batch b] [--seconds s]
//
// Configs: cpu   2 layers, d 64, batch 2 x 1 s at 16 kHz (T = 161 frames of 201 bins)
//          cuda  4 layers, d 64, batch 4 x 2 s (SEMamba's width and 2 s training crops; its
//                TF-Mamba blocks also run over frequency, these encoders over time only), bf16
//                autocast of the mask estimator
//          paper 12 layers, d 512, batch 8 x 10 s (T = 1601 frames): the task-model issue's
//                paper size, the same as bench/models.js --paper (JSON enhancement-paper-*)
// Time per step is the median of --steps synchronised steps after --warmup; throughput is
// utterances/s and seconds of audio per second. No PyTorch reference exists for this model
// (SEMamba's code is a different network), so the reference and ratio columns are empty.
// JSON (bench/results/enhancement-<machine>.json) only with --save; an existing file is kept
// unless --force.
'use strict';
const fs = require('fs');
const path = require('path');
const { machine, printTable, writeJson, loadLibrary, median } = require('./common');

const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
// The TypeScript sources unless --dist: a dist built before lib/models/enhancement lacks it.
let ms = loadLibrary({ sources: !args.includes('--dist') });
if (!ms.models || !ms.models.MaskEnhancer) ms = loadLibrary({ sources: true });

const device = arg('--device', ms.cudaAvailable() ? 'cuda' : 'cpu');
if (device === 'cuda' && !ms.cudaAvailable()) {
  console.log('enhancement: --device cuda needs a GPU');
  process.exit(0);
}
const STEPS = Number(arg('--steps', 10));
const WARMUP = Number(arg('--warmup', 3));
const paper = args.includes('--paper');
const cfg = paper ? { layers: 12, dModel: 512, batch: 8, seconds: 10 }
  : device === 'cuda' ? { layers: 4, dModel: 64, batch: 4, seconds: 2 } : { layers: 2, dModel: 64, batch: 2, seconds: 1 };
if (args.includes('--layers')) cfg.layers = Number(arg('--layers'));
if (args.includes('--dmodel')) cfg.dModel = Number(arg('--dmodel'));
if (args.includes('--seconds')) cfg.seconds = Number(arg('--seconds'));
if (args.includes('--batch')) cfg.batch = Number(arg('--batch'));
const SR = 16000;
const n = cfg.seconds * SR;

/** Clean: harmonic tones with a slow envelope; noisy: clean + white noise at ~5 dB. */
function batchOf() {
  const clean = new Float32Array(cfg.batch * n);
  const noisy = new Float32Array(cfg.batch * n);
  let s = 12345;
  for (let b = 0; b < cfg.batch; b++) {
    const f0 = 110 + 40 * b;
    for (let i = 0; i < n; i++) {
      const t = i / SR;
      const v = 0.2 * Math.sin(2 * Math.PI * f0 * t) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t)) + 0.05 * Math.sin(2 * Math.PI * 3 * f0 * t);
      s = (s * 1103515245 + 12345) % 2147483648;
      clean[b * n + i] = v;
      noisy[b * n + i] = v + 0.1 * (s / 2147483648 * 2 - 1);
    }
  }
  return {
    ids: Array.from({ length: cfg.batch }, (_, b) => `u${b}`),
    clean: ms.tensor(clean, [cfg.batch, n], { device }),
    noisy: ms.tensor(noisy, [cfg.batch, n], { device }),
    lengths: new Int32Array(cfg.batch).fill(n),
  };
}

const batch = batchOf();
const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), device, paper, config: { ...cfg, sampleRate: SR, nFft: 400, hop: 100 }, steps: STEPS, encoders: {} };
for (const type of ms.models.ENCODER_TYPES) {
  let t = NaN;
  let params = 0;
  try {
    const model = new ms.models.MaskEnhancer({
      encoder: { type, layers: cfg.layers, dModel: cfg.dModel, heads: paper ? 8 : 4, ffnDim: 4 * cfg.dModel, dropout: 0.1 }, seed: 1, device,
    });
    params = model.numParameters();
    const opt = new ms.optim.AdamW(model.parameters(), { lr: 5e-4 });
    const step = () => ms.tidy(() => {
      const { loss } = model.loss(batch);
      loss.backward();
      opt.step();
      model.zeroGrad();
    });
    for (let i = 0; i < WARMUP; i++) step();
    ms.synchronize();
    const ts = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = process.hrtime.bigint();
      step();
      ms.synchronize();
      ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t = median(ts);
  } catch (e) {
    console.error(`${type}: ${e.message}`);
  }
  results.encoders[type] = { msPerStep: t, params, uttPerSec: (cfg.batch * 1000) / t, audioSecPerSec: (cfg.batch * cfg.seconds * 1000) / t };
  rows.push({
    encoder: type, shape: `${cfg.batch} x ${cfg.seconds} s, ${cfg.layers} x d ${cfg.dModel}`, params: params.toLocaleString('en-US'),
    'ms/step': t.toFixed(1), 'utt/s': ((cfg.batch * 1000) / t).toFixed(1), 'audio s/s': ((cfg.batch * cfg.seconds * 1000) / t).toFixed(1), reference: '-', ratio: '-',
  });
}
const name = device === 'cuda' ? results.machine.gpus[0] || 'cuda' : 'cpu';
printTable(`MaskEnhancer training step (forward + backward + AdamW) — ${name}${device === 'cuda' ? ', bf16 autocast' : ''}`,
  ['encoder', 'shape', 'params', 'ms/step', 'utt/s', 'audio s/s', 'reference', 'ratio'], rows);
if (args.includes('--save')) {
  const file = `enhancement${paper ? '-paper' : ''}-${name.replace(/[^A-Za-z0-9]+/g, '-')}.json`;
  const dir = process.env.BENCH_OUT_DIR || path.join(__dirname, 'results');
  if (fs.existsSync(path.join(dir, file)) && !args.includes('--force')) {
    console.log(`\n${path.join(dir, file)} exists; not overwritten (pass --force to replace it)`);
  } else {
    writeJson(file, results);
  }
}
