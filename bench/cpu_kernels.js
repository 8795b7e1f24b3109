#!/usr/bin/env node
// cpu_kernels.js — CPU convolutions and attention at the shapes of the `tiny` speech models,
// against the library's own GEMM measured in the same process.
//
//   node bench/cpu_kernels.js [--only conv|attn] [--filter text] [--threads n] [--cpu-time]
//                             [--save] [--label text] [--json file]
//
// Conv rows (float32, batch 8): Conv2dSubsampling x4 on (8, 300, 80) log-mel with C = 144 and
// 256 (conv2d 1 -> C then C -> C, 3x3, stride 2), the conformer's pointwise conv1d (k 1, C -> 2C
// and C -> C) and depthwise conv1d (k 31, groups C, 'same') at the 75 frames left after
// subsampling, HuBERT's CNN conv1d (1 -> 512 k 10 s 5; 512 -> 512 k 3 s 2; 1 s of audio).
// Each primitive is timed alone through the addon: forward (with bias), backward-input,
// backward-weight, and the bias grad (a channel sum). GFLOP/s count 2 N Cout P Kc per primitive
// (the GEMM view; the bias grad is not counted). The reference is the library's matmul of the
// GEMM each primitive maps to, (Cout, Kc) @ (Kc, N P), timed in the same process, and the
// 1024^3 product (the GEMM at its best); the target is >= 0.5x that.
// Attention rows (float32, B 8, H 4): L 75..300, Dh 36..64, keyLengths 70-100 % of L (the
// query rows past a length are zeroed too); GFLOP/s count only the visible pairs:
// 4 H Dh sum_b qlen_b klen_b forward, x 3.5 forward + backward (FlashAttention's 2.5x backward).
// Timing: batches of calls filling ~40 ms, median of 7 batches, wall clock; with --cpu-time the
// process's CPU time (user + system, all threads) instead, which a loaded shared machine
// disturbs far less (use it with --threads 1: the pool's waiting threads spin, and that counts).
// Compare two builds by alternating whole runs and taking medians.
// --save writes bench/results/cpu_kernels-cpu.json, the file already there moving into its
// history (common.writeJson); --json file writes this run alone to `file`.
'use strict';
const fs = require('fs');
const ms = require('..');
const { native } = require('../dist/native');
const { median, machine, printTable, writeJson } = require('./common');

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const only = opt('--only');
const filter = opt('--filter');
const B = 8;
const cpuTime = args.includes('--cpu-time');
if (opt('--threads')) ms.setNumThreads(Number(opt('--threads')));

