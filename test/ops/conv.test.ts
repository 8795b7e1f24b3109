// conv1d / conv2d / convTranspose1d: forward and every gradient vs float64 references (plain
// scatter loops, independent of the im2col/gather kernels) on every device; gradCheck; every
// option (stride, padding incl. 'same'/'valid', dilation, groups, depthwise, output padding);
// the batch-chunked im2col path; bfloat16 on CUDA; PyTorch corner cases and errors.
import { DType, Device, gradCheck, memory, ops, Tensor, tensor, tidy, zeros } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { bf16Round, closeness, randomArray } from '../helpers/reference';

const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** One conv problem in conv2d terms (1-D: H = kh = 1). */
interface Geo { N: number; Cin: number; Cout: number; G: number; H: number; W: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; Ho: number; Wo: number }

interface Grads { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array }

/**
 * float64 conv and its gradients by scattering every (output, tap) product:
 * y[n, o, oy, ox] += w[o, c, ky, kx] x[n, g*cinG + c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw].
 * transposed: the same products with x and y swapped (x is the conv's output side).
 */
function reference(g: Geo, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, dy: ArrayLike<number>,
  transposed: boolean): Grads {
  const cinG = g.Cin / g.G, coutG = g.Cout / g.G;
  const big = new Float64Array(g.N * g.Cin * g.H * g.W);     // conv input side
  const small = new Float64Array(g.N * g.Cout * g.Ho * g.Wo); // conv output side
  const dBig = new Float64Array(big.length), dSmall = new Float64Array(small.length);
  const dw = new Float64Array(w.length);
  const bigIn = transposed ? null : x, smallIn = transposed ? x : null;
  const gradBig = transposed ? dy : null, gradSmall = transposed ? null : dy;
  for (let n = 0; n < g.N; ++n) for (let o = 0; o < g.Cout; ++o) {
    const grp = Math.floor(o / coutG);
    for (let c = 0; c < cinG; ++c) for (let ky = 0; ky < g.kh; ++ky) for (let kx = 0; kx < g.kw; ++kx) {
      const wi = ((o * cinG + c) * g.kh + ky) * g.kw + kx;
      for (let oy = 0; oy < g.Ho; ++oy) for (let ox = 0; ox < g.Wo; ++ox) {
        const iy = oy * g.sh - g.ph + ky * g.dh, ix = ox * g.sw - g.pw + kx * g.dw;
        if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
        const bi = ((n * g.Cin + grp * cinG + c) * g.H + iy) * g.W + ix;
        const si = ((n * g.Cout + o) * g.Ho + oy) * g.Wo + ox;
        if (bigIn) {
          small[si] += w[wi] * bigIn[bi];
          dBig[bi] += w[wi] * gradSmall![si];
          dw[wi] += bigIn[bi] * gradSmall![si];
        } else {
          big[bi] += w[wi] * smallIn![si];
          dSmall[si] += w[wi] * gradBig![bi];
          dw[wi] += smallIn![si] * gradBig![bi];
        }
      }
    }
  }
  const out = transposed ? big : small;
  const gOut = dy;
  const C = transposed ? g.Cin : g.Cout;
  const P = out.length / (g.N * C);
  const db = new Float64Array(C);
  for (let i = 0; i < out.length; ++i) {
    const ch = Math.floor(i / P) % C;
    if (b) out[i] += b[ch];
    db[ch] += gOut[i];
  }
  return { y: out, dx: transposed ? dSmall : dBig, dw, db };
}

type Kind = 'conv1d' | 'conv2d' | 'convT';
interface Case { kind: Kind; x: number[]; w: number[]; bias?: boolean; opts: Record<string, unknown>; geo: Geo }

function geo1(N: number, Cin: number, L: number, Cout: number, K: number, s = 1, p = 0, d = 1, G = 1, Lout?: number): Geo {
  const Lo = Lout ?? Math.floor((L + 2 * p - d * (K - 1) - 1) / s) + 1;
  return { N, Cin, Cout, G, H: 1, W: L, kh: 1, kw: K, sh: 1, sw: s, ph: 0, pw: p, dh: 1, dw: d, Ho: 1, Wo: Lo };
}

