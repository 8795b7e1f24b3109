#!/usr/bin/env node
// cpu_first_calls.js — are the first large CPU products of a fresh process as fast as later ones?
// Each repetition starts a fresh node process that multiplies two random 1024 x 1024 float32
// matrices 30 times, timing each call, and a fresh python process doing the same with numpy
// (OpenBLAS; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment, threads as ours).
// Reported: our median of calls 3-9 (the measure of a fresh process), our median of
// calls 10-29 (steady state), and numpy at its best (median of its calls 10-29); target: calls
// 3-9 >= 0.8x numpy. Runs alternate between the two so that load on a shared machine hits both.
//
//   node bench/cpu_first_calls.js [--reps 3] [--threads 1,2] [--cpu-time] [--save]
//
// --cpu-time times each call by process CPU time (user + system) instead of the wall clock
// (steadier on a loaded machine; with 1 thread only, as waiting threads spin).
// --save writes bench/results/cpu_first_calls-cpu.json, the file already there moving into its history.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const ms = require('..');
const { median, machine, printTable, writeJson } = require('./common');

const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? args[args.indexOf(name) + 1] : d);
const reps = Number(opt('--reps', 3));
const threadsList = String(opt('--threads', '1,2')).split(',').map(Number);
const cpuTime = args.includes('--cpu-time');
const N = 1024, CALLS = 30;

const ours = `
  const ms = require(${JSON.stringify(path.join(__dirname, '..'))});
  ms.setNumThreads(${'${T}'});
  const now = ${cpuTime ? "() => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }" : '() => Number(process.hrtime.bigint()) / 1e9'};
  const a = ms.randn([${N}, ${N}], { seed: 1 }), b = ms.randn([${N}, ${N}], { seed: 2 });
  const ts = [];
  for (let i = 0; i < ${CALLS}; ++i) { const t0 = now(); ms.matmul(a, b).dispose(); ts.push(now() - t0); }
  console.log(JSON.stringify(ts));`;
const numpy = `
import json, time, numpy as np
now = ${cpuTime ? 'time.process_time' : 'time.perf_counter'}
rng = np.random.default_rng(1)
a = rng.standard_normal((${N}, ${N}), dtype=np.float32); b = rng.standard_normal((${N}, ${N}), dtype=np.float32)
ts = []
for _ in range(${CALLS}):
    t = now(); a @ b; ts.append(now() - t)
print(json.dumps(ts))`;

function run(cmd, argv, env) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env, timeout: 300000 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-1000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), clock: cpuTime ? 'cpu' : 'wall', n: N, reps, threads: {} };
for (const T of threadsList) {
  const npEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(T), OMP_NUM_THREADS: String(T) };
  delete npEnv.OPENBLAS_CORETYPE;
  delete npEnv.OPENBLAS_L2_SIZE;
  const first = [], steady = [], np = [], firstCall = [];
  for (let r = 0; r < reps; ++r) {
    const t = run(process.execPath, ['-e', ours.replace('${T}', String(T))], process.env);
    firstCall.push(t[0]);
    first.push(median(t.slice(2, 9)));
    steady.push(median(t.slice(9, 29)));
    let nt = null;
    try {
      nt = run('python3', ['-c', numpy], npEnv);
    } catch (e) {
      console.error('numpy not available:', e.message);
    }
    if (nt) np.push(median(nt.slice(9, 29)));
  }
  const gf = (s) => (2 * N ** 3) / s / 1e9;
  const f = median(first), s = median(steady), n = np.length ? median(np) : null;
  results.threads[T] = { firstCallSeconds: median(firstCall), calls3to9Seconds: f, calls10to29Seconds: s, numpyBestSeconds: n,
    calls3to9GFLOPs: gf(f), numpyGFLOPs: n ? gf(n) : null, ratio: n ? n / f : null, perRep: { first, steady, numpy: np } };
  rows.push({ case: `1024^3 float32, ${T} thread${T > 1 ? 's' : ''}`, 'call 1': `${(median(firstCall) * 1e3).toFixed(1)} ms`,
    'calls 3-9': `${(f * 1e3).toFixed(2)} ms (${gf(f).toFixed(0)} GFLOP/s)`, 'calls 10-29': `${(s * 1e3).toFixed(2)} ms`,
    'numpy best': n ? `${(n * 1e3).toFixed(2)} ms (${gf(n).toFixed(0)} GFLOP/s)` : '-', ratio: n ? `${(n / f).toFixed(2)}x numpy` : '-' });
}
printTable(`first products in a fresh process — ${results.machine.cpu} (${results.machine.cores} cores), ${results.clock} clock, medians of ${reps} fresh processes`,
  ['case', 'call 1', 'calls 3-9', 'calls 10-29', 'numpy best', 'ratio'], rows);
if (args.includes('--save')) writeJson('cpu_first_calls-cpu.json', results);
