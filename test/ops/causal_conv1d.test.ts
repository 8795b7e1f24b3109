// causalConv1d forward and every gradient vs the float64 reference on every device; the
// reference's gradient vs central finite differences; errors. Metric: err() in scan_cases.ts.
import { causalConv1d, CausalConv1dOptions, Device, DType, Tensor, tensor, zeros } from '../../lib';
import { causalConv1dRef } from '../../lib/ops/causal_conv1d_ref';
import { describeCuda, testDevices } from '../helpers/devices';
import { bf16Round } from '../helpers/reference';
import { err, uniform } from './scan_cases';

interface ConvCase {
  B: number; D: number; L: number; W: number;
  bias?: boolean; silu?: boolean; init?: boolean; final?: boolean; lengths?: number[];
}

function values(c: ConvCase, dtype: DType = 'float32') {
  const r = dtype === 'bfloat16' ? bf16Round : Math.fround;
  return {
    x: uniform(c.B * c.D * c.L, -1, 1).map(r),
    w: uniform(c.D * c.W, -1, 1).map(Math.fround),
    b: c.bias ? uniform(c.D, -1, 1).map(Math.fround) : null,
    init: c.init ? uniform(c.B * c.D * (c.W - 1), -1, 1).map(Math.fround) : null,
  };
}

function run(c: ConvCase, v: ReturnType<typeof values>, device: Device, dtype: DType, dout: Float64Array, dfinal: Float64Array | null) {
  const rg = { device, requiresGrad: true };
  const leaves: Record<string, Tensor> = {
    x: tensor(Float32Array.from(v.x), [c.B, c.D, c.L], { ...rg, dtype }),
    weight: tensor(Float32Array.from(v.w), [c.D, c.W], rg),
  };
  if (v.b) leaves.bias = tensor(Float32Array.from(v.b), [c.D], rg);
  if (v.init) leaves.initialState = tensor(Float32Array.from(v.init), [c.B, c.D, c.W - 1], rg);
  const opts: CausalConv1dOptions = {
    activation: c.silu ? 'silu' : null, initialState: leaves.initialState, lengths: c.lengths ?? null,
  };
  let out: Tensor, fin: Tensor | null = null;
  if (c.final) {
    const r = causalConv1d(leaves.x, leaves.weight, leaves.bias, { ...opts, returnFinalState: true });
    out = r.out;
    fin = r.finalState;
  } else {
    out = causalConv1d(leaves.x, leaves.weight, leaves.bias, { ...opts, returnFinalState: false });
  }
  const outVals = out.dataSync();
  const finVals = fin ? fin.dataSync() : null;
  out.backward(tensor(Float32Array.from(dout), [c.B, c.D, c.L], { device, dtype }), { retainGraph: fin !== null && dfinal !== null });
  if (fin && dfinal) fin.backward(tensor(Float32Array.from(dfinal), [c.B, c.D, c.W - 1], { device }));
  const grads: Record<string, ArrayLike<number>> = {};
  for (const [k, t] of Object.entries(leaves)) grads[k] = t.grad ? t.grad.dataSync() : new Float32Array(t.size);
  return { out: outVals, fin: finVals, grads };
}

function reference(c: ConvCase, v: ReturnType<typeof values>) {
  return causalConv1dRef({ data: v.x, shape: [c.B, c.D, c.L] }, { data: v.w, shape: [c.D, c.W] },
    v.b ? { data: v.b, shape: [c.D] } : null, {
      activation: c.silu ? 'silu' : null, lengths: c.lengths ?? null,
      initialState: v.init ? { data: v.init, shape: [c.B, c.D, c.W - 1] } : null,
    });
}

const all = { bias: true, silu: true, init: true, final: true };
const cases: [string, ConvCase][] = [
  ['W=1 L=1', { B: 2, D: 3, L: 1, W: 1, bias: true }],
  ['W=2 L=2 all', { B: 2, D: 3, L: 2, W: 2, ...all }],
  ['W=4 L=7 all', { B: 2, D: 5, L: 7, W: 4, ...all }],
  ['W=3 L=129 silu', { B: 1, D: 7, L: 129, W: 3, silu: true }],
  ['W=8 L=2049 all', { B: 2, D: 3, L: 2049, W: 8, ...all }],
  ['W=4 L=5000 bias', { B: 1, D: 2, L: 5000, W: 4, bias: true, final: true }],
  ['W=4 lengths [0, L, 2] all', { B: 3, D: 5, L: 129, W: 4, ...all, lengths: [0, 129, 2] }],
  ['W=5 lengths, no init', { B: 2, D: 4, L: 33, W: 5, bias: true, silu: true, final: true, lengths: [1, 20] }],
];

