// layerNorm / rmsNorm / groupNorm / batchNorm: forward and every gradient vs float64 references
// (plain loops) on every device, the references' gradients vs float64 finite differences,
// gradCheck of the ops, running statistics, bfloat16 on CUDA, errors, no leaked tensors.
import { DType, Device, gradCheck, memory, ops, Tensor, tensor, tidy, zeros } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { bf16Round, closeness, randomArray } from '../helpers/reference';

type Kind = 'layer' | 'rms' | 'group' | 'batch';
interface Case { kind: Kind; shape: number[]; k?: number; G?: number; w?: boolean; b?: boolean; training?: boolean }
interface Ref { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array; rm?: Float64Array; rv?: Float64Array }

const prod = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** x as (N, C, S) with G groups, as the op sees it. */
function layout(c: Case): { N: number; C: number; S: number; G: number } {
  if (c.kind === 'layer' || c.kind === 'rms') {
    const k = c.k ?? 1;
    return { N: prod(c.shape.slice(0, c.shape.length - k)), C: prod(c.shape.slice(c.shape.length - k)), S: 1, G: 1 };
  }
  return { N: c.shape[0], C: c.shape[1], S: prod(c.shape.slice(2)), G: c.kind === 'group' ? c.G! : 1 };
}

/** float64 forward and analytic backward; batch norm also returns the updated running stats. */
function reference(c: Case, x: ArrayLike<number>, w: ArrayLike<number> | null, b: ArrayLike<number> | null, dy: ArrayLike<number>,
  eps: number, run?: { m: ArrayLike<number>; v: ArrayLike<number>; momentum: number }): Ref {
  const { N, C, S, G } = layout(c);
  const n = N * C * S;
  const y = new Float64Array(n), dx = new Float64Array(n), dw = new Float64Array(C), db = new Float64Array(C);
  const W = (ch: number) => (w ? w[ch] : 1);
  const B = (ch: number) => (b ? b[ch] : 0);
  // Statistic sets: lists of element indices sharing one mean/rstd.
  const sets: number[][] = [];
  const chanOf = (i: number) => Math.floor(i / S) % C;
  if (c.kind === 'batch') {
    for (let ch = 0; ch < C; ++ch) {
      const idx: number[] = [];
      for (let nn = 0; nn < N; ++nn) for (let s = 0; s < S; ++s) idx.push((nn * C + ch) * S + s);
      sets.push(idx);
    }
  } else {
    const M = (C / G) * S;
    for (let r = 0; r < N * G; ++r) sets.push(Array.from({ length: M }, (_, j) => r * M + j));
  }
  const rm = run ? Float64Array.from(run.m) : undefined, rv = run ? Float64Array.from(run.v) : undefined;
  sets.forEach((idx, si) => {
    const M = idx.length;
    let mean = 0, v = 0;
    if (c.kind === 'batch' && c.training === false) {
      mean = run!.m[si];
      v = run!.v[si];
    } else {
      if (c.kind !== 'rms') mean = idx.reduce((s, i) => s + x[i], 0) / M;
      v = idx.reduce((s, i) => s + (x[i] - mean) ** 2, 0) / M;
      if (rm && rv) {
        rm[si] = (1 - run!.momentum) * rm[si] + run!.momentum * mean;
        rv[si] = (1 - run!.momentum) * rv[si] + run!.momentum * v * M / (M - 1);
      }
    }
    const rs = 1 / Math.sqrt(v + eps);
    let a = 0, bb = 0;
    for (const i of idx) {
      const xh = (x[i] - mean) * rs;
      y[i] = xh * W(chanOf(i)) + B(chanOf(i));
      dw[chanOf(i)] += dy[i] * xh;
      db[chanOf(i)] += dy[i];
      const g = dy[i] * W(chanOf(i));
      a += g;
      bb += g * xh;
    }
    const frozen = c.kind === 'batch' && c.training === false;
    for (const i of idx) {
      const g = dy[i] * W(chanOf(i));
      const xh = (x[i] - mean) * rs;
      dx[i] = frozen ? rs * g : rs * (g - (c.kind === 'rms' ? 0 : a / M) - xh * bb / M);
    }
  });
  return { y, dx, dw, db, rm, rv };
}

