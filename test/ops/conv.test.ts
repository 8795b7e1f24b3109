// conv1d / conv2d / convTranspose1d: forward and every gradient vs float64 references (plain
// scatter loops, independent of the im2col/gather kernels) on every device; gradCheck; every
// option (stride, padding incl. 'same'/'valid', dilation, groups, depthwise, output padding);
// the batch-chunked im2col path; bfloat16 on CUDA; PyTorch corner cases and errors.
import { Device, gradCheck, memory, ops, tensor, tidy, zeros } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { randomArray } from '../helpers/reference';
import { c1, c2, Case, check, ct, prod, runCase } from './conv_helpers';

const cases: [string, Case][] = [
  ['conv1d k=1 L=1', c1(1, 1, 1, 1, 1, { bias: true })],
  ['conv1d HuBERT layer 0 (k=10, s=5, Cin=1)', c1(2, 1, 400, 8, 10, { s: 5 })],
  ['conv1d HuBERT layer 1 (k=3, s=2)', c1(2, 8, 79, 7, 3, { s: 2, bias: true })],
  ['conv1d odd channels, pad 2, dilation 3', c1(3, 5, 33, 7, 4, { p: 2, d: 3, bias: true })],
  ["conv1d 'same' even kernel", c1(2, 3, 17, 5, 4, { p: 'same', bias: true })],
  ["conv1d 'same' dilation 2", c1(1, 3, 12, 2, 3, { p: 'same', d: 2 })],
  ["conv1d 'valid'", c1(2, 4, 9, 3, 3, { p: 'valid' })],
  ['conv1d groups=2', c1(2, 6, 20, 4, 3, { G: 2, p: 1, bias: true })],
  ['conv1d groups=3 stride 2', c1(1, 9, 21, 6, 5, { G: 3, s: 2, p: 3 })],
  ["conv1d depthwise k=31 'same' (Conformer)", c1(2, 7, 129, 7, 31, { G: 7, p: 'same', bias: true })],
  ['conv1d depthwise multiplier 2, stride 2', c1(2, 3, 19, 6, 4, { G: 3, s: 2, p: 1, d: 2, bias: true })],
  ['conv1d padding > kernel', c1(1, 2, 3, 3, 2, { p: 4 })],
  ['conv2d subsampling (k=3, s=2, Cin=1)', c2(2, 1, 15, 13, 5, [3, 3], [2, 2], [0, 0], [1, 1], 1)],
  ['conv2d odd everything', c2(1, 3, 7, 8, 4, [3, 2], [2, 1], [1, 0], [1, 2], 1)],
  ['conv2d groups=2', c2(2, 4, 6, 5, 6, [2, 3], [1, 2], [1, 1], [2, 1], 2, false)],
  ['conv2d depthwise', c2(1, 3, 9, 7, 3, [3, 3], [1, 1], [1, 1], [1, 1], 3)],
  ['convT s=2 p=1 op=1', ct(2, 4, 7, 3, 5, 2, 1, 1)],
  ['convT k=1 L=1', ct(1, 1, 1, 1, 1)],
  ['convT padding > kernel', ct(1, 3, 7, 2, 3, 3, 4, 0, 1, 1)],
  ['convT op >= stride (op < dilation)', ct(2, 2, 6, 3, 3, 1, 1, 1, 2, 1)],
  ['convT groups=2', ct(2, 4, 5, 6, 3, 2, 0, 0, 1, 2)],
  ['convT depthwise', ct(2, 5, 9, 5, 4, 2, 1, 0, 1, 5)],
];

