// Convolutions at sizes that cross every tile of the CPU implicit GEMM (conv_cpu.cpp): Kc over one
// K slice (256), Cout over one A block (144 rows), positions over one B block (512) and one dx
// tile (256), strips that straddle output rows and padding edges, groups, the pointwise dx path,
// the depthwise correlation path with multiplier 2 and dilation; forward and every gradient
// against the float64 reference. Then: CPU results are bitwise the same for 1, 2 and 3 threads.
import { ops, setNumThreads, buildInfo, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { randomArray } from '../helpers/reference';
import { c1, c2, Case, ct, prod, runCase } from './conv_helpers';

const cases: [string, Case][] = [
  ['conv1d Kc 261 (two K slices), Cout 149 (two A blocks), pad 4', c1(2, 29, 140, 149, 9, { p: 4, bias: true })],
  ['conv1d pointwise, L 600 (two B blocks; dx straight into x grad)', c1(2, 7, 600, 33, 1, { bias: true })],
  ['conv1d k 3 s 2 over 519 positions (three dx tiles), one item', c1(1, 13, 1039, 17, 3, { s: 2 })],
  ['conv2d 3x3 s2 pad 1: strips across rows and edges, 320 positions', c2(2, 5, 40, 31, 13, [3, 3], [2, 2], [1, 1], [1, 1], 1)],
  ['conv2d Cin 1 (the subsampling front end) 1 x 37 x 29 -> 129 channels', c2(3, 1, 37, 29, 129, [3, 3], [2, 2], [0, 0], [1, 1], 1)],
  ['conv2d groups 3, dilation 2, padding 2, stride (1, 2)', c2(2, 6, 17, 15, 9, [3, 3], [1, 2], [2, 2], [2, 2], 3)],
  ["depthwise 'same' k 5, multiplier 2, dilation 3 (correlation path)", c1(3, 4, 37, 8, 5, { G: 4, p: 'same', d: 3, bias: true })],
  ["depthwise k 31 'same' over 7 frames (kernel wider than the row)", c1(2, 3, 7, 3, 31, { G: 3, p: 'same', bias: true })],
  ['convTranspose1d depthwise, stride 1, dilation 2 (the correlation path with a bias)', ct(2, 5, 9, 5, 4, 1, 1, 0, 2, 5)],
  ['convTranspose1d k 4 s 2 through the implicit GEMM, 150 -> 300 positions', ct(2, 17, 150, 11, 4, 2, 1)],
];

describe.each(testDevices)('convolution tiles on %s', (device) => {
  test.each(cases)('%s: forward and gradients vs float64', (_n, c) => runCase(c, device, 'float32', 1e-4, 1e-4));
});

test('CPU conv forward and gradients are bitwise the same for 1, 2 and 3 threads', () => {
  const before = buildInfo().threads;
  const run = (c: Case, v: Float32Array[]) => {
    const x = tensor(v[0], c.x, { requiresGrad: true });
    const w = tensor(v[1], c.w, { requiresGrad: true });
    const b = tensor(v[2], [c.w[0]], { requiresGrad: true });
    const y = c.kind === 'conv2d' ? ops.conv2d(x, w, b, c.opts) : ops.conv1d(x, w, b, c.opts);
    y.backward(tensor(v[3].subarray(0, y.size), y.shape));
    const out = [y, x.grad!, w.grad!, b.grad!].map((t: Tensor) => Array.from(t.dataSync()));
    for (const t of [x, w, b, y]) t.dispose();
    return out;
  };
  try {
    for (const [name, c] of [cases[0], cases[3], cases[6]]) {
      const v = [prod(c.x), prod(c.w), c.w[0], 1 << 16].map((n) => Float32Array.from(randomArray(n)));
      setNumThreads(1);
      const want = run(c, v);
      for (const n of [2, 3]) {
        setNumThreads(n);
        const got = run(c, v);
        got.forEach((g, k) => g.forEach((v, i) => {
          if (v !== want[k][i]) throw new Error(`${name}, ${n} threads: output ${k} element ${i} ${v} vs ${want[k][i]}`);
        }));
      }
    }
  } finally {
    setNumThreads(before);
  }
});