function callOp(c: Case, x: Tensor, w: Tensor | null, b: Tensor | null, eps: number, rm?: Tensor, rv?: Tensor): Tensor {
  const ns = c.shape.slice(c.shape.length - (c.k ?? 1));
  switch (c.kind) {
    case 'layer': return ops.layerNorm(x, ns, w, b, eps);
    case 'rms': return ops.rmsNorm(x, ns, w, eps);
    case 'group': return ops.groupNorm(x, c.G!, w, b, eps);
    case 'batch': return ops.batchNorm(x, rm, rv, w, b, { training: c.training ?? true, eps, momentum: 0.3 });
  }
}

const cases: [string, Case][] = [
  ['layer (1, 1)', { kind: 'layer', shape: [1, 1], w: true, b: true }],
  ['layer (7, 129) no affine', { kind: 'layer', shape: [7, 129] }],
  ['layer (2, 3, 4, 5) over [4, 5]', { kind: 'layer', shape: [2, 3, 4, 5], k: 2, w: true, b: true }],
  ['layer (3, 2049) long rows', { kind: 'layer', shape: [3, 2049], w: true, b: true }],
  ['layer (129, 7) many rows', { kind: 'layer', shape: [129, 7], w: true }],
  ['rms (7, 129)', { kind: 'rms', shape: [7, 129], w: true }],
  ['rms (2, 2049) no weight', { kind: 'rms', shape: [2, 2049] }],
  ['group (2, 6, 7) G=3', { kind: 'group', shape: [2, 6, 7], G: 3, w: true, b: true }],
  ['group (3, 8, 5, 3) G=2', { kind: 'group', shape: [3, 8, 5, 3], G: 2, w: true, b: true }],
  ['group (1, 4, 1) G=4 (instance)', { kind: 'group', shape: [1, 4, 1], G: 4, w: true, b: true }],
  ['group (2, 5, 300) G=1 no affine', { kind: 'group', shape: [2, 5, 300], G: 1 }],
  ['batch (7, 3) training', { kind: 'batch', shape: [7, 3], w: true, b: true }],
  ['batch (2, 5, 129) training', { kind: 'batch', shape: [2, 5, 129], w: true, b: true }],
  ['batch (3, 4, 2, 3) training no affine', { kind: 'batch', shape: [3, 4, 2, 3] }],
  ['batch (2, 5, 129) eval', { kind: 'batch', shape: [2, 5, 129], w: true, b: true, training: false }],
  ['batch (1, 3, 1) eval', { kind: 'batch', shape: [1, 3, 1], w: true, training: false }],
];

function check(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol: number, atol: number): void {
  const e = closeness(got, want, rtol, atol);
  if (!(e <= 1)) throw new Error(`${what}: closeness ${e}`);
}

function runCase(c: Case, device: Device, dtype: DType, rtol: number, atol: number): void {
  const { C } = layout(c);
  const round = dtype === 'bfloat16' ? bf16Round : Math.fround;
  const xv = randomArray(prod(c.shape), 2).map((v, i) => round(v + (i % 3)));  // a non-zero mean
  const wv = c.w ? randomArray(C).map(Math.fround) : null;
  const bv = c.b ? randomArray(C).map(Math.fround) : null;
  const dy = randomArray(prod(c.shape)).map(round);
  const run = c.kind === 'batch' ? { m: randomArray(C).map(Math.fround), v: randomArray(C).map((v) => Math.fround(Math.abs(v) + 0.5)), momentum: 0.3 } : undefined;
  const eps = 1e-5;
  const ref = reference(c, xv, wv, bv, dy, eps, run);
  const wshape = c.kind === 'layer' || c.kind === 'rms' ? c.shape.slice(c.shape.length - (c.k ?? 1)) : [C];
  const x = tensor(Float32Array.from(xv), c.shape, { device, dtype, requiresGrad: true });
  const w = wv ? tensor(Float32Array.from(wv), wshape, { device, requiresGrad: true }) : null;
  const b = bv ? tensor(Float32Array.from(bv), wshape, { device, requiresGrad: true }) : null;
  const rm = run ? tensor(Float32Array.from(run.m), [C], { device }) : undefined;
  const rv = run ? tensor(Float32Array.from(run.v), [C], { device }) : undefined;
  const y = callOp(c, x, w, b, eps, rm, rv);
  expect(y.dtype).toBe(dtype);
  check(y.dataSync(), ref.y, 'y', rtol, atol);
  y.backward(tensor(Float32Array.from(dy), c.shape, { device, dtype }));
  check(x.grad!.dataSync(), ref.dx, 'dx', rtol, atol * 4);
  if (w) check(w.grad!.dataSync(), ref.dw, 'dweight', rtol, atol * Math.sqrt(prod(c.shape) / C) * 4);
  if (b) check(b.grad!.dataSync(), ref.db, 'dbias', rtol, atol * Math.sqrt(prod(c.shape) / C) * 4);
  if (ref.rm) {
    check(rm!.dataSync(), ref.rm, 'runningMean', rtol, atol);
    check(rv!.dataSync(), ref.rv!, 'runningVar', rtol, atol);
  }
}