/** Seconds now: wall clock, or this process's CPU time (user + system) with --cpu-time. */
function now() {
  if (!cpuTime) return Number(process.hrtime.bigint()) / 1e9;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function timeIt(fn, batches = 7) {
  fn();
  let t0 = now();
  fn();
  const once = now() - t0;
  const per = Math.max(1, Math.min(200, Math.round(0.04 / Math.max(once, 1e-4))));
  const ts = [];
  for (let r = 0; r < batches; ++r) {
    t0 = now();
    for (let i = 0; i < per; ++i) fn();
    ts.push((now() - t0) / per);
  }
  return median(ts);
}
const gf = (flops, s) => flops / s / 1e9;
const rnd = (shape, seed) => ms.randn(shape, { device: 'cpu', seed });

function gemmSeconds(M, K, N) {
  const a = rnd([M, K], 1), b = rnd([K, N], 2);
  const s = timeIt(() => ms.matmul(a, b).dispose());
  a.dispose();
  b.dispose();
  return s;
}

const peakS = gemmSeconds(1024, 1024, 1024);
const peak = gf(2 * 1024 ** 3, peakS);
const rows = [];
const out = { threads: ms.buildInfo().threads, clock: cpuTime ? 'cpu' : 'wall', peakGemmGFLOPs: peak, conv: {}, attention: {} };

// name, x shape, w shape, [N, Cin, Cout, G, ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, spatial]
function conv2dCase(name, Cin, Cout, H, W) {
  const oh = Math.floor((H - 3) / 2) + 1, ow = Math.floor((W - 3) / 2) + 1;
  return [name, [B, Cin, H, W], [Cout, Cin, 3, 3], [B, Cin, Cout, 1, H, W, oh, ow, 3, 3, 2, 2, 0, 0, 1, 1, 2]];
}
function conv1dCase(name, Cin, Cout, G, L, K, s, pad) {
  const lo = Math.floor((L + 2 * pad - K) / s) + 1;
  return [name, [B, Cin, L], [Cout, Cin / G, K], [B, Cin, Cout, G, 1, L, 1, lo, 1, K, 1, s, 0, pad, 1, 1, 1]];
}
const convs = [];
for (const C of [144, 256]) {
  convs.push(conv2dCase(`subsample conv2d 1->${C} k3 s2`, 1, C, 300, 80));
  convs.push(conv2dCase(`subsample conv2d ${C}->${C} k3 s2`, C, C, 149, 39));
  convs.push(conv1dCase(`conformer pointwise ${C}->${2 * C} k1`, C, 2 * C, 1, 75, 1, 1, 0));
  convs.push(conv1dCase(`conformer pointwise ${C}->${C} k1`, C, C, 1, 75, 1, 1, 0));
  convs.push(conv1dCase(`conformer depthwise ${C} k31`, C, C, C, 75, 31, 1, 15));
}
convs.push(conv1dCase('hubert conv0 1->512 k10 s5', 1, 512, 1, 16000, 10, 5, 0));
convs.push(conv1dCase('hubert conv1 512->512 k3 s2', 512, 512, 1, 3199, 3, 2, 0));

if (only !== 'attn') {
  for (const [name, xs, ws, geom] of convs) {
    if (filter && !name.includes(filter)) continue;
    const [N, , Cout, G, , , oh, ow, kh, kw] = geom;
    const P = oh * ow, Kc = (geom[1] / G) * kh * kw;
    const ys = geom[16] === 2 ? [N, Cout, oh, ow] : [N, Cout, ow];
    const x = rnd(xs, 3), w = rnd(ws, 4), bias = rnd([Cout], 5), dy = rnd(ys, 6);
    const op = geom[16] === 2 ? 'conv2d' : 'conv1d';
    const fwd = timeIt(() => native.convForward(op, x.handle(), w.handle(), bias.handle(), geom).dispose());
    const bin = timeIt(() => native.convBackwardInput(op, dy.handle(), w.handle(), null, geom).dispose());
    const bw = timeIt(() => native.convBackwardWeight(op, x.handle(), dy.handle(), 'float32', geom).dispose());
    const bb = timeIt(() => native.convBiasGrad(op, dy.handle(), 'float32').dispose());
    const flops = 2 * N * Cout * P * Kc;
    // The GEMM this conv maps to (per group; depthwise convs have none worth timing).
    const ref = G === 1 ? gemmSeconds(Cout, Kc, N * P) : null;
    const refGf = ref ? gf(flops, ref) : null;
    out.conv[name] = { x: xs, w: ws, flops, fwd, bwdInput: bin, bwdWeight: bw, biasGrad: bb, gemm: ref,
      fwdGFLOPs: gf(flops, fwd), bwdInputGFLOPs: gf(flops, bin), bwdWeightGFLOPs: gf(flops, bw), gemmGFLOPs: refGf };
    const worst = Math.min(gf(flops, fwd), gf(flops, bin), gf(flops, bw));
    rows.push({ shape: `${name} x${JSON.stringify(xs)}`,
      'fwd ms (GFLOP/s)': `${(fwd * 1e3).toFixed(3)} (${gf(flops, fwd).toFixed(1)})`,
      'dx ms (GFLOP/s)': `${(bin * 1e3).toFixed(3)} (${gf(flops, bin).toFixed(1)})`,
      'dw ms (GFLOP/s)': `${(bw * 1e3).toFixed(3)} (${gf(flops, bw).toFixed(1)})`,
      'db ms': (bb * 1e3).toFixed(3),
      reference: refGf ? `GEMM ${refGf.toFixed(1)}` : `peak ${peak.toFixed(0)}`,
      ratio: `${(worst / (refGf || peak)).toFixed(2)}x (min/ref), ${(worst / peak).toFixed(2)}x peak` });
    for (const t of [x, w, bias, dy]) t.dispose();
  }
}

if (only !== 'conv') {
  for (const [L, Dh] of [[75, 36], [75, 64], [150, 36], [150, 64], [300, 36], [300, 64]]) {
    const name = `attention B${B} H4 L${L} Dh${Dh} keylen`;
    if (filter && !name.includes(filter)) continue;
    const H = 4, shape = [B, H, L, Dh];
    const lens = Int32Array.from({ length: B }, (_, b) => Math.max(1, Math.floor(L * (0.7 + 0.3 * b / (B - 1)))));
    const q = rnd(shape, 7).requiresGrad_(), k = rnd(shape, 8).requiresGrad_(), v = rnd(shape, 9).requiresGrad_();
    const dout = rnd(shape, 10);
    const o = { keyLengths: lens, queryLengths: lens };
    const fwd = timeIt(() => ms.noGrad(() => ms.ops.attention(q, k, v, o)).dispose());
    const both = timeIt(() => {
      const y = ms.ops.attention(q, k, v, o);
      y.backward(dout);
      y.dispose();
      for (const t of [q, k, v]) { t.grad.dispose(); t.grad = null; }
    });
    let pairs = 0;
    for (const n of lens) pairs += n * n;
    const flops = 4 * H * Dh * pairs;
    out.attention[name] = { flops, fwd, fwdBwd: both, fwdGFLOPs: gf(flops, fwd), fwdBwdGFLOPs: gf(3.5 * flops, both) };
    rows.push({ shape: name, 'fwd ms (GFLOP/s)': `${(fwd * 1e3).toFixed(3)} (${gf(flops, fwd).toFixed(1)})`,
      'dx ms (GFLOP/s)': `fwd+bwd ${(both * 1e3).toFixed(3)} (${gf(3.5 * flops, both).toFixed(1)})`, 'dw ms (GFLOP/s)': '', 'db ms': '',
      reference: `peak ${peak.toFixed(0)}`, ratio: `${(gf(flops, fwd) / peak).toFixed(2)}x peak fwd` });
    for (const t of [q, k, v, dout]) t.dispose();
  }
}

printTable(`CPU conv / attention — ${os().cpu} (${os().cores} cores), ${ms.buildInfo().threads} threads, ${out.clock} clock; GEMM 1024^3 ${peak.toFixed(1)} GFLOP/s`,
  ['shape', 'fwd ms (GFLOP/s)', 'dx ms (GFLOP/s)', 'dw ms (GFLOP/s)', 'db ms', 'reference', 'ratio'], rows);
function os() { return machine(ms); }

const entry = { date: new Date().toISOString(), label: opt('--label') || '', ...out };
if (opt('--json')) fs.writeFileSync(opt('--json'), JSON.stringify(entry, null, 1) + '\n');
if (args.includes('--save')) writeJson('cpu_kernels-cpu.json', { machine: machine(ms), ...entry });
