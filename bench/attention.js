#!/usr/bin/env node
// attention.js — fused attention (ops.attention) forward and forward+backward throughput.
//
//   node bench/attention.js [--ref torch-attention.json] [--out name.json] [--quick]
//
// GPU (bfloat16): B=16, H=12, Dh=64 and B=16, H=6, Dh=128; L in {512, 1024, 2048, 4096};
// modes: full (no mask), keylen (keyLengths[b] = floor(L (0.7 + 0.3 b / (B - 1))): 70-100% of L),
// causal. TFLOP/s with FlashAttention's formula: 4 B H L^2 Dh forward (halved for causal; the
// keylen mode is counted as full, as FlashAttention counts padded batches), backward 2.5x
// forward, so forward+backward = 3.5x. PyTorch's numbers come from bench/torch_attention.py run
// on the same GPU in the same call (flash backend; its 'full' row is the reference for keylen).
// Timing: batches of calls between stream synchronisations, median of 5 batches.
// CPU (float32): B=2, H=4, L=1024, Dh=64, GFLOP/s forward and forward+backward.
'use strict';
const ms = require('..');
const { median, machine, printTable, writeJson, loadReference } = require('./common');

const args = process.argv.slice(2);
const refFile = args.includes('--ref') ? args[args.indexOf('--ref') + 1] : null;
const ref = loadReference(refFile);
const quick = args.includes('--quick');
const results = { machine: machine(ms), date: new Date().toISOString(), cases: {} };
const rows = [];

function keyLengths(B, L) {
  return Int32Array.from({ length: B }, (_, b) => Math.floor(L * (0.7 + 0.3 * b / (B - 1))));
}

/** Seconds per call: `batches` batches of `per` calls, synchronised around each batch. */
function timeIt(fn, per, batches) {
  fn();
  ms.synchronize();
  const ts = [];
  for (let b = 0; b < batches; ++b) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < per; ++i) fn();
    ms.synchronize();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9 / per);
  }
  return median(ts);
}

function bench(device, dtype, B, H, L, Dh, mode, per, batches) {
  const shape = [B, H, L, Dh];
  const q = ms.randn(shape, { device, dtype, requiresGrad: true });
  const k = ms.randn(shape, { device, dtype, requiresGrad: true });
  const v = ms.randn(shape, { device, dtype, requiresGrad: true });
  const dout = ms.randn(shape, { device, dtype });
  const opts = { causal: mode === 'causal', keyLengths: mode === 'keylen' ? keyLengths(B, L) : undefined };
  const fwd = () => ms.noGrad(() => ms.ops.attention(q, k, v, opts)).dispose();
  const fwdbwd = () => {
    const out = ms.ops.attention(q, k, v, opts);
    out.backward(dout);
    out.dispose();
    for (const t of [q, k, v]) {
      t.grad.dispose();
      t.grad = null;
    }
  };
  const f = timeIt(fwd, per, batches);
  const fb = timeIt(fwdbwd, per, batches);
  [q, k, v, dout].forEach((t) => t.dispose());
  const flops = (4 * B * H * L * L * Dh) / (mode === 'causal' ? 2 : 1);
  return { fwd_ms: f * 1e3, fwdbwd_ms: fb * 1e3, fwd_flops: flops / f, fwdbwd_flops: (3.5 * flops) / fb };
}

if (ms.cudaAvailable()) {
  const configs = [[16, 12, 64], [16, 6, 128]];
  const lengths = quick ? [1024] : [512, 1024, 2048, 4096];
  for (const [B, H, Dh] of configs) {
    for (const L of lengths) {
      for (const mode of ['full', 'keylen', 'causal']) {
        const name = `dh${Dh}-L${L}-${mode}`;
        const per = L <= 1024 ? 20 : 5;
        const r = bench('cuda', 'bfloat16', B, H, L, Dh, mode, per, 5);
        results.cases[name] = r;
        const t = ref && ref.cases && ref.cases[mode === 'keylen' ? `dh${Dh}-L${L}-full` : name];
        const flops = (4 * B * H * L * L * Dh) / (mode === 'causal' ? 2 : 1);
        const tf = t && t.fwd_ms ? flops / (t.fwd_ms / 1e3) : null;
        const tfb = t && t.fwdbwd_ms ? (3.5 * flops) / (t.fwdbwd_ms / 1e3) : null;
        rows.push({
          case: `${mode} bf16`,
          shape: `B${B} H${H} L${L} Dh${Dh}`,
          'fwd ms': r.fwd_ms.toFixed(3),
          'fwd TFLOP/s': (r.fwd_flops / 1e12).toFixed(1),
          'fwd+bwd ms': r.fwdbwd_ms.toFixed(3),
          'fwd+bwd TFLOP/s': (r.fwdbwd_flops / 1e12).toFixed(1),
          'torch fwd | fwd+bwd': tf ? `${(tf / 1e12).toFixed(1)} | ${(tfb / 1e12).toFixed(1)}` : '-',
          'ratio fwd | fwd+bwd (goal 0.6 | 0.5)': tf ? `${(r.fwd_flops / tf).toFixed(2)} | ${(r.fwdbwd_flops / tfb).toFixed(2)}` : '-',
        });
        console.error(name, JSON.stringify(r));
      }
    }
  }
}

{
  const [B, H, L, Dh] = [2, 4, 1024, 64];
  const r = bench('cpu', 'float32', B, H, L, Dh, 'full', 1, quick ? 3 : 5);
  results.cases['cpu-dh64-L1024-full'] = r;
  rows.push({
    case: 'full float32 (cpu)',
    shape: `B${B} H${H} L${L} Dh${Dh}`,
    'fwd ms': r.fwd_ms.toFixed(1),
    'fwd TFLOP/s': `${(r.fwd_flops / 1e9).toFixed(1)} GFLOP/s`,
    'fwd+bwd ms': r.fwdbwd_ms.toFixed(1),
    'fwd+bwd TFLOP/s': `${(r.fwdbwd_flops / 1e9).toFixed(1)} GFLOP/s`,
    'torch fwd | fwd+bwd': '-',
    'ratio fwd | fwd+bwd (goal 0.6 | 0.5)': '-',
  });
}

if (ref) results.reference = ref;
printTable(`mamba-speech attention benchmark — ${results.machine.gpus[0] || results.machine.cpu} (${results.machine.cores} cores)`,
  ['case', 'shape', 'fwd ms', 'fwd TFLOP/s', 'fwd+bwd ms', 'fwd+bwd TFLOP/s', 'torch fwd | fwd+bwd', 'ratio fwd | fwd+bwd (goal 0.6 | 0.5)'], rows);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1]
  : `attention-${ms.cudaAvailable() ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu'}.json`;
writeJson(out, results);