describe.each(testDevices)('norms on %s', (device) => {
  test.each(cases)('%s: forward, gradients and running stats vs float64', (_n, c) => runCase(c, device, 'float32', 1e-4, 2e-5));

  test('bfloat16 x (widened on the cpu): output in bfloat16, statistics in float32', () => {
    for (const i of [3, 8, 12]) runCase(cases[i][1], device, 'bfloat16', 2 ** -7, 2e-2);
  });

  test('gradCheck: every op, every input', () => {
    const r = (s: number[], scale = 1) => tensor(Float32Array.from(randomArray(prod(s), scale)), s, { device, requiresGrad: true });
    const opts = { atol: 2e-3, rtol: 2e-2 };
    expect(gradCheck((x, w, b) => ops.layerNorm(x, [5], w, b), [r([3, 5]), r([5]), r([5])], opts).worst).toBeLessThanOrEqual(1);
    expect(gradCheck((x, w) => ops.rmsNorm(x, [2, 3], w), [r([2, 2, 3]), r([2, 3])], opts).worst).toBeLessThanOrEqual(1);
    expect(gradCheck((x, w, b) => ops.groupNorm(x, 2, w, b), [r([2, 4, 3]), r([4]), r([4])], opts).worst).toBeLessThanOrEqual(1);
    expect(gradCheck((x, w, b) => ops.batchNorm(x, null, null, w, b, { training: true }), [r([3, 2, 4]), r([2]), r([2])], opts).worst).toBeLessThanOrEqual(1);
    const rm = zeros([2], { device });
    const rv = tensor([1.5, 0.7], [2], { device });
    expect(gradCheck((x, w, b) => ops.batchNorm(x, rm, rv, w, b), [r([3, 2, 4]), r([2]), r([2])], opts).worst).toBeLessThanOrEqual(1);
  });

  test('non-contiguous x (a transposed view) normalises the same values', () => {
    const xv = Float32Array.from(randomArray(3 * 5 * 4));
    const xt = tensor(xv, [3, 5, 4], { device }).transpose(1, 2); // (3, 4, 5) view
    const a = ops.layerNorm(xt, [5]).dataSync();
    const b = ops.layerNorm(xt.contiguous(), [5]).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const g1 = ops.groupNorm(xt, 2).dataSync();
    const g2 = ops.groupNorm(xt.contiguous(), 2).dataSync();
    expect(Array.from(g1)).toEqual(Array.from(g2));
  });

  test('batchNorm eval reads the running stats and leaves them; PyTorch numbers', () => {
    const x = tensor([[1, 2], [3, 6]], undefined, { device });
    const rm = tensor([0, 0], [2], { device });
    const rv = tensor([1, 1], [2], { device });
    // training: mean (2, 4), biased var (1, 4), unbiased (2, 8); momentum 0.1
    const y = ops.batchNorm(x, rm, rv, null, null, { training: true, eps: 0 });
    expect(Array.from(y.dataSync())).toEqual([-1, -1, 1, 1]);
    check(rm.dataSync(), [0.2, 0.4], 'runningMean', 1e-6, 1e-7);
    check(rv.dataSync(), [1.1, 1.7], 'runningVar', 1e-6, 1e-7);
    const e = ops.batchNorm(x, rm, rv, null, null, { eps: 0 });
    check(e.dataSync(), [0.8 / Math.sqrt(1.1), 1.6 / Math.sqrt(1.7), 2.8 / Math.sqrt(1.1), 5.6 / Math.sqrt(1.7)], 'eval y', 1e-6, 1e-7);
    check(rm.dataSync(), [0.2, 0.4], 'runningMean unchanged', 1e-6, 1e-7);
  });

  test('bad input gives clear errors naming the shapes', () => {
    const o = { device };
    const x = zeros([2, 6, 5], o);
    expect(() => ops.layerNorm(x, [6])).toThrow('[layerNorm] normalizedShape (6) must match the trailing dims of x (2, 6, 5)');
    expect(() => ops.layerNorm(x, [5], zeros([6], o))).toThrow('[layerNorm] weight must have shape (5) for x (2, 6, 5), got (6)');
    expect(() => ops.rmsNorm(x, [])).toThrow('[rmsNorm] normalizedShape () must match the trailing dims of x (2, 6, 5)');
    expect(() => ops.groupNorm(x, 4)).toThrow('[groupNorm] numGroups = 4 must divide the channels C = 6 of x (2, 6, 5)');
    expect(() => ops.groupNorm(zeros([6], o), 2)).toThrow('[groupNorm] x must have shape (N, C, ...), got (6)');
    expect(() => ops.batchNorm(x)).toThrow('[batchNorm] eval mode (training: false) needs runningMean and runningVar');
    expect(() => ops.batchNorm(x, zeros([6], o))).toThrow('[batchNorm] pass both runningMean and runningVar, or neither');
    expect(() => ops.batchNorm(zeros([1, 3], o), null, null, null, null, { training: true })).toThrow('[batchNorm] expected more than 1 value per channel when training, got x (1, 3)');
    expect(() => ops.batchNorm(x, zeros([5], o), zeros([5], o))).toThrow('[batchNorm] runningMean must have shape (6) for x (2, 6, 5), got (5)');
    expect(() => ops.layerNorm(tensor([1, 2], [2], { device, dtype: 'int32' }), [2])).toThrow('[layerNorm] x must be float32 or bfloat16, got int32');
  });

  test('forward + backward leave no tensors behind', () => {
    const x = tensor(Float32Array.from(randomArray(24)), [2, 3, 4], { device, requiresGrad: true });
    const w = tensor(Float32Array.from(randomArray(3)), [3], { device, requiresGrad: true });
    const before = memory().tensors;
    tidy(() => ops.groupNorm(x, 3, w, w).sum().backward());
    tidy(() => ops.layerNorm(x, [4]).sum().backward());
    x.grad!.dispose();
    w.grad!.dispose();
    x.grad = null;
    w.grad = null;
    expect(memory().tensors).toBe(before);
  });
});

