#!/usr/bin/env node
// cpu_layout.js — CPU layout work that training steps pay without computing anything: a
// transposed view made contiguous (attention head splits, conv layout changes) and a sum over
// the leading dim (every Linear's bias gradient), against numpy doing the same in the same run
// (np.ascontiguousarray(x.T), x.sum(0); float32, one thread each).
//
//   node bench/cpu_layout.js [--threads 1] [--cpu-time] [--save]
//
// GB/s counts the bytes read + written once (transpose: 2 x 4 B per element; sum: 4 B per
// element read). The floor is measured in the same run: a contiguous elementwise pass over the
// same tensor (x * 1: the same bytes as the transposed copy; half of it for the sum, which only
// reads). numpy's figure is its median of the same calls.
'use strict';
const { spawnSync } = require('child_process');
const { median, clock, machine, printTable, writeJson, loadLibrary } = require('./common');

const ms = loadLibrary();
const args = process.argv.slice(2);
const cpu = args.includes('--cpu-time');
const threads = Number(args.includes('--threads') ? args[args.indexOf('--threads') + 1] : 1);
ms.setNumThreads(threads);
const shapes = [[600, 576], [2400, 576], [2400, 64], [8000, 768]];

function time(fn, reps = 7) {
  for (let i = 0; i < 3; ++i) ms.tidy(() => { fn(); });
  const ts = [];
  for (let r = 0; r < reps; ++r) {
    const n = 20;
    const t0 = clock(cpu);
    for (let i = 0; i < n; ++i) ms.tidy(() => { fn(); });
    ts.push((clock(cpu) - t0) / n);
  }
  return median(ts);
}

function numpy() {
  const code = `
import json, time, numpy as np
out = {}
for R, C in ${JSON.stringify(shapes)}:
    x = np.random.randn(R, C).astype(np.float32)
    for name, f in (("transpose", lambda: np.ascontiguousarray(x.T)), ("sum0", lambda: x.sum(0))):
        for _ in range(3): f()
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            for _ in range(20): f()
            ts.append((time.perf_counter() - t) / 20)
        out[f"{name} {R}x{C}"] = sorted(ts)[3]
out["numpy"] = np.__version__
print(json.dumps(out))`;
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return null;
  }
}

const ref = numpy();
const rows = [];
const results = { machine: machine(ms), date: new Date().toISOString(), threads, clock: cpu ? 'cpu' : 'wall', numpy: ref && ref.numpy, cases: {} };
for (const [R, C] of shapes) {
  const x = ms.randn([R, C], { seed: 1 });
  const pass = time(() => ms.ops.mul(x, 1)); // contiguous read + write of x
  for (const [name, fn, bytes] of [
    ['transpose', () => ms.ops.contiguous(ms.ops.transpose(x)), 8 * R * C],
    ['sum0', () => ms.ops.sum(x, 0), 4 * R * C],
  ]) {
    const s = time(fn);
    const key = `${name} ${R}x${C}`;
    const r = ref && ref[key];
    const floor = name === 'transpose' ? pass : pass / 2;
    results.cases[key] = { seconds: s, GBps: bytes / s / 1e9, floorSeconds: floor, numpySeconds: r || null };
    rows.push({
      case: name === 'transpose' ? 'contiguous(transpose(x))' : 'sum(x, 0)', shape: `(${R}, ${C})`, 'median us': (s * 1e6).toFixed(1),
      'GB/s': (bytes / s / 1e9).toFixed(1), floor: `${(floor * 1e6).toFixed(1)} us`,
      numpy: r ? `${(r * 1e6).toFixed(1)} us` : '-', ratio: r ? `${(r / s).toFixed(2)}x numpy` : '-',
    });
  }
  x.dispose();
}
printTable(`CPU layout work — ${results.machine.cpu} (${threads} thread${threads > 1 ? 's' : ''}, ${cpu ? 'cpu' : 'wall'} clock)`,
  ['case', 'shape', 'median us', 'GB/s', 'floor', 'numpy', 'ratio'], rows);
writeJson('cpu_layout-cpu.json', results);
