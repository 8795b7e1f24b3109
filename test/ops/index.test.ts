// Indexing ops: gather, indexSelect, embedding, scatterAdd, oneHot, cumsum — forward vs float64
// loops, gradients vs finite differences, determinism, index errors, CPU vs CUDA.
import { gradCheck, ops, tensor, Tensor } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const strides = (s: readonly number[]) => s.map((_, i) => size(s.slice(i + 1)));
/** Multi-index of flat position i in shape s. */
const unflat = (i: number, s: readonly number[]) => s.map((_, d) => Math.floor(i / strides(s)[d]) % s[d]);
const flat = (idx: number[], s: readonly number[]) => idx.reduce((a, v, d) => a + v * strides(s)[d], 0);
const randInts = (n: number, hi: number) => Int32Array.from({ length: n }, () => Math.floor(Math.random() * hi));
const randT = (shape: number[], device: 'cpu' | 'cuda', rg = false) => tensor(Float32Array.from(randomArray(size(shape))), shape, { device, requiresGrad: rg });

function gatherRef(x: ArrayLike<number>, xs: number[], dim: number, idx: ArrayLike<number>, is: number[]): number[] {
  return Array.from({ length: size(is) }, (_, i) => {
    const m = unflat(i, is);
    m[dim] = idx[i];
    return x[flat(m, xs)];
  });
}

function scatterRef(x: ArrayLike<number>, xs: number[], dim: number, idx: ArrayLike<number>, is: number[], src: ArrayLike<number>, ss: number[]): Float64Array {
  const out = Float64Array.from(x);
  for (let i = 0; i < size(is); ++i) {
    const m = unflat(i, is);
    const sv = src[flat(m, ss)];
    m[dim] = idx[i];
    out[flat(m, xs)] += sv;
  }
  return out;
}