describe('norm reference backward vs float64 central differences', () => {
  test.each(cases.filter(([, c]) => prod(c.shape) <= 200))('%s', (_n, c) => {
    const { C } = layout(c);
    const xv = randomArray(prod(c.shape), 2);
    const wv = c.w ? randomArray(C) : null;
    const bv = c.b ? randomArray(C) : null;
    const dy = randomArray(prod(c.shape));
    const run = c.kind === 'batch' ? { m: randomArray(C), v: randomArray(C).map((v) => Math.abs(v) + 0.5), momentum: 0.3 } : undefined;
    const loss = () => reference(c, xv, wv, bv, dy, 1e-5, run).y.reduce((s, v, i) => s + v * dy[i], 0);
    const ref = reference(c, xv, wv, bv, dy, 1e-5, run);
    const pairs: [Float64Array, Float64Array][] = [[xv, ref.dx]];
    if (wv) pairs.push([wv, ref.dw]);
    if (bv) pairs.push([bv, ref.db]);
    for (const [arr, grad] of pairs) {
      const fd = arr.map((v0, i) => {
        arr[i] = v0 + 1e-6;
        const lp = loss();
        arr[i] = v0 - 1e-6;
        const lm = loss();
        arr[i] = v0;
        return (lp - lm) / 2e-6;
      });
      expect(closeness(grad, fd, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    }
  });
});

describeCuda('norms in bfloat16 on cuda (float32 statistics)', () => {
  test.each(cases.filter(([n]) => !n.includes('(1, 1)')))('%s', (_n, c) => runCase(c, 'cuda', 'bfloat16', 2 ** -7, 2e-2));

  test('cpu and cuda agree in float32', () => {
    const xv = Float32Array.from(randomArray(4 * 64 * 300));
    const y = (device: Device) => ops.groupNorm(tensor(xv, [4, 64, 300], { device }), 8).dataSync();
    check(y('cuda'), y('cpu'), 'groupNorm', 1e-5, 1e-5);
  });
});
