// The CPU convolutions and attention on the narrower micro-kernels that machines without AVX-512
// run (AVX2 6 x 16, portable 4 x 16: other strip widths, so attention's query blocks are 16 rows
// and the conv packers cut other strips): one child process per kernel (picked once per process by
// MAMBA_SPEECH_CPU_KERNEL), forward and every gradient against the float64 references.
import { spawnSync } from 'child_process';
import * as path from 'path';

test.each(['avx2', 'portable'])('conv and attention on the %s CPU kernel agree with float64', (kernel) => {
  const root = path.join(__dirname, '..', '..');
  const script = `
    const path = require('path');
    require(${JSON.stringify(path.join(root, 'bench', 'common.js'))}).loadLibrary({ sources: true });
    const { native } = require(${JSON.stringify(path.join(root, 'lib', 'native'))});
    const conv = require(${JSON.stringify(path.join(root, 'test', 'ops', 'conv_helpers.ts'))});
    const attn = require(${JSON.stringify(path.join(root, 'test', 'ops', 'attention_helpers.ts'))});
    const convCases = [
      conv.c1(2, 29, 140, 149, 9, { p: 4, bias: true }),
      conv.c2(2, 5, 23, 19, 13, [3, 3], [2, 2], [1, 1], [1, 1], 1),
      conv.c1(2, 7, 100, 33, 1, { bias: true }),
      conv.c1(2, 3, 37, 6, 5, { G: 3, p: 'same', d: 3, bias: true }),
    ];
    for (const c of convCases) conv.runCase(c, 'cpu', 'float32', 1e-4, 1e-4);
    const attnCases = [
      { B: 2, H: 3, Lq: 7, Lk: 7, Dh: 36, causal: true },
      { B: 3, H: 1, Lq: 129, Lk: 129, Dh: 80, causal: true, keyLengths: [129, 100, 5], queryLengths: [129, 0, 77] },
      { B: 1, H: 2, Lq: 33, Lk: 75, Dh: 64, keyLengths: [52], dropout: 0.3 },
      { B: 1, H: 1, Lq: 1, Lk: 1, Dh: 8 },
    ];
    let worst = 0;
    for (const c of attnCases) {
      const r = attn.runCase(c, 'cpu');
      for (const [x, y] of [[r.out, r.ref.out], [r.dq, r.ref.dq], [r.dk, r.ref.dk], [r.dv, r.ref.dv]]) worst = Math.max(worst, attn.normErr(x, y));
    }
    console.log(JSON.stringify({ kernel: native.matmulKernels().cpu, worst }));
  `;
  const r = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8', cwd: root, timeout: 120000, env: { ...process.env, MAMBA_SPEECH_CPU_KERNEL: kernel },
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  if (kernel === 'portable' || process.arch === 'x64') expect(out.kernel).toBe(kernel);
  // float32 attention tolerance of test/ops/attention.test.ts (gradients: 3e-5).
  expect(out.worst).toBeLessThanOrEqual(3e-5);
}, 130000);
