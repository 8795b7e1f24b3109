#!/usr/bin/env node
// hubert.js — HuBERT benchmarks (issue 14):
//   kmeans-cpu   KMeans fit (mini-batch, a fixed number of steps) + predict, 100k × 39, K = 100
//   kmeans-gpu   the same at 1M × 768, K = 500 on CUDA
//   pretrain     one `base` pre-training step (forward + backward + AdamW) at batch 8 × 10 s of
//                16 kHz audio, bf16 autocast on CUDA, per encoder type
// against the same work in bench/torch_hubert.py (run in the same call; --ref its JSON): the
// same mini-batch k-means in numpy (CPU rows) / PyTorch (GPU rows), and torchaudio's
// HuBERTPretrainModel (+ Mamba-based layers in PyTorch) for the step.
//
//   node bench/hubert.js [--rows kmeans-cpu,kmeans-gpu,pretrain] [--steps 100] [--ref ref.json] [--save]
// The k-means fit runs exactly --steps mini-batch steps of 10000 frames after one k-means++
// seeding on 30000 frames (no early stop), so both sides do the same work.
'use strict';
const { machine, printTable, writeJson, loadReference, loadLibrary, median } = require('./common');

let ms = loadLibrary();
if (!ms.models || !ms.models.KMeans) ms = loadLibrary({ sources: true });
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const rowsWanted = opt('--rows', 'kmeans-cpu,kmeans-gpu,pretrain').split(',');
const steps = Number(opt('--steps', '100'));
const ref = loadReference(opt('--ref', null));
const save = args.includes('--save');
const cuda = ms.cudaAvailable();

/** A Gaussian mixture (N, D) on `device`: 2K centres, unit noise, built on the device. */
function mixture(N, D, K, device) {
  return ms.tidy(() => {
    const centres = ms.ops.mul(ms.randn([2 * K, D], { device, seed: 7 }), 4);
    const idx = ms.tensor(Int32Array.from({ length: N }, (_, i) => (i * 2654435761) % (2 * K)), [N], { device, dtype: 'int32' });
    return ms.ops.add(ms.ops.indexSelect(centres, 0, idx), ms.randn([N, D], { device, seed: 8 }));
  });
}

function kmeansRow(name, N, D, K, device) {
  const X = mixture(N, D, K, device);
  const batch = 10000;
  const fit = () => new ms.models.KMeans({ k: K, batchSize: batch, nInit: 1, initSize: 3 * batch, maxIter: Math.max(1, Math.round((steps * batch) / N)), maxNoImprovement: 1e9, seed: 0 }).fit(X);
  const t0 = process.hrtime.bigint();
  const km = fit();
  ms.synchronize();
  const fitS = Number(process.hrtime.bigint() - t0) / 1e9;
  const ran = km.info.steps;
  const times = [];
  for (let i = 0; i < 3; ++i) {
    const t = process.hrtime.bigint();
    km.predict(X);
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const predictS = median(times);
  const inertia = km.score(X);
  km.dispose();
  X.dispose();
  const r = ref && ref.kmeans && ref.kmeans[name];
  // napkin math: each step is two (10000 × D × K) GEMMs (distances, one-hot sums)
  const gflops = (4 * batch * D * K * ran) / fitS / 1e9;
  return {
    row: name, shape: `${N} × ${D}, K ${K}`, steps: ran,
    'fit s': fitS.toFixed(2), 'fit GFLOP/s': gflops.toFixed(1), 'predict s': predictS.toFixed(3),
    'frames/s': (N / predictS).toExponential(2), inertia: inertia.toFixed(3),
    ref: r ? `fit ${r.fit_s.toFixed(2)} s, predict ${r.predict_s.toFixed(3)} s (${r.impl})` : '-',
    ratio: r ? `fit ${(r.fit_s / fitS).toFixed(2)}x, predict ${(r.predict_s / predictS).toFixed(2)}x` : '-',
    json: { N, D, K, steps: ran, fitS, predictS, inertia, ref: r || null },
  };
}

function pretrainRow(type) {
  const B = 8, S = 160000, T = 1000; // 10 s at 16 kHz, labels at 100 Hz
  const model = new ms.models.Hubert(ms.models.hubertBase(type, { device: 'cuda' }));
  const opt = new ms.optim.AdamW(model.parameters(), { lr: 5e-4 });
  const features = ms.mul(ms.randn([B, S], { device: 'cuda', seed: 1 }), 0.1);
  const labels = Array.from({ length: B }, (_, b) => Int32Array.from({ length: T }, (_, i) => (i * 7 + b) % 100));
  const batch = { features, lengths: new Int32Array(B).fill(S), labels };
  const step = () => {
    ms.tidy(() => {
      const r = ms.autocast('bfloat16', () => model.loss(batch));
      r.loss.backward();
    });
    opt.step();
    opt.zeroGrad();
  };
  for (let i = 0; i < 2; ++i) step();
  ms.synchronize();
  const ts = [];
  for (let i = 0; i < 5; ++i) {
    const t0 = process.hrtime.bigint();
    step();
    ms.synchronize();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const t = median(ts);
  const r = ref && ref.pretrain && ref.pretrain[type];
  const rp = ref && ref.pretrainParams && ref.pretrainParams[type];
  const params = model.numParameters();
  features.dispose();
  return {
    row: `pretrain ${type}`, shape: `8 × 10 s, ${(params / 1e6).toFixed(1)}M params`, 'step ms': t.toFixed(1),
    'audio s/s': ((B * S) / 16000 / (t / 1000)).toFixed(1),
    ref: r ? `${r.toFixed(1)} ms (torch${rp ? `, ${(rp / 1e6).toFixed(1)}M params` : ''})` : '-', ratio: r ? `${(r / t).toFixed(2)}x torch` : '-',
    json: { type, ms: t, params, ref: r || null, refParams: rp || null },
  };
}

const results = { machine: machine(ms), date: new Date().toISOString(), steps, rows: [] };
const kmRows = [], ptRows = [];
if (rowsWanted.includes('kmeans-cpu')) kmRows.push(kmeansRow('kmeans-cpu', 100000, 39, 100, 'cpu'));
if (rowsWanted.includes('kmeans-gpu')) {
  if (cuda) kmRows.push(kmeansRow('kmeans-gpu', 1000000, 768, 500, 'cuda'));
  else console.log('kmeans-gpu: skipped (no CUDA)');
}
if (rowsWanted.includes('pretrain')) {
  if (!cuda) console.log('pretrain: skipped (needs a GPU: base at 8 × 10 s)');
  else for (const type of ['transformer', 'conformer', 'mamba', 'bimamba', 'conbimamba', 'transbimamba']) {
    try {
      ptRows.push(pretrainRow(type));
    } catch (e) {
      console.error(`pretrain ${type}: ${e.message}`);
    }
  }
}
const where = cuda ? results.machine.gpus[0] : 'cpu';
if (kmRows.length) printTable(`k-means (fit: ${steps} mini-batch steps of 10000 after k-means++ on 30000) — ${where}`, ['row', 'shape', 'steps', 'fit s', 'fit GFLOP/s', 'predict s', 'frames/s', 'inertia', 'ref', 'ratio'], kmRows);
if (ptRows.length) printTable(`HuBERT base pre-training step, bf16 autocast — ${where}`, ['row', 'shape', 'step ms', 'audio s/s', 'ref', 'ratio'], ptRows);
results.rows = [...kmRows, ...ptRows].map((r) => ({ row: r.row, ...r.json }));
if (save) writeJson(`hubert-${where.replace(/[^A-Za-z0-9]+/g, '-')}.json`, results);
