// Views and copies: values by index arithmetic, view-ness (shared memory), gradients.
import { gradCheck, memory, ops, tensor, Tensor, tidy } from '../../lib';
import { native } from '../../lib/native';
import { testDevices } from '../helpers/devices';
import { randomArray } from '../helpers/reference';

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const iota = (shape: number[], device: 'cpu' | 'cuda') => tensor(Float32Array.from({ length: size(shape) }, (_, i) => i), shape, { device });
const shares = (a: Tensor, b: Tensor) => a._h!.sharesMemoryWith(b._h!);

describe.each(testDevices)('shape ops on %s', (device) => {
  test('reshape of a contiguous tensor is a view; -1 is inferred', () => {
    const x = iota([2, 3, 4], device);
    const y = ops.reshape(x, [4, -1]);
    expect(y.shape).toEqual([4, 6]);
    expect(shares(x, y)).toBe(true);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(() => ops.reshape(x, [5, -1])).toThrow('[reshape] cannot reshape (2, 3, 4) (24 elements) into (5, -1)');
    expect(() => ops.reshape(x, [-1, -1])).toThrow('[reshape] only one dim can be -1');
  });

  test('permute/transpose are views with the right element order; reshape after copies', () => {
    const x = iota([2, 3, 4], device);
    const p = ops.permute(x, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(shares(x, p)).toBe(true);
    const v = p.dataSync();
    for (let a = 0; a < 4; ++a) for (let b = 0; b < 2; ++b) for (let c = 0; c < 3; ++c) expect(v[a * 6 + b * 3 + c]).toBe(b * 12 + c * 4 + a);
    const r = ops.reshape(p, [8, 3]);
    expect(shares(r, x)).toBe(false);
    expect(Array.from(r.dataSync())).toEqual(Array.from(v));
    expect(ops.transpose(iota([3, 2], device)).toArray()).toEqual([[0, 2, 4], [1, 3, 5]]);
  });

  test('slice with step, negative bounds, narrow, flip (negative strides)', () => {
    const x = iota([10], device);
    expect(Array.from(ops.slice(x, 0, 1, 9, 3).dataSync())).toEqual([1, 4, 7]);
    expect(Array.from(ops.slice(x, 0, -3).dataSync())).toEqual([7, 8, 9]);
    expect(Array.from(ops.slice(x, 0, 8, 2).dataSync())).toEqual([]);
    expect(Array.from(ops.narrow(x, 0, 2, 3).dataSync())).toEqual([2, 3, 4]);
    const m = iota([3, 4], device);
    expect(ops.flip(m, [0, 1]).toArray()).toEqual([[11, 10, 9, 8], [7, 6, 5, 4], [3, 2, 1, 0]]);
    expect(ops.slice(ops.flip(m, 1), 1, 1, 3).toArray()).toEqual([[2, 1], [6, 5], [10, 9]]);
  });

  test('squeeze/unsqueeze/flatten/expand', () => {
    const x = iota([3, 1, 2], device);
    expect(ops.squeeze(x).shape).toEqual([3, 2]);
    expect(ops.unsqueeze(x, -1).shape).toEqual([3, 1, 2, 1]);
    expect(ops.flatten(iota([2, 3, 4], device), 1).shape).toEqual([2, 12]);
    const e = ops.expand(iota([3, 1], device), [2, 3, 4]);
    expect(e.shape).toEqual([2, 3, 4]);
    expect(e.toArray()).toEqual([0, 1].map(() => [0, 1, 2].map((i) => [i, i, i, i])));
    expect(() => ops.expand(iota([3, 2], device), [3, 4])).toThrow('[expand] x (3, 2) cannot be expanded to (3, 4): dim 1 is 2, not 1');
    // Ops read strided inputs directly: a transposed add needs no copy first.
    const t = ops.transpose(iota([2, 3], device));
    expect(ops.add(t, 1).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
  });

  test('concat/stack/split/chunk', () => {
    const a = iota([2, 3], device);
    const b = ops.add(iota([2, 2], device), 100);
    expect(ops.concat([a, b], 1).toArray()).toEqual([[0, 1, 2, 100, 101], [3, 4, 5, 102, 103]]);
    expect(ops.stack([a, a], 1).shape).toEqual([2, 2, 3]);
    const parts = ops.split(iota([7], device), 3);
    expect(parts.map((p) => Array.from(p.dataSync()))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(ops.chunk(iota([6], device), 4).map((p) => p.size)).toEqual([2, 2, 2]);
    expect(() => ops.concat([a, iota([3, 3], device)], 1)).toThrow('[concat] tensors[1] has shape (3, 3), which does not match (2, 3) outside dim 1');
    expect(() => ops.split(iota([7], device), [3, 3])).toThrow('[split] sizes [3, 3] sum to 6, but dim 0 has 7');
  });

  test('pad constant and reflect (PyTorch order), repeat', () => {
    const x = iota([2, 3], device);
    expect(ops.pad(x, [1, 2], 'constant', -1).toArray()).toEqual([[-1, 0, 1, 2, -1, -1], [-1, 3, 4, 5, -1, -1]]);
    expect(ops.pad(x, [2, 1], 'reflect').toArray()).toEqual([[2, 1, 0, 1, 2, 1], [5, 4, 3, 4, 5, 4]]);
    expect(ops.pad(x, [0, 0, 1, 0]).toArray()).toEqual([[0, 0, 0], [0, 1, 2], [3, 4, 5]]);
    expect(() => ops.pad(x, [3, 0], 'reflect')).toThrow('[pad] reflect padding (3, 0) must be smaller than dim 1 of size 3');
    expect(ops.repeat(iota([2], device), [2, 3]).toArray()).toEqual([[0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1]]);
  });

  test('views keep their storage alive after the base is disposed', () => {
    const before = memory().bytes[device];
    const x = iota([4, 4], device);
    const v = tidy(() => ops.slice(ops.transpose(x), 0, 1, 3)); // the transpose view is freed
    x.dispose();
    expect(v.toArray()).toEqual([[1, 5, 9, 13], [2, 6, 10, 14]]);
    v.dispose();
    expect(memory().bytes[device]).toBe(before);
  });

  test('the native view is bounds-checked', () => {
    const x = iota([4], device);
    expect(() => native.view(x._h!, [5], [1], 0)).toThrow('[view] view (5) with strides (1) at offset 0 reaches elements [0, 4] outside the storage of 4');
    expect(() => native.view(x._h!, [2], [-1], 0)).toThrow(/outside the storage/);
  });
});

describe('shape gradients vs finite differences (default device)', () => {
  const x = () => tensor(Float32Array.from(randomArray(24)), [2, 3, 4], { requiresGrad: true });
  const w = tensor(Float32Array.from(randomArray(24)), [24]);
  test.each([
    ['permute + reshape', (t: Tensor) => ops.reshape(ops.permute(t, [2, 0, 1]), [4, 6])],
    ['slice with step', (t: Tensor) => ops.slice(t, 2, 0, 4, 2)],
    ['flip', (t: Tensor) => ops.mul(ops.flip(t, [0, 2]), ops.reshape(w, [2, 3, 4]))],
    ['expand', (t: Tensor) => ops.expand(ops.slice(t, 1, 0, 1), [5, 2, 3, 4])],
    ['concat', (t: Tensor) => ops.concat([t, ops.mul(t, 2)], 1)],
    ['split', (t: Tensor) => ops.mul(ops.split(t, [1, 3], 2)[1], 3)],
    ['pad reflect', (t: Tensor) => ops.pad(t, [2, 1], 'reflect')],
    ['pad constant', (t: Tensor) => ops.pad(t, [1, 1, 2, 0], 'constant', 5)],
    ['repeat', (t: Tensor) => ops.repeat(t, [1, 2, 1, 2])],
    ['glu', (t: Tensor) => ops.glu(t, -1)],
  ] as const)('%s', (_, f) => {
    expect(gradCheck(f, [x()]).worst).toBeLessThanOrEqual(1);
  });
});

test('contiguous returns the same tensor when there is nothing to copy', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ops: o, tensor: t } = require('../../lib') as typeof import('../../lib');
  const x = t([[1, 2], [3, 4]]);
  expect(o.contiguous(x)).toBe(x);
  const y = o.transpose(x);
  const c = o.contiguous(y);
  expect(c).not.toBe(y);
  expect(c.toArray()).toEqual([[1, 3], [2, 4]]);
});

describe.each(testDevices)('contiguous copies of permuted, transposed and expanded views on %s', (device) => {
  // The CPU copies a transposed plane in 32 x 32 tiles (sizes here cross and straddle tiles); every
  // element must land where a plain index walk puts it, in every dtype.
  const walk = (data: ArrayLike<number>, shape: number[], perm: number[]): number[] => {
    const st = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const out: number[] = [];
    const ps = perm.map((d) => shape[d]);
    const n = ps.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; ++i) {
      let r = i, off = 0;
      for (let d = ps.length - 1; d >= 0; --d) { off += (r % ps[d]) * st[perm[d]]; r = Math.floor(r / ps[d]); }
      out.push(data[off]);
    }
    return out;
  };
  test.each([
    [[600, 576], [1, 0]], [[7, 129, 33], [0, 2, 1]], [[33, 7, 129], [2, 1, 0]], [[2, 3, 40, 9], [0, 3, 1, 2]], [[5, 64, 3, 8], [0, 2, 1, 3]], [[31, 33], [1, 0]],
  ] as [number[], number[]][])('%j permuted %j: float32, bf16 and int32', (shape, perm) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = Array.from({ length: n }, (_, i) => (i % 251) - 125);
    for (const dtype of ['float32', 'bfloat16', 'int32'] as const) {
      const x = tensor(dtype === 'int32' ? Int32Array.from(vals) : Float32Array.from(vals), shape, { device, dtype });
      const c = ops.contiguous(ops.permute(x, perm));
      expect(c.shape).toEqual(perm.map((d) => shape[d]));
      expect(Array.from(c.dataSync())).toEqual(walk(vals, shape, perm));
    }
  });
  test('an expanded (stride-0) dim and a transposed slice copy correctly', () => {
    const x = tensor(Float32Array.from({ length: 40 * 3 }, (_, i) => i), [40, 3], { device });
    const e = ops.expand(ops.reshape(ops.transpose(x), [3, 40, 1]), [3, 40, 50]); // last dim stride 0
    const c = ops.contiguous(ops.transpose(e, 1, 2)).dataSync(); // (3, 50, 40)
    for (let a = 0; a < 3; ++a) for (let b = 0; b < 50; ++b) for (let k = 0; k < 40; ++k) if (c[(a * 50 + b) * 40 + k] !== k * 3 + a) throw new Error(`at ${a},${b},${k}`);
    const s = ops.slice(ops.transpose(tensor(Float32Array.from({ length: 100 * 70 }, (_, i) => i), [100, 70], { device })), 0, 5, 65); // (60, 100), offset view
    const sc = s.contiguous().dataSync();
    for (let r = 0; r < 60; ++r) for (let q = 0; q < 100; ++q) expect(sc[r * 100 + q]).toBe(q * 70 + r + 5);
  });
});
