// add/mul with broadcasting vs a float64 reference, on every device and dtype.
import { add, mul, ops, tensor, zeros } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { bf16Round, broadcastApply, maxRelError, randomArray } from '../helpers/reference';

// Shape pairs: same shape, scalar, trailing vector, middle broadcast, both-sided broadcast,
// size-1 dims, 0-size dims, odd sizes and one large enough to take the threaded path.
const shapePairs: [number[], number[]][] = [
  [[7], [7]],
  [[1], [1]],
  [[129, 7], [7]],
  [[7, 1, 5], [1, 3, 1]],
  [[2, 3, 4], []],
  [[], [2, 3, 4]],
  [[3, 1], [1, 129]],
  [[2, 0, 3], [3]],
  [[1, 1, 1], [7]],
  [[5, 1, 7, 1], [3, 1, 2]],
  [[2049, 129], [129]],
  [[2049, 129], [2049, 1]],
  [[33, 2049], [33, 2049]],
  // the CUDA fast layouts: a row or a column broadcast on either side
  [[7], [2049, 7]],
  [[2049, 1], [2049, 33]],
  [[3, 5, 1], [3, 5, 129]],
];

const fns = { add: (x: number, y: number) => x + y, mul: (x: number, y: number) => x * y };

describe.each(testDevices)('add/mul on %s', (device) => {
  describe.each(['add', 'mul'] as const)('%s', (name) => {
    const op = name === 'add' ? add : mul;
    test.each(shapePairs)('float32 %j with %j', (sa, sb) => {
      const na = sa.reduce((p, d) => p * d, 1);
      const nb = sb.reduce((p, d) => p * d, 1);
      const a = Float32Array.from(randomArray(na, 10));
      const b = Float32Array.from(randomArray(nb, 10));
      const ref = broadcastApply(a, sa, b, sb, fns[name]);
      const out = op(tensor(a, sa, { device }), tensor(b, sb, { device }));
      expect(out.shape).toEqual(ref.shape);
      // One float32 rounding of an exact float64 result: <= 2^-24 relative.
      expect(maxRelError(out.dataSync(), ref.data, 1e-30)).toBeLessThanOrEqual(2 ** -24);
    });

    test.each(shapePairs)('bfloat16 %j with %j rounds once', (sa, sb) => {
      const na = sa.reduce((p, d) => p * d, 1);
      const nb = sb.reduce((p, d) => p * d, 1);
      const a = Float32Array.from(randomArray(na, 10), bf16Round);
      const b = Float32Array.from(randomArray(nb, 10), bf16Round);
      const ref = broadcastApply(a, sa, b, sb, (x, y) => bf16Round(Math.fround(fns[name](x, y))));
      const out = op(tensor(a, sa, { device, dtype: 'bfloat16' }), tensor(b, sb, { device, dtype: 'bfloat16' }));
      expect(out.dtype).toBe('bfloat16');
      expect(Array.from(out.dataSync())).toEqual(Array.from(ref.data));
    });

    test('int32 wraps like two\'s complement', () => {
      const a = new Int32Array([2147483647, -5, 7, 1 << 30]);
      const b = new Int32Array([1, 3, -9, 4]);
      const out = op(tensor(a, undefined, { device }), tensor(b, undefined, { device })).dataSync();
      const expected = Array.from(a, (x, i) => (name === 'add' ? (x + b[i]) | 0 : Math.imul(x, b[i])));
      expect(Array.from(out)).toEqual(expected);
    });

    test('a number operand takes the tensor dtype', () => {
      const a = Float32Array.from(randomArray(129));
      const out = op(tensor(a, undefined, { device }), 2.5).dataSync();
      for (let i = 0; i < a.length; ++i) expect(out[i]).toBe(Math.fround(fns[name](a[i], 2.5)));
      const ai = op(tensor(new Int32Array([1, 2]), undefined, { device }), 3).dataSync();
      expect(Array.from(ai)).toEqual([fns[name](1, 3), fns[name](2, 3)]);
    });
  });

  test('method and ops namespace forms agree', () => {
    const a = tensor([1, 2, 3], undefined, { device });
    expect(Array.from(a.add(1).mul(2).dataSync())).toEqual([4, 6, 8]);
    expect(Array.from(ops.mul(ops.add(a, 1), 2).dataSync())).toEqual([4, 6, 8]);
  });

  test('errors name the op and both shapes or dtypes', () => {
    const a = zeros([2, 3], { device });
    expect(() => add(a, zeros([4], { device }))).toThrow(
      '[add] shapes (2, 3) and (4) cannot be broadcast: dim 1 (aligned from the right) is 3 vs 4',
    );
    expect(() => mul(a, zeros([3], { device, dtype: 'int32' }))).toThrow(
      '[mul] inputs have different dtypes: float32 and int32',
    );
    expect(() => add(zeros([2], { device, dtype: 'int32' }), 0.5)).toThrow(
      '[add] cannot combine an int32 tensor with the non-int32 number 0.5',
    );
    expect(() => add(a, 'x' as never)).toThrow('[add] b must be a Tensor or a number, got string x');
    expect(() => add([1] as never, a)).toThrow('[add] a must be a Tensor, got an array');
  });
});

describeCuda('add/mul cpu vs cuda', () => {
  test('mixing devices is refused with the devices named', () => {
    expect(() => add(zeros([2], { device: 'cpu' }), zeros([2], { device: 'cuda' }))).toThrow(
      "[add] inputs are on different devices: cpu and cuda; move one with .to()",
    );
  });

  test('same inputs, same results on both devices', () => {
    for (const [sa, sb] of shapePairs) {
      const na = sa.reduce((p, d) => p * d, 1);
      const nb = sb.reduce((p, d) => p * d, 1);
      const a = tensor(Float32Array.from(randomArray(na)), sa, { device: 'cpu' });
      const b = tensor(Float32Array.from(randomArray(nb)), sb, { device: 'cpu' });
      const c = mul(add(a, b), b).dataSync();
      const g = mul(add(a.to('cuda'), b.to('cuda')), b.to('cuda')).dataSync();
      expect(Array.from(g)).toEqual(Array.from(c));
    }
  });
});
