// Adam and AdamW vs a float64 reference over several steps: bias correction, L2 vs decoupled
// weight decay, amsgrad, groups, sizes across the native chunking, bfloat16 params.
import { optim, ops, tensor, Tensor, tidy } from '../../lib';
import { testDevices } from '../helpers/devices';
import { AdamRefHyper, adamRefStep, expectClose, param, randomF32, randomValues, RefState, rounded, setGrad, values } from './reference';

const SIZES: number[][] = [[1], [7], [3, 43], [2049], [40000]];
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);

type Kind = 'Adam' | 'AdamW';
function make(kind: Kind, ps: Tensor[], o: optim.AdamOptions): optim.Adam | optim.AdamW {
  return kind === 'Adam' ? new optim.Adam(ps, o) : new optim.AdamW(ps, o);
}

describe.each(testDevices)('Adam / AdamW on %s', (device) => {
  const cases: [string, Kind, optim.AdamOptions][] = [
    ['Adam defaults', 'Adam', {}],
    ['Adam lr 0.01, betas (0.8, 0.99), eps 1e-6', 'Adam', { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6 }],
    ['Adam + L2 weight decay', 'Adam', { lr: 0.01, weightDecay: 0.05 }],
    ['Adam amsgrad', 'Adam', { lr: 0.01, amsgrad: true }],
    ['AdamW default decay 1e-2', 'AdamW', { lr: 0.01 }],
    ['AdamW decay 0.1 + amsgrad', 'AdamW', { lr: 0.02, weightDecay: 0.1, amsgrad: true }],
  ];
  test.each(cases)('%s matches float64 over 8 steps', (_name, kind, o) => {
    const init = SIZES.map((s, k) => rounded(randomValues(numel(s), 20 + k)));
    const ps = SIZES.map((s, k) => param(init[k], s, device));
    const ref = init.map((v) => [...v]);
    const st: RefState[] = SIZES.map(() => ({ step: 0 }));
    const h: AdamRefHyper = {
      lr: o.lr ?? 1e-3, beta1: o.betas?.[0], beta2: o.betas?.[1], eps: o.eps,
      weightDecay: o.weightDecay ?? (kind === 'AdamW' ? 1e-2 : 0), amsgrad: o.amsgrad, decoupled: kind === 'AdamW',
    };
    const opt = make(kind, ps, o);
    for (let it = 0; it < 8; ++it) {
      ps.forEach((p, k) => {
        // Grads that shrink and change sign, so amsgrad's running max matters. |g| >= 0.1 > |λp|:
        // where g + λp nearly cancels, Adam's early steps lr·ĝ/(|ĝ| + ε) hinge on float32
        // rounding of ĝ (a 5e-8 ĝ moved p by 2e-5 against float64), which says nothing of the kernel.
        const g = rounded(randomValues(p.size, 1000 * it + k).map((x) => (x + 0.2 * Math.sign(x)) * (it % 3 === 2 ? 0.5 : 1)));
        setGrad(p, g);
        adamRefStep(ref[k], g, st[k], h);
      });
      opt.step();
      ps.forEach((p, k) => expectClose(values(p), ref[k], 2e-6, 1e-5, `${kind} step ${it} param ${k}`));
    }
    expect(opt.stepCount(ps[4])).toBe(8);
  });

  test('bias correction: the first Adam step moves each element by lr (sign of the grad)', () => {
    const p = param([0, 0, 0, 0], [4], device);
    setGrad(p, [3, -0.001, 1e3, -7]);
    new optim.Adam([p], { lr: 0.1 }).step();
    // m̂ = g, v̂ = g², so the step is lr · g / (|g| + eps).
    expectClose(values(p), [-0.1, 0.1, -0.1, 0.1], 1e-6, 1e-4);
  });

  test('groups with their own lr, betas and weight decay; per-param step counts', () => {
    const a = param([1, -1], [2], device);
    const b = param([0.5, 0.25, -2], [3], device);
    const opt = new optim.AdamW([{ params: [a], lr: 0.1, betas: [0.5, 0.9] }, { params: [b], weightDecay: 0 }], { lr: 0.01 });
    const ra = [1, -1], rb = [0.5, 0.25, -2];
    const sa: RefState = { step: 0 }, sb: RefState = { step: 0 };
    for (let it = 0; it < 4; ++it) {
      const ga = [0.3 * (it + 1), -0.1], gb = [1, -2, 0.5 / (it + 1)];
      setGrad(a, ga);
      adamRefStep(ra, ga, sa, { lr: 0.1, beta1: 0.5, beta2: 0.9, weightDecay: 0.01, decoupled: true });
      if (it !== 1) {
        setGrad(b, gb);
        adamRefStep(rb, gb, sb, { lr: 0.01, weightDecay: 0, decoupled: true });
      } else {
        b.grad?.dispose();
        b.grad = null; // skipped this step: its bias correction must not advance
      }
      opt.step();
    }
    expectClose(values(a), ra, 1e-6, 1e-5);
    expectClose(values(b), rb, 1e-6, 1e-5);
    expect([opt.stepCount(a), opt.stepCount(b)]).toEqual([4, 3]);
  });

  test('state buffers are float32 of the param shape and survive an enclosing tidy', () => {
    const p = param(randomValues(6, 3), [2, 3], device);
    const opt = new optim.Adam([p], { lr: 0.01, amsgrad: true });
    tidy(() => {
      setGrad(p, randomValues(6, 4));
      opt.step();
    });
    const sd = opt.stateDict();
    expect(Object.keys(sd.state[0]).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
    const m = sd.state[0].expAvg as Tensor;
    expect([m.shape, m.dtype, m.device]).toEqual([[2, 3], 'float32', device]);
    setGrad(p, randomValues(6, 5));
    opt.step(); // buffers still alive
    expect(opt.stepCount(p)).toBe(2);
  });

  test('bfloat16 params with float32 state: each step rounds once to bfloat16', () => {
    const init = rounded(randomValues(129, 7), 'bfloat16');
    const p = param(init, [129], device, 'bfloat16');
    const ref = [...init];
    const st: RefState = { step: 0 };
    const opt = new optim.Adam([p], { lr: 0.05 });
    for (let it = 0; it < 3; ++it) {
      const g = rounded(randomValues(129, 50 + it), 'bfloat16');
      setGrad(p, g, 'bfloat16');
      adamRefStep(ref, g, st, { lr: 0.05 });
      opt.step();
      // Each step rounds the param to 8 mantissa bits: 2^-8 relative, accumulating over steps.
      expectClose(values(p), ref, 1e-3, 2 ** -8 * (it + 1.5), `bf16 step ${it}`);
      for (let i = 0; i < ref.length; ++i) ref[i] = values(p)[i]; // continue from the rounded values
    }
    expect(p.dtype).toBe('bfloat16');
  });

  test('bad options throw with the optimizer name', () => {
    const p = param([1], [1], device);
    expect(() => new optim.Adam([p], { betas: [0.9, 1] })).toThrow('[Adam] options: beta2 must be in [0, 1), got 1');
    expect(() => new optim.AdamW([p], { eps: -1 })).toThrow('[AdamW] options: eps must be a finite number >= 0');
    expect(() => new optim.Adam([p], { betas: [0.9] as unknown as [number, number] })).toThrow('[Adam] options: betas must be [beta1, beta2]');
    expect(() => new optim.Adam([{ params: [p], weightDecay: -0.1 }])).toThrow('[Adam] group 0: weightDecay must be a finite number >= 0');
    expect(() => new optim.Adam([p], { amsgrad: 1 as unknown as boolean })).toThrow('[Adam] options: amsgrad must be true or false');
  });

  // CUDA passes a small table of params (<= 24) and chunks (<= 96 of 16384 elements) as a kernel
  // argument and uploads a larger one: both sides of each limit, and a mix of sizes.
  test.each([
    ['24 params (the argument table, full)', [...Array(23).fill([7]), [129]]],
    ['25 params (uploaded table)', [...Array(24).fill([7]), [129]]],
    ['97 chunks', [[1], [96 * 16384 + 1], [3, 5]]],
  ] as [string, number[][]][])('%s: AdamW matches float64 over 2 steps', (_name, sizes) => {
    // typed arrays throughout (a million-element number[] through tensor() takes seconds); even
    // so the 97-chunk case takes ~3 s under jest
    const init = sizes.map((s, k) => randomF32(numel(s), 300 + k));
    const ps = sizes.map((s, k) => tensor(init[k], s, { device, requiresGrad: true }));
    const ref = init.map((v) => Float64Array.from(v));
    const st: RefState[] = sizes.map(() => ({ step: 0 }));
    const h: AdamRefHyper = { lr: 0.01, weightDecay: 0.01, decoupled: true };
    const opt = new optim.AdamW(ps, { lr: 0.01 });
    for (let it = 0; it < 2; ++it) {
      ps.forEach((p, k) => {
        const g = randomF32(p.size, 500 * it + k).map((x) => x + 0.2 * Math.sign(x));
        p.grad?.dispose();
        p.grad = tensor(g, p.shape, { device });
        adamRefStep(ref[k], g, st[k], h);
      });
      opt.step();
    }
    ps.forEach((p, k) => expectClose(p.dataSync(), ref[k], 2e-6, 1e-5, `param ${k}`));
  });

  test('a grad from backward through a broadcast (strided leaf grad) updates correctly', () => {
    const w = param([0.5, -0.5, 1], [3], device);
    const opt = new optim.Adam([w], { lr: 0.1 });
    ops.sum(w).backward(); // grad is an expanded view of one 1: stride 0
    opt.step();
    expectClose(values(w), [0.4, -0.6, 0.9], 1e-6, 1e-5);
  });
});