describe.each(testDevices)('indexing on %s', (device) => {
  test.each([
    [[3, 5, 4], 1, [3, 7, 4]],
    [[3, 5, 4], 0, [2, 5, 4]],
    [[3, 5, 4], 2, [3, 5, 9]],
    [[6, 129], -1, [4, 33]],   // index smaller than x outside dim
    [[7], 0, [11]],
  ])('gather x %j dim %i index %j: values and gradient', (xs, dim, is) => {
    const d = dim < 0 ? dim + xs.length : dim;
    const x = randT(xs, device, true);
    const iv = randInts(size(is), xs[d]);
    const out = ops.gather(x, dim, tensor(iv, is, { device }));
    expect(out.shape).toEqual(is);
    expect(Array.from(out.dataSync())).toEqual(gatherRef(x.dataSync(), xs, d, iv, is));
    const w = Float32Array.from(randomArray(size(is)));
    ops.mul(out, tensor(w, is, { device })).sum().backward();
    // d/dx of sum(w * gather) scatters w back: duplicates add up.
    const want = scatterRef(new Float64Array(size(xs)), xs, d, iv, is, w, is);
    expect(closeness(x.grad!.dataSync(), want, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
  });

  test('gather of a non-contiguous view and of int32 data', () => {
    const x = randT([4, 6], device).transpose(0, 1); // (6, 4)
    const iv = randInts(12, 6);
    const out = ops.gather(x, 0, tensor(iv, [3, 4], { device }));
    expect(Array.from(out.dataSync())).toEqual(gatherRef(x.contiguous().dataSync(), [6, 4], 0, iv, [3, 4]));
    const xi = tensor(Int32Array.from([10, 11, 12, 13]), [4], { device });
    expect(Array.from(ops.gather(xi, 0, tensor(Int32Array.from([3, 3, 0]), [3], { device })).dataSync())).toEqual([13, 13, 10]);
  });

  test.each([[[5, 7, 3], 1], [[9, 4], 0], [[2, 3, 129], -1]] as const)('indexSelect x %j dim %i with repeats', (xs, dim) => {
    const d = dim < 0 ? dim + xs.length : dim;
    const x = randT([...xs], device, true);
    const iv = randInts(11, xs[d]);
    iv[0] = iv[1] = iv[2]; // repeats
    const out = ops.indexSelect(x, dim, tensor(iv, [11], { device }));
    const os = xs.map((n, i) => (i === d ? 11 : n));
    expect(out.shape).toEqual(os);
    const full = Int32Array.from({ length: size(os) }, (_, i) => iv[unflat(i, os)[d]]);
    expect(Array.from(out.dataSync())).toEqual(gatherRef(x.dataSync(), [...xs], d, full, os));
    out.sum().backward();
    const want = scatterRef(new Float64Array(size(xs)), [...xs], d, full, os, new Float64Array(size(os)).fill(1), os);
    expect(Array.from(x.grad!.dataSync())).toEqual(Array.from(want));
  });

  test('embedding: rows, deterministic scatter-add gradient, paddingIdx gets none', () => {
    const V = 37, D = 129, shape = [3, 700];
    const w = randT([V, D], device, true);
    const iv = randInts(size(shape), V);
    const idx = tensor(iv, shape, { device });
    const out = ops.embedding(idx, w, { paddingIdx: 5 });
    expect(out.shape).toEqual([3, 700, D]);
    const wv = w.dataSync();
    const ov = out.dataSync();
    for (const i of [0, 17, 2099]) expect(Array.from(ov.subarray(i * D, (i + 1) * D))).toEqual(Array.from(wv.subarray(iv[i] * D, (iv[i] + 1) * D)));
    const g = Float32Array.from(randomArray(size(shape) * D));
    const grads = [0, 1].map(() => {
      w.grad = null;
      ops.embedding(idx, w, { paddingIdx: -32 }).backward(tensor(g, [...shape, D], { device }));
      return w.grad!.dataSync();
    });
    expect(Array.from(grads[1])).toEqual(Array.from(grads[0])); // bitwise reproducible
    const want = new Float64Array(V * D);
    iv.forEach((v, n) => {
      if (v !== 5) for (let k = 0; k < D; ++k) want[v * D + k] += g[n * D + k];
    });
    expect(closeness(grads[0], want, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    expect(Array.from(grads[0].subarray(5 * D, 6 * D)).every((x) => x === 0)).toBe(true);
  });

  test.each([
    [[4, 6, 3], 1, [4, 9, 3], [4, 9, 3]],
    [[4, 6, 3], 0, [7, 2, 3], [8, 5, 3]],  // index smaller than x and src
    [[5], 0, [12], [12]],
  ])('scatterAdd x %j dim %i index %j src %j', (xs, dim, is, ss) => {
    const x = randT(xs, device);
    const src = randT(ss, device);
    const iv = randInts(size(is), xs[dim]);
    const out = ops.scatterAdd(x, dim, tensor(iv, is, { device }), src);
    expect(out.shape).toEqual(xs);
    expect(closeness(out.dataSync(), scatterRef(x.dataSync(), xs, dim, iv, is, src.dataSync(), ss), 1e-6, 1e-6)).toBeLessThanOrEqual(1);
  });

  test('cumsum along each dim, reverse-cumsum gradient, int32', () => {
    const xs = [3, 129, 5];
    const x = randT(xs, device, true);
    const xv = x.dataSync();
    for (const d of [0, 1, 2, -1]) {
      const dd = d < 0 ? d + 3 : d;
      const want = Array.from(xv, (_, i) => {
        const m = unflat(i, xs);
        let s = 0;
        for (let j = 0; j <= m[dd]; ++j) s += xv[flat(m.map((v, k) => (k === dd ? j : v)), xs)];
        return s;
      });
      expect(closeness(ops.cumsum(x, d).dataSync(), want, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    }
    const w = Float32Array.from(randomArray(size(xs)));
    ops.mul(ops.cumsum(x, 1), tensor(w, xs, { device })).sum().backward();
    const gw = Array.from(xv, (_, i) => {
      const m = unflat(i, xs);
      let s = 0;
      for (let j = m[1]; j < xs[1]; ++j) s += w[flat([m[0], j, m[2]], xs)];
      return s;
    });
    expect(closeness(x.grad!.dataSync(), gw, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    const xi = tensor(Int32Array.from([1, 2, 3, 2147483647]), [4], { device });
    expect(Array.from(ops.cumsum(xi, 0).dataSync())).toEqual([1, 3, 6, -2147483643]); // wraps like int32
  });

  test('oneHot: float32 rows, inferred numClasses', () => {
    const l = tensor(Int32Array.from([2, 0, 4, 4, 1, 3]), [2, 3], { device });
    const o = ops.oneHot(l, 6);
    expect(o.shape).toEqual([2, 3, 6]);
    expect(o.dtype).toBe('float32');
    expect(Array.from(o.dataSync())).toEqual(Array.from(l.dataSync()).flatMap((v) => Array.from({ length: 6 }, (_, c) => (c === v ? 1 : 0))));
    expect(ops.oneHot(l).shape).toEqual([2, 3, 5]);
  });

  test('shape, dtype and device errors name the op', () => {
    const x = randT([2, 5], device);
    expect(() => ops.gather(x, 1, tensor([[1, 2]], undefined, { device }))).toThrow('[gather] index must be int32, got float32');
    expect(() => ops.gather(x, 1, tensor(Int32Array.from([1]), [1], { device }))).toThrow('[gather] index (1) must have as many dims as x (2, 5)');
    expect(() => ops.gather(x, 1, tensor(Int32Array.from([1, 1, 1]), [3, 1], { device }))).toThrow('[gather] index (3, 1) is larger than x (2, 5) at dim 0');
    expect(() => ops.gather(x, 2, tensor(Int32Array.from([1]), [1, 1], { device }))).toThrow('[gather] dim 2 is out of range');
    expect(() => ops.embedding(tensor(Int32Array.from([0]), [1], { device }), x, { paddingIdx: 9 })).toThrow('[embedding] paddingIdx must be an integer in [-2, 1], got number 9');
    expect(() => ops.scatterAdd(x, 0, tensor(Int32Array.from([0]), [1, 1], { device }), randT([1, 1], device).to('bfloat16'))).toThrow('[scatterAdd] src is bfloat16 but x is float32');
  });
});

describe('index out of range (cpu: always checked, nothing written)', () => {
  const x = tensor([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], undefined, { device: 'cpu' });
  test.each([
    ['gather', () => ops.gather(x, 1, tensor(Int32Array.from([0, 7]), [1, 2], { device: 'cpu' })), '[gather] index 7 is out of range for dim 1 of size 5'],
    ['gather negative', () => ops.gather(x, -1, tensor(Int32Array.from([-1]), [1, 1], { device: 'cpu' })), '[gather] index -1 is out of range for dim 1 of size 5'],
    ['indexSelect', () => ops.indexSelect(x, 0, tensor(Int32Array.from([0, 2]), undefined, { device: 'cpu' })), '[indexSelect] index 2 is out of range for dim 0 of size 2'],
    ['embedding', () => ops.embedding(tensor(Int32Array.from([1, 5]), undefined, { device: 'cpu' }), x), '[embedding] index 5 is out of range for dim 0 of size 2'],
    ['scatterAdd', () => ops.scatterAdd(x, 0, tensor(Int32Array.from([3]), [1, 1], { device: 'cpu' }), tensor([[1]], undefined, { device: 'cpu' })), '[scatterAdd] index 3 is out of range for dim 0 of size 2'],
    ['oneHot', () => ops.oneHot(tensor(Int32Array.from([0, 3]), undefined, { device: 'cpu' }), 3), '[oneHot] label 3 is out of range for numClasses 3'],
  ] as const)('%s', (_, f, msg) => {
    expect(f).toThrow(msg);
  });
});

describe('indexing gradients vs finite differences (cpu)', () => {
  const x = () => tensor(Float32Array.from(randomArray(4 * 5 * 3)), [4, 5, 3], { requiresGrad: true });
  const idx = (shape: number[], hi: number) => tensor(randInts(size(shape), hi), shape);
  // Index tensors are made once per case: gradCheck calls fn many times.
  test.each([
    ['gather', () => { const i = idx([4, 6, 2], 5); return (t: Tensor) => ops.gather(t, 1, i); }],
    ['indexSelect', () => { const i = idx([5], 3); return (t: Tensor) => ops.indexSelect(t, 2, i); }],
    ['embedding', () => { const i = idx([3, 4], 4); return (t: Tensor) => ops.embedding(i, t.reshape([4, 15])); }],
    ['scatterAdd (x)', () => {
      const i = idx([3, 5, 3], 4);
      const src = tensor(Float32Array.from(randomArray(45)), [3, 5, 3]);
      return (t: Tensor) => ops.scatterAdd(t, 0, i, src);
    }],
    ['cumsum', () => (t: Tensor) => ops.cumsum(t, 1)],
  ] as const)('%s', (_, make) => {
    expect(gradCheck(make(), [x()]).worst).toBeLessThanOrEqual(1);
  });
  test('scatterAdd w.r.t. src (index smaller than src)', () => {
    const i = idx([2, 5, 3], 4);
    const base = tensor(Float32Array.from(randomArray(60)), [4, 5, 3]);
    const src = tensor(Float32Array.from(randomArray(3 * 6 * 3)), [3, 6, 3], { requiresGrad: true });
    expect(gradCheck((s) => ops.scatterAdd(base, 0, i, s), [src]).worst).toBeLessThanOrEqual(1);
  });
});

describeCuda('indexing cpu vs cuda', () => {
  test('gather / indexSelect / scatterAdd / cumsum / oneHot agree', () => {
    const xs = [7, 129, 5];
    const xv = Float32Array.from(randomArray(size(xs)));
    const iv = randInts(7 * 300 * 5, 129);
    const sv = Float32Array.from(randomArray(7 * 300 * 5));
    const sel = randInts(1000, 129);
    const res = (['cpu', 'cuda'] as const).map((device) => {
      const x = tensor(xv, xs, { device });
      const i = tensor(iv, [7, 300, 5], { device });
      return [
        ops.gather(x, 1, i).dataSync(),
        ops.indexSelect(x, 1, tensor(sel, [1000], { device })).dataSync(),
        ops.scatterAdd(x, 1, i, tensor(sv, [7, 300, 5], { device })).dataSync(),
        ops.cumsum(x, 1).dataSync(),
        ops.oneHot(tensor(sel, [1000], { device }), 129).dataSync(),
      ];
    });
    res[0].forEach((c, k) => expect(closeness(res[1][k], c, 1e-5, 1e-5)).toBeLessThanOrEqual(1));
  });

  test('embedding backward with few columns and many tokens (chunked) matches cpu, bitwise reproducible', () => {
    const V = 50, D = 64, N = 20000;
    const iv = randInts(N, V);
    const g = Float32Array.from(randomArray(N * D));
    const grads = (['cpu', 'cuda', 'cuda'] as const).map((device) => {
      const w = tensor(new Float32Array(V * D), [V, D], { device, requiresGrad: true });
      ops.embedding(tensor(iv, [N], { device }), w).backward(tensor(g, [N, D], { device }));
      return w.grad!.dataSync();
    });
    expect(closeness(grads[1], grads[0], 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    expect(Array.from(grads[2])).toEqual(Array.from(grads[1]));
  });

  test('out-of-range indices: bounds-safe by default, exact error with validation', () => {
    const x = tensor([[1, 2, 3, 4, 5]], undefined, { device: 'cuda' });
    const bad = tensor(Int32Array.from([1, 7]), [1, 2], { device: 'cuda' });
    expect(Array.from(ops.gather(x, 1, bad).dataSync())).toEqual([2, 0]);
    ops.setIndexValidation(true);
    try {
      expect(() => ops.gather(x, 1, bad)).toThrow('[gather] index 7 is out of range for dim 1 of size 5');
      expect(() => ops.oneHot(tensor(Int32Array.from([4]), [1], { device: 'cuda' }), 3)).toThrow('[oneHot] label 4 is out of range for numClasses 3');
    } finally {
      ops.setIndexValidation(false);
    }
  });
});