describe.each(testDevices)('causalConv1d on %s', (device) => {
  test.each(cases)('%s: forward and gradients vs float64 reference', (_n, c) => {
    const v = values(c);
    const ref = reference(c, v);
    const dout = uniform(c.B * c.D * c.L, -1, 1).map(Math.fround);
    const dfinal = c.final ? uniform(c.B * c.D * (c.W - 1), -1, 1).map(Math.fround) : null;
    const got = run(c, v, device, 'float32', dout, dfinal);
    expect(err(got.out, ref.out.data)).toBeLessThanOrEqual(1e-5);
    if (c.final) expect(err(got.fin!, ref.finalState.data)).toBeLessThanOrEqual(1e-6);
    const g = ref.backward(dout, dfinal);
    const want: Record<string, Float64Array | undefined> = { x: g.x.data, weight: g.weight.data, bias: g.bias?.data, initialState: g.initialState?.data };
    for (const k of Object.keys(got.grads)) {
      const e = err(got.grads[k], want[k]!);
      if (!(e <= 1e-5)) throw new Error(`grad of ${k}: err ${e}`);
    }
  });

  test('equals a plain padded conv: out_t = bias + sum_w weight[w] x[t-(W-1)+w]', () => {
    const x = tensor([[[1, 2, 3, 4]]], undefined, { device });
    const w = tensor([[0.5, -1, 2]], undefined, { device });
    const out = causalConv1d(x, w, tensor([10], undefined, { device }));
    expect(Array.from(out.dataSync())).toEqual([12, 13, 14.5, 16]);
  });

  test('bad input gives a clear [causalConv1d] error', () => {
    const o = { device };
    const x = zeros([2, 3, 5], o);
    expect(() => causalConv1d(x, zeros([3, 9], o))).toThrow('[causalConv1d] kernel width W must be in [1, 8], got 9');
    expect(() => causalConv1d(x, zeros([4, 2], o))).toThrow('[causalConv1d] weight must have shape (D, W) with D = 3, got (4, 2)');
    expect(() => causalConv1d(x, zeros([3, 2], o), zeros([4], o))).toThrow('[causalConv1d] bias must have shape (D) = (3), got (4)');
    expect(() => causalConv1d(x, zeros([3, 4], o), null, { initialState: zeros([2, 3, 2], o) })).toThrow('[causalConv1d] initialState must have shape (B, D, W-1) = (2, 3, 3), got (2, 3, 2)');
    expect(() => causalConv1d(x, zeros([3, 4], o), null, { lengths: [6, 0] })).toThrow('[causalConv1d] lengths[0] = 6 is outside [0, L = 5]');
    expect(() => causalConv1d(x, zeros([3, 4], o), null, { activation: 'relu' as never })).toThrow("[causalConv1d] activation must be 'silu' or null, got string relu");
    expect(() => causalConv1d(zeros([3, 5], o), zeros([3, 4], o))).toThrow('[causalConv1d] x must have shape (B, D, L), got (3, 5)');
  });
});

describe('causalConv1dRef backward vs central finite differences (float64)', () => {
  test('every input, with lengths, silu and the final state', () => {
    const c: ConvCase = { B: 2, D: 2, L: 6, W: 4, ...all, lengths: [6, 2] };
    const v = values(c);
    const dout = uniform(c.B * c.D * c.L, -1, 1);
    const dfinal = uniform(c.B * c.D * (c.W - 1), -1, 1);
    const loss = (): number => {
      const r = reference(c, v);
      let s = 0;
      r.out.data.forEach((x, i) => (s += x * dout[i]));
      r.finalState.data.forEach((x, i) => (s += x * dfinal[i]));
      return s;
    };
    const g = reference(c, v).backward(dout, dfinal);
    const pairs: [Float64Array, Float64Array][] = [[v.x, g.x.data], [v.w, g.weight.data], [v.b!, g.bias!.data], [v.init!, g.initialState!.data]];
    for (const [arr, grad] of pairs) {
      const fd = arr.map((x0, i) => {
        arr[i] = x0 + 1e-6;
        const lp = loss();
        arr[i] = x0 - 1e-6;
        const lm = loss();
        arr[i] = x0;
        return (lp - lm) / 2e-6;
      });
      expect(err(grad, fd)).toBeLessThanOrEqual(1e-6);
    }
  });
});

describeCuda('causalConv1d bfloat16 on cuda', () => {
  test('bfloat16 x vs float64 reference within 2e-2', () => {
    const c: ConvCase = { B: 2, D: 40, L: 1031, W: 4, ...all, lengths: [1031, 500] };
    const v = values(c, 'bfloat16');
    const ref = reference(c, v);
    const dout = uniform(c.B * c.D * c.L, -1, 1).map(bf16Round);
    const dfinal = uniform(c.B * c.D * (c.W - 1), -1, 1).map(Math.fround);
    const got = run(c, v, 'cuda', 'bfloat16', dout, dfinal);
    expect(err(got.out, ref.out.data)).toBeLessThanOrEqual(2e-2);
    const g = ref.backward(dout, dfinal);
    expect(err(got.grads.x, g.x.data)).toBeLessThanOrEqual(2e-2);
    expect(err(got.grads.weight, g.weight.data)).toBeLessThanOrEqual(2e-2);
    expect(err(got.grads.bias, g.bias!.data)).toBeLessThanOrEqual(2e-2);
    expect(err(got.grads.initialState, g.initialState!.data)).toBeLessThanOrEqual(2e-2);
  });
});
