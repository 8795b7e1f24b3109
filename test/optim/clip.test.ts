// clipGradNorm vs a float64 reference: norms 2, 1, 3 and inf, clipping and not, non-finite
// grads, strided and aliased grads from autograd, sizes across the native chunking.
import { ops, optim, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { expectClose, param, randomF32, randomValues, rounded, setGrad, values } from './reference';

const SIZES = [[1], [7], [3, 43], [2049], [40000]];

function refNorm(gs: number[][], p: number): number {
  if (p === Infinity) return Math.max(...gs.map((g) => g.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
  return gs.reduce((s, g) => s + g.reduce((t, x) => t + Math.abs(x) ** p, 0), 0) ** (1 / p);
}

describe.each(testDevices)('clipGradNorm on %s', (device) => {
  function setup(scale: number): { ps: Tensor[]; gs: number[][] } {
    const ps = SIZES.map((s) => param(new Array(s.reduce((a, b) => a * b, 1)).fill(0), s, device));
    const gs = ps.map((p, k) => rounded(randomValues(p.size, 70 + k).map((x) => x * scale)));
    ps.forEach((p, k) => setGrad(p, gs[k]));
    return { ps, gs };
  }

  test.each([2, 1, 3, Infinity])('norm type %s: returns the float64 total norm and scales the grads', (p) => {
    const { ps, gs } = setup(1);
    const total = refNorm(gs, p);
    const maxNorm = total / 4;
    const got = optim.clipGradNorm(ps, maxNorm, p === Infinity ? 'inf' : p);
    expect(Math.abs(got - total) / total).toBeLessThan(1e-12); // double accumulation throughout
    const coef = maxNorm / (total + 1e-6);
    ps.forEach((t, k) => expectClose(values(t.grad!), gs[k].map((x) => x * coef), 1e-7, 1e-6, `grad ${k}`));
    // After clipping the norm is maxNorm (up to the 1e-6 guard and float32 rounding).
    expect(optim.clipGradNorm(ps, Infinity, p)).toBeCloseTo(maxNorm, 3);
  });

  // CUDA passes a small table (<= 24 entries counting the scalars, <= 96 chunks) as a kernel
  // argument and uploads a larger one: both sides of each limit.
  test.each([
    ['23 grads + 1 scalar (the argument table, full)', Array(23).fill([7]) as number[][], 1],
    ['23 grads + 2 scalars (uploaded table)', Array(23).fill([7]) as number[][], 2],
    ['97 chunks', [[5], [96 * 16384 + 1]], 3],
  ] as [string, number[][], number][])('%s: norm, clipping and scalars', (_name, sizes, nScalars) => {
    // typed arrays in and out: a million-element number[] through tensor() takes seconds
    const ps = sizes.map((s) => tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), s, { device, requiresGrad: true }));
    const gs = ps.map((p, k) => randomF32(p.size, 90 + k));
    ps.forEach((p, k) => { p.grad = tensor(gs[k], p.shape, { device }); });
    const sv = rounded(randomValues(nScalars, 7));
    const scalars = sv.map((v) => tensor([v], undefined, { device }));
    const total = refNorm(gs.map((g) => Array.from(g)), 2);
    const r = optim.clipGradNormAndRead(ps, total / 3, scalars);
    expect(Math.abs(r.total - total) / total).toBeLessThan(1e-12);
    expect(r.values).toEqual(sv);
    const coef = total / 3 / (total + 1e-6);
    ps.forEach((t, k) => expectClose(t.grad!.dataSync(), Array.from(gs[k], (x) => x * coef), 1e-7, 1e-6, `grad ${k}`));
    scalars.forEach((t) => t.dispose());
  });

  test('clipGradNormAndRead: the same norm and clipping, plus one-element tensors read in the same transfer', () => {
    const { ps, gs } = setup(1);
    const total = refNorm(gs, 2);
    const a = ops.sum(tensor(Float32Array.of(1.5, -4.25, 0.125), [3], { device })); // a computed scalar
    const b = tensor(Float32Array.of(7.75), [1, 1], { device }).to('bfloat16'); // bf16 (exact in 8 bits)
    const c = tensor(Float32Array.of(Number.NaN), [], { device });
    const v = ops.reshape(tensor(Float32Array.of(9, 8, 7, 6), [4], { device }).slice(0, 2, 3), []); // a view at an offset
    const r = optim.clipGradNormAndRead(ps, total / 2, [a, b, c, v]);
    expect(Math.abs(r.total - total) / total).toBeLessThan(1e-12);
    expect(r.values).toEqual([-2.625, 7.75, Number.NaN, 7]);
    const coef = total / 2 / (total + 1e-6);
    ps.forEach((t, k) => expectClose(values(t.grad!), gs[k].map((x) => x * coef), 1e-7, 1e-6, `grad ${k}`));
    // no grads: the scalars are still read; no scalars: just the norm
    const bare = param([1], [1], device);
    expect(optim.clipGradNormAndRead([bare], 1, [a])).toEqual({ total: 0, values: [-2.625] });
    expect(optim.clipGradNormAndRead(ps, Infinity, []).values).toEqual([]);
    expect(() => optim.clipGradNormAndRead(ps, 1, [tensor(Float32Array.of(1, 2), [2], { device })])).toThrow('[clipGradNorm] scalar 0 must have one element, got shape (2)');
    expect(() => optim.clipGradNormAndRead(ps, 1, [tensor(Int32Array.of(1), [1], { device, dtype: 'int32' })])).toThrow('[clipGradNorm] scalar 0 must be float32 or bfloat16, got int32');
    [a, b, c, v].forEach((t) => t.dispose());
  });

  test('below maxNorm the grads are untouched (bit for bit)', () => {
    const { ps, gs } = setup(1e-3);
    const total = optim.clipGradNorm(ps, 1e6);
    expect(total).toBeCloseTo(refNorm(gs, 2), 8);
    ps.forEach((t, k) => expect(values(t.grad!)).toEqual(gs[k]));
  });

  test('params without grads are skipped; no grads gives 0; a single tensor is accepted', () => {
    const a = param([1, 2], [2], device);
    const b = param([3], [1], device);
    expect(optim.clipGradNorm([a, b], 1)).toBe(0);
    setGrad(b, [4]);
    expect(optim.clipGradNorm([a, b], 1)).toBe(4);
    expectClose(values(b.grad!), [4 / (4 + 1e-6)], 0, 1e-6);
    setGrad(a, [3, 4]);
    expect(optim.clipGradNorm(a, 10)).toBeCloseTo(5, 10);
  });

  test('non-finite norms: errorIfNonfinite throws before touching grads; otherwise NaN/0 as PyTorch', () => {
    const a = param([0, 0], [2], device);
    const b = param([0], [1], device);
    setGrad(a, [1, Number.NaN]);
    setGrad(b, [2]);
    expect(() => optim.clipGradNorm([a, b], 1, 2, { errorIfNonfinite: true })).toThrow('[clipGradNorm] the total norm of order 2 of the gradients is NaN');
    expect(values(b.grad!)).toEqual([2]);
    expect(optim.clipGradNorm([a, b], 1)).toBeNaN();
    expect(values(b.grad!)).toEqual([Number.NaN]);
    setGrad(a, [Number.POSITIVE_INFINITY, 1]);
    setGrad(b, [2]);
    expect(optim.clipGradNorm([a, b], 1, 'inf')).toBe(Infinity);
    expect(values(b.grad!)).toEqual([0]); // coef = 1 / inf
    setGrad(a, [Number.NaN, Number.POSITIVE_INFINITY]);
    expect(optim.clipGradNorm([a], 1, Infinity)).toBeNaN(); // NaN wins over inf in the max
  });

  test('grads from autograd: an expanded (stride-0) grad and two leaves sharing one grad buffer', () => {
    const a = param([1, 2, 3], [3], device);
    const b = param([4, 5, 6], [3], device);
    // sum's backward gives an expanded view of one value; add's passes that same buffer to both.
    ops.sum(ops.add(a, b)).backward();
    const total = optim.clipGradNorm([a, b], 1);
    expect(total).toBeCloseTo(Math.sqrt(6), 6);
    const c = 1 / (Math.sqrt(6) + 1e-6);
    expectClose(values(a.grad!), [c, c, c], 1e-7, 1e-6);
    expectClose(values(b.grad!), [c, c, c], 1e-7, 1e-6);
  });

  test('argument checks', () => {
    const a = param([1], [1], device);
    setGrad(a, [1]);
    expect(() => optim.clipGradNorm([a], 1, 0)).toThrow("[clipGradNorm] normType must be a number > 0 or 'inf', got number 0");
    expect(() => optim.clipGradNorm([a], Number.NaN)).toThrow('[clipGradNorm] maxNorm must be a number');
    expect(() => optim.clipGradNorm([a, 1 as unknown as Tensor], 1)).toThrow('[clipGradNorm] param 1 must be a Tensor');
    a.grad!.dispose();
    expect(() => optim.clipGradNorm([a], 1)).toThrow('[clipGradNorm] the grad of param 0 was disposed');
  });
});
