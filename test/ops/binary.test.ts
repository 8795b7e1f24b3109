// sub/div/pow/minimum/maximum/comparisons/where vs float64, broadcasting gradients.
import { gradCheck, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { broadcastApply, closeness, randomArray } from '../helpers/reference';

const pairs: [number[], number[]][] = [[[7], [7]], [[129, 7], [7]], [[3, 1, 5], [1, 4, 1]], [[2, 3], []], [[2049], [1]],
  // row / column broadcasts on either side (the CUDA fast layouts), scalar first
  [[7], [129, 7]], [[129, 1], [129, 7]], [[129, 7], [129, 1]], [[], [2049]]];
const fns: Record<string, [(a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number, number]> = {
  sub: [ops.sub, (x, y) => x - y, 0],
  div: [ops.div, (x, y) => x / y, 0.5],
  pow: [ops.pow, (x, y) => x ** y, 0.1],
  minimum: [ops.minimum, Math.min, 0],
  maximum: [ops.maximum, Math.max, 0],
  eq: [ops.eq, (x, y) => +(x === y), 0],
  ne: [ops.ne, (x, y) => +(x !== y), 0],
  lt: [ops.lt, (x, y) => +(x < y), 0],
  le: [ops.le, (x, y) => +(x <= y), 0],
  gt: [ops.gt, (x, y) => +(x > y), 0],
  ge: [ops.ge, (x, y) => +(x >= y), 0],
};

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

describe.each(testDevices)('binary ops on %s', (device) => {
  describe.each(Object.keys(fns))('%s', (name) => {
    const [op, f, positive] = fns[name];
    test.each(pairs)('%j with %j vs float64', (sa, sb) => {
      const mk = (n: number) => Float32Array.from(randomArray(n, 3), (v) => (positive ? Math.abs(v) + positive : Math.round(v * 2) / 2));
      const a = mk(size(sa));
      const b = mk(size(sb));
      const ref = broadcastApply(a, sa, b, sb, f);
      const out = op(tensor(a, sa, { device }), tensor(b, sb, { device }));
      expect(out.shape).toEqual(ref.shape);
      expect(closeness(out.dataSync(), ref.data, 4e-7, 1e-30)).toBeLessThanOrEqual(1);
    });
  });

  test('number operands on either side', () => {
    const x = tensor([1, 2, 4], undefined, { device });
    expect(Array.from(ops.sub(10, x).dataSync())).toEqual([9, 8, 6]);
    expect(Array.from(ops.div(1, x).dataSync())).toEqual([1, 0.5, 0.25]);
    expect(Array.from(ops.pow(2, x).dataSync())).toEqual([2, 4, 16]);
    expect(Array.from(ops.sub(x, 1).dataSync())).toEqual([0, 1, 3]);
  });

  test('minimum/maximum propagate NaN', () => {
    const a = tensor([NaN, 1, 2], undefined, { device });
    const b = tensor([0, NaN, 1], undefined, { device });
    expect(Array.from(ops.maximum(a, b).dataSync()).map(Number.isNaN)).toEqual([true, true, false]);
  });

  test('where broadcasts condition and operands; masks of any dtype', () => {
    const c = tensor(new Int32Array([1, 0, 1]), [3, 1], { device });
    const a = tensor([[1, 2], [3, 4], [5, 6]], undefined, { device });
    const out = ops.where(c, a, -1);
    expect(out.toArray()).toEqual([[1, 2], [-1, -1], [5, 6]]);
    const m = ops.gt(a, 3);
    expect(ops.maskedFill(a, m, 0).toArray()).toEqual([[1, 2], [3, 0], [0, 0]]);
  });

  test('gradients of broadcast operands sum back to their shapes', () => {
    const a = tensor(Float32Array.from(randomArray(12)), [3, 4], { device, requiresGrad: true });
    const b = tensor(Float32Array.from(randomArray(4), (v) => v + 2), [4], { device, requiresGrad: true });
    const y = ops.div(ops.mul(a, b), ops.add(b, 1));
    y.sum().backward();
    const av = a.dataSync();
    const bv = b.dataSync();
    const ga = a.grad!.dataSync();
    const gb = b.grad!.dataSync();
    for (let i = 0; i < 12; ++i) expect(ga[i]).toBeCloseTo(bv[i % 4] / (bv[i % 4] + 1), 5);
    for (let j = 0; j < 4; ++j) {
      let s = 0;
      for (let i = 0; i < 3; ++i) s += av[i * 4 + j];
      expect(gb[j]).toBeCloseTo(s / (bv[j] + 1) ** 2, 4);
    }
  });
});

describe('binary gradients vs finite differences (default device)', () => {
  const r = (shape: number[], shift = 0) =>
    tensor(Float32Array.from(randomArray(size(shape)), (v) => v + shift), shape, { requiresGrad: true });
  test.each([
    ['sub', (a: Tensor, b: Tensor) => ops.sub(a, b), 0],
    ['mul', (a: Tensor, b: Tensor) => ops.mul(a, b), 0],
    ['div', (a: Tensor, b: Tensor) => ops.div(a, b), 3],
    ['pow', (a: Tensor, b: Tensor) => ops.pow(a, b), 3],
    ['maximum', (a: Tensor, b: Tensor) => ops.maximum(a, b), 0],
    ['where', (a: Tensor, b: Tensor) => ops.where(ops.gt(a, 0), a, b), 0],
  ] as const)('%s', (_, f, shift) => {
    // maximum and where have kinks (a = b, a = 0): draw until every pair is > 0.05 away from
    // one, so the eps = 1e-2 difference quotient never straddles it.
    let a: Tensor, b: Tensor;
    for (;;) {
      a = r([2, 3], shift);
      b = r([3], shift);
      const av = a.dataSync(), bv = b.dataSync();
      if (Array.from(av).every((v, i) => Math.abs(v - bv[i % 3]) > 0.05 && Math.abs(v) > 0.05)) break;
    }
    const res = gradCheck(f, [a, b]);
    expect(res.worst).toBeLessThanOrEqual(1);
  });
});

test('int32 division and mixed dtypes are refused', () => {
  const i = tensor(new Int32Array([1, 2]));
  expect(() => ops.div(i, i)).toThrow("[div] needs float32 or bfloat16 inputs, got int32; convert with .to('float32')");
  expect(() => ops.sub(i, tensor([1, 2]))).toThrow('[sub] inputs have different dtypes: int32 and float32');
});
