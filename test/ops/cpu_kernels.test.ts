// The CPU convolutions and attention on the narrower kernels that machines without AVX-512 run
// (MAMBA_SPEECH_CPU_KERNEL, read once per process, so one child process per ISA): the AVX2 6 x 16
// and portable 4 x 16 GEMM micro-kernels (other strip widths: attention's query blocks are 16
// rows, the conv packers cut other strips) and the AVX2 / baseline copies of attention's column
// ops, the depthwise correlations and the 16-lane Philox; forward and every gradient against the
// float64 references (attention with dropout against an independent BigInt Philox mask).
import * as path from 'path';
import { Tensor, tensor } from '../../lib';
import { native } from '../../lib/native';
import { describeExit, runChild } from '../helpers/child';
import { philoxUniform } from '../helpers/reference';

test.each(['avx2', 'portable'])('conv and attention on the %s CPU kernel agree with float64', (kernel) => {
  const root = path.join(__dirname, '..', '..');
  const script = `
    const path = require('path');
    require(LIB);
    const { native } = require(path.join(LIB, 'native'));
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
  const r = runChild(script, { timeoutMs: 120000, env: { MAMBA_SPEECH_CPU_KERNEL: kernel } });
  if (r.status !== 0) throw new Error(`child failed: ${describeExit(r)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  if (kernel === 'portable' || process.arch === 'x64') expect(out.kernel).toBe(kernel);
  // float32 attention tolerance of test/ops/attention.test.ts (gradients: 3e-5).
  expect(out.worst).toBeLessThanOrEqual(3e-5);
}, 130000);

// The CPU draws dropout masks 16 Philox blocks at a time (core/philox_cpu.h: AVX-512, AVX2 or a
// plain loop): the words must equal the scalar generator's at any seed and offset, including a
// key with both 32-bit halves set and counters that carry into their upper 32 bits.
test.each([
  [77n, 0n],
  [(1n << 63n) + 12345n, (1n << 32n) - 5n],
  [0xfedcba9876543210n, 0xffffffffn * 3n + 1n],
])('CPU dropout masks match an independent BigInt Philox (seed %s, offset %s)', (seed, offset) => {
  const n = 1031; // 16 full groups of 64 elements and a partial one
  const x = tensor(Float32Array.from({ length: n }, (_, i) => 1 + (i % 7)), [n]);
  const y = new Tensor(native.dropout(x.handle('test'), 0.375, seed, offset)).dataSync();
  for (let i = 0; i < n; ++i) {
    const keep = philoxUniform(seed, offset, i) >= 0.375;
    const want = keep ? Math.fround(x.dataSync()[i] * Math.fround(1 / 0.625)) : 0;
    if (y[i] !== want) throw new Error(`element ${i}: ${y[i]} vs ${want}`);
  }
});