function c1(N: number, Cin: number, L: number, Cout: number, K: number, o: { s?: number; p?: number | 'same' | 'valid'; d?: number; G?: number; bias?: boolean } = {}): Case {
  const s = o.s ?? 1, d = o.d ?? 1, G = o.G ?? 1;
  const p = o.p === 'same' ? Math.floor(d * (K - 1) / 2) : o.p === 'valid' ? 0 : o.p ?? 0;
  const Lout = o.p === 'same' ? L : undefined;
  return { kind: 'conv1d', x: [N, Cin, L], w: [Cout, Cin / G, K], bias: o.bias, opts: { stride: s, padding: o.p ?? 0, dilation: d, groups: G },
    geo: geo1(N, Cin, L, Cout, K, s, p, d, G, Lout) };
}

function c2(N: number, Cin: number, H: number, W: number, Cout: number, k: [number, number], s: [number, number], p: [number, number],
  d: [number, number], G: number, bias = true): Case {
  const out = (i: number, kk: number, ss: number, pp: number, dd: number) => Math.floor((i + 2 * pp - dd * (kk - 1) - 1) / ss) + 1;
  return { kind: 'conv2d', x: [N, Cin, H, W], w: [Cout, Cin / G, ...k], bias, opts: { stride: s, padding: p, dilation: d, groups: G },
    geo: { N, Cin, Cout, G, H, W, kh: k[0], kw: k[1], sh: s[0], sw: s[1], ph: p[0], pw: p[1], dh: d[0], dw: d[1], Ho: out(H, k[0], s[0], p[0], d[0]), Wo: out(W, k[1], s[1], p[1], d[1]) } };
}

/** convTranspose1d x (N, Cin, L), w (Cin, Cout/G, K): the conv from (N, Cout, Lout) to (N, Cin, L). */
function ct(N: number, Cin: number, L: number, Cout: number, K: number, s = 1, p = 0, op = 0, d = 1, G = 1, bias = true): Case {
  const Lout = (L - 1) * s - 2 * p + d * (K - 1) + op + 1;
  const gc = geo1(N, Cout, Lout, Cin, K, s, p, d, G, L);
  return { kind: 'convT', x: [N, Cin, L], w: [Cin, Cout / G, K], bias, opts: { stride: s, padding: p, outputPadding: op, dilation: d, groups: G }, geo: gc };
}

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

function call(c: Case, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  if (c.kind === 'conv1d') return ops.conv1d(x, w, b, c.opts);
  if (c.kind === 'conv2d') return ops.conv2d(x, w, b, c.opts);
  return ops.convTranspose1d(x, w, b, c.opts);
}

/** closeness with atol relative to the largest reference value (sums of many products grow with sqrt(terms)). */
function check(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol: number, atol: number): void {
  let big = 1;
  for (let i = 0; i < want.length; ++i) big = Math.max(big, Math.abs(want[i]));
  const e = closeness(got, want, rtol, atol * big);
  if (!(e <= 1)) throw new Error(`${what}: closeness ${e}`);
}

function runCase(c: Case, device: Device, dtype: DType, rtol: number, atol: number): void {
  const round = dtype === 'bfloat16' ? bf16Round : Math.fround;
  const biasC = c.kind === 'convT' ? c.geo.Cin : c.geo.Cout;
  const xv = randomArray(prod(c.x)).map(round);
  const wv = randomArray(prod(c.w)).map(round);
  const bv = c.bias ? randomArray(biasC).map(Math.fround) : null;
  const x = tensor(Float32Array.from(xv), c.x, { device, dtype, requiresGrad: true });
  const w = tensor(Float32Array.from(wv), c.w, { device, dtype, requiresGrad: true });
  const b = bv ? tensor(Float32Array.from(bv), [biasC], { device, requiresGrad: true }) : null;
  const y = call(c, x, w, b);
  const dy = randomArray(y.size).map(round);
  const ref = reference(c.geo, xv, wv, bv, dy, c.kind === 'convT');
  expect(y.dtype).toBe(dtype);
  expect(y.size).toBe(ref.y.length);
  check(y.dataSync(), ref.y, 'y', rtol, atol);
  y.backward(tensor(Float32Array.from(dy), y.shape, { device, dtype }));
  check(x.grad!.dataSync(), ref.dx, 'dx', rtol, atol);
  check(w.grad!.dataSync(), ref.dw, 'dweight', rtol, atol * 4);
  if (b) check(b.grad!.dataSync(), ref.db, 'dbias', rtol, atol * 4);
}

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
