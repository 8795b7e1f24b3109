// Every unary op: forward and native backward vs float64 formulas, and vs finite differences.
import { gradCheck, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is too coarse; integrate the series (|x| < 6) in float64.
  if (Math.abs(x) > 6) return Math.sign(x);
  let sum = x;
  let term = x;
  for (let n = 1; n < 200; ++n) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const sig = (x: number) => 1 / (1 + Math.exp(-x));

// name -> [op, f, f', domain]
type Case = [(x: Tensor) => Tensor, (x: number) => number, (x: number) => number, [number, number]];
const cases: Record<string, Case> = {
  neg: [ops.neg, (x) => -x, () => -1, [-5, 5]],
  abs: [ops.abs, Math.abs, (x) => Math.sign(x), [-5, 5]],
  square: [ops.square, (x) => x * x, (x) => 2 * x, [-5, 5]],
  exp: [ops.exp, Math.exp, Math.exp, [-5, 5]],
  log: [ops.log, Math.log, (x) => 1 / x, [0.1, 10]],
  log1p: [ops.log1p, Math.log1p, (x) => 1 / (1 + x), [-0.9, 10]],
  expm1: [ops.expm1, Math.expm1, Math.exp, [-5, 5]],
  sqrt: [ops.sqrt, Math.sqrt, (x) => 0.5 / Math.sqrt(x), [0.1, 10]],
  rsqrt: [ops.rsqrt, (x) => 1 / Math.sqrt(x), (x) => -0.5 * x ** -1.5, [0.1, 10]],
  reciprocal: [ops.reciprocal, (x) => 1 / x, (x) => -1 / (x * x), [0.5, 10]],
  sin: [ops.sin, Math.sin, Math.cos, [-5, 5]],
  cos: [ops.cos, Math.cos, (x) => -Math.sin(x), [-5, 5]],
  tanh: [ops.tanh, Math.tanh, (x) => 1 - Math.tanh(x) ** 2, [-5, 5]],
  sigmoid: [ops.sigmoid, sig, (x) => sig(x) * (1 - sig(x)), [-8, 8]],
  relu: [ops.relu, (x) => Math.max(x, 0), (x) => (x > 0 ? 1 : 0), [-5, 5]],
  leakyRelu: [(x) => ops.leakyRelu(x, 0.2), (x) => (x > 0 ? x : 0.2 * x), (x) => (x > 0 ? 1 : 0.2), [-5, 5]],
  gelu: [(x) => ops.gelu(x), (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI), [-5, 5]],
  geluTanh: [(x) => ops.gelu(x, 'tanh'), (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    (x) => {
      const k = Math.sqrt(2 / Math.PI);
      const t = Math.tanh(k * (x + 0.044715 * x ** 3));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
    }, [-5, 5]],
  silu: [ops.silu, (x) => x * sig(x), (x) => sig(x) * (1 + x * (1 - sig(x))), [-8, 8]],
  softplus: [(x) => ops.softplus(x), (x) => (x > 20 ? x : Math.log1p(Math.exp(x))), (x) => (x > 20 ? 1 : sig(x)), [-10, 30]],
  softplusBeta: [(x) => ops.softplus(x, 2, 5), (x) => (2 * x > 5 ? x : Math.log1p(Math.exp(2 * x)) / 2), (x) => (2 * x > 5 ? 1 : sig(2 * x)), [-5, 5]],
  clamp: [(x) => ops.clamp(x, -1, 2), (x) => Math.min(Math.max(x, -1), 2), (x) => (x < -1 || x > 2 ? 0 : 1), [-5, 5]],
  clampMin: [(x) => ops.clamp(x, 0.5), (x) => Math.max(x, 0.5), (x) => (x < 0.5 ? 0 : 1), [-5, 5]],
  powScalar: [(x) => ops.pow(x, 2.5), (x) => x ** 2.5, (x) => 2.5 * x ** 1.5, [0.1, 4]],
};

describe.each(testDevices)('unary ops on %s', (device) => {
  describe.each(Object.keys(cases))('%s', (name) => {
    const [op, f, df, [lo, hi]] = cases[name];
    test.each([1, 7, 129, 2049])('forward and backward vs float64 (n = %i)', (n) => {
      const x = Float32Array.from(randomArray(n), (u) => lo + ((u + 1) / 2) * (hi - lo));
      const xt = tensor(x, [n], { device, requiresGrad: true });
      const y = op(xt);
      const ref = Float64Array.from(x, f);
      // float32 math: a few ulp, plus the cancellation float32 formulas have near zeros of f
      // (gelu at -5 is -1.4e-6, computed as x * (1 + erf) with erf near -1): atol 1e-6.
      expect(closeness(y.dataSync(), ref, 4e-6, 1e-6)).toBeLessThanOrEqual(1);
      const g = Float32Array.from(randomArray(n));
      y.backward(tensor(g, [n], { device }));
      const dref = Float64Array.from(x, (v, i) => g[i] * df(v));
      expect(closeness(xt.grad!.dataSync(), dref, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    });
  });

  test('bfloat16 inputs compute in float32 and round once', () => {
    const x = tensor([0.5, -1.25, 3], undefined, { device, dtype: 'bfloat16' });
    const y = ops.exp(x).dataSync();
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const bf = (v: number) => { f32[0] = v; const b = u32[0]; u32[0] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16; return f32[0]; };
    expect(Array.from(y)).toEqual([0.5, -1.25, 3].map((v) => bf(Math.fround(Math.exp(v)))));
  });

  test('int32: neg/abs/sign/square work, math ops refuse', () => {
    const x = tensor(new Int32Array([-3, 0, 5]), undefined, { device });
    expect(Array.from(ops.neg(x).dataSync())).toEqual([3, 0, -5]);
    expect(Array.from(ops.abs(x).dataSync())).toEqual([3, 0, 5]);
    expect(Array.from(ops.square(x).dataSync())).toEqual([9, 0, 25]);
    expect(() => ops.exp(x)).toThrow("[exp] needs float32 or bfloat16 input, got int32; convert with .to('float32')");
  });
});

test('finite differences agree with the native backward (default device)', () => {
  for (const name of ['tanh', 'gelu', 'silu', 'softplus', 'log', 'sqrt', 'sigmoid']) {
    const [op, , , [lo, hi]] = cases[name];
    const x = tensor(Float32Array.from(randomArray(9), (u) => lo + ((u + 1) / 2) * (hi - lo) * 0.5 + 0.05), [3, 3], {
      device: 'cpu', requiresGrad: true,
    });
    const r = gradCheck(op, [x]);
    expect({ name, ok: r.ok, worst: r.worst }).toEqual({ name, ok: true, worst: r.worst });
  }
});

test('bad parameters are refused', () => {
  const x = tensor([1, 2]);
  expect(() => ops.clamp(x, 3, 1)).toThrow('[clamp] min 3 is greater than max 1');
  expect(() => ops.softplus(x, 0)).toThrow('[softplus] beta must be > 0, got 0');
  expect(() => ops.gelu(x, 'fast' as never)).toThrow("[gelu] approximate must be 'none' or 'tanh'");
});
