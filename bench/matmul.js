#!/usr/bin/env node
// matmul.js — GEMM throughput: CPU vs numpy (same machine, same run), CUDA fp32/bf16 vs
// torch.matmul (read from --ref JSON written by bench/torch_matmul.py in the same call), and the
// project's own CUDA kernel (no cuBLAS). Prints one table, writes bench/results/matmul-<machine>.json.
'use strict';
const { execFileSync } = require('child_process');
const ms = require('..');
const { native } = require('../dist/native');
const { machine, printTable, writeJson, loadReference, median } = require('./common');

const args = process.argv.slice(2);
const ref = loadReference(args.includes('--ref') ? args[args.indexOf('--ref') + 1] : null);
const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), cpuKernel: native.matmulKernels().cpu, cpu: {}, cuda: {} };

// Seconds per call: median over `reps` batches, each batch as many calls as fill ~50 ms
// (single calls of a 0.2 ms product are too short to time alone). numpy is timed the same way.
function timeIt(fn, reps, sync) {
  fn();
  if (sync) sync();
  let t0 = process.hrtime.bigint();
  fn();
  if (sync) sync();
  const once = Number(process.hrtime.bigint() - t0) / 1e9;
  const per = Math.max(1, Math.round(0.05 / Math.max(once, 1e-6)));
  const ts = [];
  for (let r = 0; r < reps; ++r) {
    t0 = process.hrtime.bigint();
    for (let i = 0; i < per; ++i) fn();
    if (sync) sync();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9 / per);
  }
  return median(ts);
}

// numpy on this machine, same sizes, same method (median of reps after one warm-up).
let numpy = {};
try {
  const py = `
import numpy as np, time, json, statistics
out = {}
for n in [256, 1024, 2048]:
    a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
    a @ b
    t = time.perf_counter(); a @ b; once = time.perf_counter() - t
    per = max(1, round(0.05 / max(once, 1e-6)))
    ts = []
    for _ in range(7 if n < 2048 else 3):
        t = time.perf_counter()
        for _ in range(per): a @ b
        ts.append((time.perf_counter() - t) / per)
    out[n] = 2 * n**3 / statistics.median(ts) / 1e9
print(json.dumps(out))`;
  numpy = JSON.parse(execFileSync('python3', ['-c', py], { encoding: 'utf8' }));
} catch (e) {
  console.error('numpy not available:', e.message);
}

for (const n of [256, 1024, 2048]) {
  const a = ms.randn([n, n], { seed: 1, device: 'cpu' });
  const b = ms.randn([n, n], { seed: 2, device: 'cpu' });
  const s = timeIt(() => ms.matmul(a, b).dispose(), n < 2048 ? 7 : 3);
  const gf = (2 * n ** 3) / s / 1e9;
  results.cpu[n] = { seconds: s, GFLOPs: gf, numpyGFLOPs: numpy[n] };
  rows.push({ case: `cpu fp32 ${native.matmulKernels().cpu}`, shape: `${n}^3`, median: `${(s * 1e3).toFixed(2)} ms`,
    achieved: `${gf.toFixed(1)} GFLOP/s`, reference: numpy[n] ? `numpy ${numpy[n].toFixed(1)}` : '-',
    ratio: numpy[n] ? `${(gf / numpy[n]).toFixed(2)}x numpy` : '-' });
}

if (ms.cudaAvailable()) {
  for (const dtype of ['float32', 'bfloat16']) {
    for (const n of [1024, 4096, 8192]) {
      for (const own of [false, true]) {
        if (own && n > 4096) continue;
        const a = ms.randn([n, n], { seed: 1, device: 'cuda', dtype });
        const b = ms.randn([n, n], { seed: 2, device: 'cuda', dtype });
        native.matmulKernels(own);
        const s = timeIt(() => ms.matmul(a, b).dispose(), 20, () => ms.synchronize());
        native.matmulKernels(false);
        const tf = (2 * n ** 3) / s / 1e12;
        const key = `${dtype}-${n}${own ? '-own' : ''}`;
        const r = ref && ref.matmul && ref.matmul[`${dtype}-${n}`];
        results.cuda[key] = { seconds: s, TFLOPs: tf, torchTFLOPs: r };
        rows.push({ case: `cuda ${dtype} ${own ? 'own kernel' : (ms.buildInfo().cublas ? 'cuBLAS' : 'own kernel')}`, shape: `${n}^3`,
          median: `${(s * 1e3).toFixed(3)} ms`, achieved: `${tf.toFixed(1)} TFLOP/s`, reference: r ? `torch ${r.toFixed(1)}` : '-',
          ratio: r ? `${(tf / r).toFixed(2)}x torch` : '-' });
        a.dispose();
        b.dispose();
      }
    }
  }
}
if (ref) results.reference = ref;
printTable(`matmul — ${results.machine.gpus[0] || results.machine.cpu} (${results.machine.cores} cores)`,
  ['case', 'shape', 'median', 'achieved', 'reference', 'ratio'], rows);
writeJson(`matmul-${ms.cudaAvailable() ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu'}.json`, results);
