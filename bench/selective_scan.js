#!/usr/bin/env node
// selective_scan.js — selectiveScan forward and forward+backward on the GPU (issue 3 shapes) and
// the CPU GB/s at (2, 256, 16, 4096), with three floors and the PyTorch/mamba-ssm references.
//
//   node bench/selective_scan.js [--ref bench/results/torch_selective_scan.json] [--iters 30] [--cpu-only]
//
// Timing: CUDA events recorded before and after one call (the stream idle before it), median of
// `iters` after 5 warm-up calls; on the CPU the host clock. Options as in a Mamba block: z, deltaSoftplus, deltaBias, D, variable B/C (G = 1).
// Floors (state the counts):
//   bytes: forward reads u, delta, z, B, C and writes out; backward reads u, delta, z, B, C, dout
//          and writes du, ddelta, dz, dB, dC (element size of the dtype) — over the d2d copy
//          bandwidth measured in this run (native.timeCopy, read + write counted);
//   exp:   B*D*L*N exponentials forward, 2*B*D*L*N forward+backward (the backward must rebuild
//          exp(dt A) unless it stores the (B, D, L, N) states) — over 16 / clock / SM;
//   FP32:  4 instructions per (b, d, t, n) forward (dt*A, FMA state, dt*u*B, FMA C.h),
//          14 forward+backward — over 128 / clock / SM. Clock: 1.98 GHz (H100/H200 SXM boost).
'use strict';
const ms = require('..');
const { native } = require('../dist/native');
const { median, machine, printTable, writeJson, loadReference } = require('./common');

const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const ref = loadReference(arg('--ref', require('path').join(__dirname, 'results', 'torch_selective_scan.json')));
const iters = Number(arg('--iters', 30));
const cpuOnly = args.includes('--cpu-only');

// mamba-ssm e9594ce on an H200 (issue 3), d2d copy there 4172 GB/s.
const mambaH200 = {
  '16,1536,16,1024,bfloat16': [0.44, 2.2], '16,1536,16,1024,float32': [0.888, 3.097],
  '16,1536,16,4096,bfloat16': [1.759, 8.684], '16,1536,16,4096,float32': [3.581, 11.871],
  '4,2048,16,16384,bfloat16': [2.812, 12.289], '4,2048,16,16384,float32': [4.931, 15.734],
};
const mambaCopyGBps = 4172;

function inputs(B, D, N, L, dtype, device) {
  return ms.tidy(() => {
    const o = { device, dtype };
    const rnd = (shape, scale, shift, opts = o) => ms.add(ms.mul(ms.rand(shape, opts), scale), shift);
    const t = {
      u: rnd([B, D, L], 2, -1), delta: rnd([B, D, L], 2, -2), z: rnd([B, D, L], 4, -2),
      B: rnd([B, N, L], 2, -1), C: rnd([B, N, L], 2, -1),
      A: rnd([D, N], 1.8, -2, { device }), Dk: rnd([D], 2, -1, { device }), bias: rnd([D], 1, -1, { device }),
    };
    return t;
  });
}