describe.each(testDevices)('convolutions on %s', (device) => {
  test.each(cases)('%s: forward and gradients vs float64', (_n, c) => runCase(c, device, 'float32', 1e-4, 1e-4));

  test('output shapes follow PyTorch', () => {
    const o = { device };
    expect(ops.conv1d(zeros([2, 3, 16000], o), zeros([4, 3, 10], o), null, { stride: 5 }).shape).toEqual([2, 4, 3199]);
    expect(ops.conv1d(zeros([1, 2, 10], o), zeros([2, 1, 4], o), null, { padding: 'same', groups: 2 }).shape).toEqual([1, 2, 10]);
    expect(ops.conv2d(zeros([1, 1, 80, 101], o), zeros([2, 1, 3, 3], o), null, { stride: 2 }).shape).toEqual([1, 2, 39, 50]);
    expect(ops.convTranspose1d(zeros([1, 2, 5], o), zeros([2, 3, 4], o), null, { stride: 3, padding: 1, outputPadding: 2 }).shape).toEqual([1, 3, 16]);
    expect(ops.conv1d(zeros([0, 3, 9], o), zeros([4, 3, 3], o)).shape).toEqual([0, 4, 7]);
  });

  test('non-contiguous x: a (B, L, C) activation transposed to (B, C, L), gradient back through the view', () => {
    const av = Float32Array.from(randomArray(2 * 9 * 4));
    const wv = Float32Array.from(randomArray(4 * 1 * 5));
    const a = tensor(av, [2, 9, 4], { device, requiresGrad: true });
    const w = tensor(wv, [4, 1, 5], { device });
    const y = ops.conv1d(ops.transpose(a, 1, 2), w, null, { padding: 'same', groups: 4 });
    const xc = tensor(av, [2, 9, 4], { device }).transpose(1, 2).contiguous();
    expect(Array.from(y.dataSync())).toEqual(Array.from(ops.conv1d(xc, w, null, { padding: 'same', groups: 4 }).dataSync()));
    y.sum().backward();
    expect(a.grad!.shape).toEqual([2, 9, 4]);
    // d sum(y) / d x[n, c, l] = sum of the taps of channel c that reach l
    const g = a.grad!.dataSync();
    for (let c = 0; c < 4; ++c) {
      let s = 0;
      for (let k = 0; k < 5; ++k) s += wv[c * 5 + k];
      expect(g[4 * 4 + c]).toBeCloseTo(s, 5); // l = 4: every tap reaches it
    }
  });

  test('hand-computed PyTorch values', () => {
    const o = { device };
    // conv_transpose1d([[[1, 2]]], [[[1, 10, 100]]], stride=2): each input scatters a scaled kernel
    const x = tensor([[[1, 2]]], undefined, o);
    const w = tensor([[[1, 10, 100]]], undefined, o);
    expect(Array.from(ops.convTranspose1d(x, w, null, { stride: 2 }).dataSync())).toEqual([1, 10, 102, 20, 200]);
    expect(Array.from(ops.convTranspose1d(x, w, tensor([0.5], undefined, o), { stride: 2, padding: 1 }).dataSync())).toEqual([10.5, 102.5, 20.5]);
    // conv1d([[[1, 2, 3, 4]]], [[[1, 10]]], padding=1, stride=2) = [0*1+1*10, 2*1+3*10, 4*1+0*10]
    expect(Array.from(ops.conv1d(tensor([[[1, 2, 3, 4]]], undefined, o), w.reshape([1, 1, 3]).contiguous(), null).dataSync())).toEqual([321, 432]);
    expect(Array.from(ops.conv1d(tensor([[[1, 2, 3, 4]]], undefined, o), tensor([[[1, 10]]], undefined, o), null, { padding: 1, stride: 2 }).dataSync())).toEqual([10, 32, 4]);
  });

  test('a batch too big for one im2col buffer runs in chunks with the same result', () => {
    const c = c1(5, 4, 23, 6, 3, { s: 2, p: 1, bias: true });
    const c2g = c2(3, 4, 6, 7, 4, [3, 3], [1, 2], [1, 1], [1, 1], 2);
    process.env.MAMBA_SPEECH_CONV_COL_BUDGET = '100';
    try {
      runCase(c, device, 'float32', 1e-4, 1e-4);
      runCase(c2g, device, 'float32', 1e-4, 1e-4);
    } finally {
      delete process.env.MAMBA_SPEECH_CONV_COL_BUDGET;
    }
  });

  test('gradCheck: conv1d, conv2d, convTranspose1d, depthwise', () => {
    const r = (s: number[]) => tensor(Float32Array.from(randomArray(prod(s))), s, { device, requiresGrad: true });
    const o = { atol: 2e-3, rtol: 2e-2 };
    expect(gradCheck((x, w, b) => ops.conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2, groups: 2 }), [r([2, 4, 9]), r([4, 2, 3]), r([4])], o).worst).toBeLessThanOrEqual(1);
    expect(gradCheck((x, w, b) => ops.conv1d(x, w, b, { padding: 'same', groups: 3 }), [r([1, 3, 8]), r([3, 1, 5]), r([3])], o).worst).toBeLessThanOrEqual(1);
    expect(gradCheck((x, w, b) => ops.conv2d(x, w, b, { stride: [2, 1], padding: [1, 0] }), [r([1, 2, 5, 4]), r([3, 2, 3, 2]), r([3])], o).worst).toBeLessThanOrEqual(1);
    expect(gradCheck((x, w, b) => ops.convTranspose1d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }), [r([2, 4, 4]), r([4, 1, 3]), r([2])], o).worst).toBeLessThanOrEqual(1);
  });

  test('bfloat16 inputs are computed in float32 and rounded once more', () => {
    runCase(cases[2][1], device, 'bfloat16', 2 ** -7, 2e-2);
    runCase(cases[9][1], device, 'bfloat16', 2 ** -7, 2e-2);
  });

  test('bad input gives [op] errors naming the shapes', () => {
    const o = { device };
    const x = zeros([2, 4, 10], o);
    expect(() => ops.conv1d(x, zeros([6, 2, 3], o), null, { groups: 3 })).toThrow('[conv1d] groups = 3 must divide the input channels (4) of x (2, 4, 10)');
    expect(() => ops.conv1d(x, zeros([5, 2, 3], o), null, { groups: 2 })).toThrow('[conv1d] groups = 2 must divide the output channels (5) of weight (5, 2, 3)');
    expect(() => ops.conv1d(x, zeros([8, 3, 5], o))).toThrow('[conv1d] weight (8, 3, 5) expects Cin/groups = 3 (Cin = 3 with groups = 1) but x (2, 4, 10) has Cin = 4');
    expect(() => ops.conv1d(x, zeros([8, 4, 12], o))).toThrow('[conv1d] the padded input length (10 + 0 padding) is shorter than the dilated kernel (12 = 1 x (12 - 1) + 1)');
    expect(() => ops.conv1d(x, zeros([8, 4, 3], o), null, { padding: 'same', stride: 2 })).toThrow("[conv1d] padding 'same' needs stride 1, got stride 2");
    expect(() => ops.conv1d(x, zeros([8, 4, 3], o), zeros([7], o))).toThrow('[conv1d] bias must have shape (8), got (7)');
    expect(() => ops.conv1d(zeros([4, 10], o), zeros([8, 4, 3], o))).toThrow('[conv1d] x must have shape (N, Cin, L), got (4, 10)');
    expect(() => ops.conv1d(x, zeros([8, 4, 3], o), null, { stride: 0 })).toThrow('[conv1d] stride must be an integer >= 1, got number 0');
    expect(() => ops.conv2d(zeros([1, 2, 5, 5], o), zeros([3, 2, 3, 3], o), null, { padding: [1, -1] })).toThrow('[conv2d] padding must be an integer >= 0, got number -1');
    expect(() => ops.conv2d(zeros([1, 2, 5, 5], o), zeros([3, 2, 3, 7], o))).toThrow('[conv2d] the padded input width (5 + 0 padding) is shorter than the dilated kernel (7 = 1 x (7 - 1) + 1)');
    expect(() => ops.convTranspose1d(x, zeros([4, 2, 3], o), null, { stride: 2, outputPadding: 2 })).toThrow('[convTranspose1d] outputPadding (2) must be smaller than either stride (2) or dilation (1)');
    expect(() => ops.convTranspose1d(zeros([1, 4, 2], o), zeros([4, 2, 3], o), null, { padding: 3 })).toThrow('[convTranspose1d] output length (2 - 1) x 1 - 2 x 3 + 1 x (3 - 1) + 0 + 1 = -2 must be >= 1; padding 3 is too large');
    expect(() => ops.convTranspose1d(x, zeros([3, 2, 3], o))).toThrow('[convTranspose1d] weight (3, 2, 3) is for Cin = 3 input channels but x (2, 4, 10) has 4');
    expect(() => ops.conv1d(tensor([1], [1, 1, 1], { device, dtype: 'int32' }), zeros([1, 1, 1], o))).toThrow('[conv1d] inputs must be float32 or bfloat16, got int32');
  });

  test('forward + backward leave no tensors behind', () => {
    const x = tensor(Float32Array.from(randomArray(2 * 4 * 9)), [2, 4, 9], { device, requiresGrad: true });
    const w = tensor(Float32Array.from(randomArray(6 * 2 * 3)), [6, 2, 3], { device, requiresGrad: true });
    const before = memory().tensors;
    tidy(() => ops.conv1d(x, w, null, { groups: 2 }).sum().backward());
    tidy(() => ops.convTranspose1d(x, zeros([4, 3, 2], { device }), null, { stride: 2 }).sum().backward());
    x.grad!.dispose();
    w.grad!.dispose();
    x.grad = null;
    w.grad = null;
    expect(memory().tensors).toBe(before);
  });
});

describeCuda('convolutions in bfloat16 on cuda (tensor-core GEMMs, float32 accumulation)', () => {
  test.each(cases.filter(([n]) => !n.includes('L=1')))('%s', (_n, c) => runCase(c, 'cuda', 'bfloat16', 2 ** -6, 3e-2));

  test('cpu and cuda agree on a HuBERT-sized float32 layer', () => {
    const xv = Float32Array.from(randomArray(2 * 64 * 999));
    const wv = Float32Array.from(randomArray(96 * 64 * 3));
    const y = (device: Device) => ops.conv1d(tensor(xv, [2, 64, 999], { device }), tensor(wv, [96, 64, 3], { device }), null, { stride: 2 }).dataSync();
    check(y('cuda'), y('cpu'), 'conv1d', 1e-4, 1e-4);
  });
});