function timeIt(fn, sync, n, device) {
  for (let i = 0; i < 5; ++i) fn();
  sync();
  const ts = [];
  for (let i = 0; i < n; ++i) {
    sync();
    if (device === 'cuda') {
      const a = native.eventRecord();
      fn();
      ts.push(native.eventElapsed(a, native.eventRecord()));
    } else {
      const t0 = process.hrtime.bigint();
      fn();
      ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return median(ts);
}

function run(B, D, N, L, dtype, device, n) {
  const t = inputs(B, D, N, L, dtype, device);
  const sync = device === 'cuda' ? () => ms.synchronize() : () => {};
  const opts = { D: t.Dk, z: t.z, deltaBias: t.bias, deltaSoftplus: true };
  const fwd = timeIt(() => ms.noGrad(() => ms.tidy(() => ms.selectiveScan(t.u, t.delta, t.A, t.B, t.C, opts).out)).dispose(), sync, n, device);
  for (const k of ['u', 'delta', 'z', 'B', 'C', 'A', 'Dk', 'bias']) t[k].requiresGrad = true;
  const g = ms.tidy(() => ms.mul(ms.rand([B, D, L], { device, dtype }), 1));
  const fb = timeIt(() => {
    ms.tidy(() => {
      const { out } = ms.selectiveScan(t.u, t.delta, t.A, t.B, t.C, opts);
      out.backward(g);
    });
    for (const k of ['u', 'delta', 'z', 'B', 'C', 'A', 'Dk', 'bias']) {
      if (t[k].grad) t[k].grad.dispose();
      t[k].grad = null;
    }
  }, sync, n, device);
  for (const k of Object.keys(t)) t[k].dispose();
  g.dispose();
  return { fwd, fb };
}

const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), gpu: [], cpu: null };
if (!cpuOnly && ms.cudaAvailable()) {
  const info = ms.buildInfo().gpus[0];
  const sms = info.smCount, clock = 1.98e9;
  const copyBytes = 256 * 1024 * 1024;
  const copyGBps = (2 * copyBytes) / native.timeCopy(3, copyBytes, 20) / 1e9;
  results.copyGBps = copyGBps;
  const sfu = 16 * sms * clock, fp32 = 128 * sms * clock;
  for (const [B, D, N, L] of [[16, 1536, 16, 1024], [16, 1536, 16, 4096], [4, 2048, 16, 16384]]) {
    for (const dtype of ['bfloat16', 'float32']) {
      // The CUDA scan has one kernel generation at these lengths (version 2; `kernel` stays in
      // the JSON so results from before version 1 was dropped read the same).
      const kernel = 2;
      const es = dtype === 'bfloat16' ? 2 : 4;
      const bdl = B * D * L, bnl = B * N * L, bdln = bdl * N;
      const r = run(B, D, N, L, dtype, 'cuda', iters);
      const bytesF = (4 * bdl + 2 * bnl) * es;
      const bytesFB = bytesF + (7 * bdl + 4 * bnl) * es;
      const floors = {
        fwd: { bytes: bytesF / (copyGBps * 1e9) * 1e3, exp: bdln / sfu * 1e3, fp32: 4 * bdln / fp32 * 1e3 },
        fb: { bytes: bytesFB / (copyGBps * 1e9) * 1e3, exp: 2 * bdln / sfu * 1e3, fp32: 14 * bdln / fp32 * 1e3 },
      };
      const key = `${B},${D},${N},${L},${dtype}`;
      const torch = ref && ref.results ? ref.results[key] : null;
      const mm = mambaH200[key];
      // mamba-ssm's H200 time scaled to this card by copy bandwidth.
      const scale = mambaCopyGBps / copyGBps;
      results.gpu.push({ shape: [B, D, N, L], dtype, kernel, fwdMs: r.fwd, fwdBwdMs: r.fb, floors, torch, mambaH200: mm, copyGBps });
      for (const [what, ms_, fl, ti, mi] of [['fwd', r.fwd, floors.fwd, 'fwdMs', 0], ['fwd+bwd', r.fb, floors.fb, 'fwdBwdMs', 1]]) {
        const floor = Math.max(fl.bytes, fl.exp, fl.fp32);
        rows.push({
          shape: `(${B}, ${D}, ${N}, ${L})`, dtype, pass: what,
          'median ms': ms_.toFixed(3),
          'floors ms (bytes/exp/fp32)': `${fl.bytes.toFixed(3)}/${fl.exp.toFixed(3)}/${fl.fp32.toFixed(3)}`,
          'of floor': `${(floor / ms_ * 100).toFixed(0)}%`,
          torch: torch ? `${torch[ti].toFixed(3)} (${(torch[ti] / ms_).toFixed(2)}x)` : '-',
          'mamba-ssm (scaled)': mm ? `${(mm[mi] * scale).toFixed(3)} (${(mm[mi] * scale / ms_).toFixed(2)}x)` : '-',
        });
      }
    }
  }
}

// CPU: (2, 256, 16, 4096) float32; GB/s over the forward's bytes (u, delta, z, B, C read; out written).
{
  const [B, D, N, L] = [2, 256, 16, 4096];
  const r = run(B, D, N, L, 'float32', 'cpu', 5);
  const bytes = (4 * B * D * L + 2 * B * N * L) * 4;
  results.cpu = { shape: [B, D, N, L], fwdMs: r.fwd, fwdBwdMs: r.fb, GBps: bytes / (r.fwd / 1e3) / 1e9, threads: ms.buildInfo().threads };
  rows.push({
    shape: `(${B}, ${D}, ${N}, ${L})`, dtype: 'float32 (cpu)', pass: 'fwd / fwd+bwd',
    'median ms': `${r.fwd.toFixed(1)} / ${r.fb.toFixed(1)}`,
    'floors ms (bytes/exp/fp32)': `${(bytes / 1e9 / results.cpu.GBps * 1e3).toFixed(1)} ms at ${results.cpu.GBps.toFixed(2)} GB/s`,
    'of floor': '-', torch: '-', 'mamba-ssm (scaled)': '-',
  });
}

const card = results.machine.gpus[0] || 'no GPU';
printTable(`selectiveScan on ${card} (d2d copy ${results.copyGBps ? results.copyGBps.toFixed(0) + ' GB/s' : '-'}; z, softplus, deltaBias, D, variable B/C)`,
  ['shape', 'dtype', 'pass', 'median ms', 'floors ms (bytes/exp/fp32)', 'of floor', 'torch', 'mamba-ssm (scaled)'], rows);
writeJson(arg('--out', 'selective_scan.json'), results);
