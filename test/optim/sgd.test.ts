// SGD vs a float64 reference over several steps: momentum, dampening, Nesterov, weight decay,
// parameter groups, sizes across the native chunking (1, 7, 129, 2049, 40000), argument checks.
import { optim, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { expectClose, param, randomValues, RefState, rounded, setGrad, sgdRefStep, SgdRefHyper, values } from './reference';

const SIZES: number[][] = [[1], [7], [3, 43], [2049], [40000]];

describe.each(testDevices)('SGD on %s', (device) => {
  const cases: [string, SgdRefHyper][] = [
    ['plain', { lr: 0.1 }],
    ['momentum', { lr: 0.05, momentum: 0.9 }],
    ['momentum + dampening', { lr: 0.05, momentum: 0.8, dampening: 0.3 }],
    ['nesterov', { lr: 0.02, momentum: 0.9, nesterov: true }],
    ['weight decay + momentum', { lr: 0.1, momentum: 0.5, weightDecay: 0.01 }],
    ['nesterov + weight decay', { lr: 0.1, momentum: 0.7, nesterov: true, weightDecay: 0.1 }],
  ];
  test.each(cases)('%s matches float64 over 6 steps', (_name, h) => {
    const init = SIZES.map((s, k) => rounded(randomValues(s.reduce((a, b) => a * b, 1), 10 + k)));
    const ps = SIZES.map((s, k) => param(init[k], s, device));
    const ref = init.map((v) => [...v]);
    const st: RefState[] = SIZES.map(() => ({ step: 0 }));
    const opt = new optim.SGD(ps, h);
    for (let it = 0; it < 6; ++it) {
      ps.forEach((p, k) => {
        const g = rounded(randomValues(p.size, 100 * it + k));
        setGrad(p, g);
        sgdRefStep(ref[k], g, st[k], h);
      });
      opt.step();
      ps.forEach((p, k) => expectClose(values(p), ref[k], 1e-6, 1e-5, `step ${it} param ${k}`));
    }
    expect(opt.stepCount(ps[0])).toBe(6);
  });

  test('parameter groups: own lr / momentum override the defaults; params without grad are skipped', () => {
    const a = param([1, 2, 3], [3], device);
    const b = param([4, 5], [2], device);
    const c = param([7], [1], device);
    const opt = new optim.SGD([{ params: [a] }, { params: [b, c], lr: 0.5, momentum: 0.9 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0], [0.5, 0.9]]);
    const ra = [1, 2, 3], rb = [4, 5];
    const sa: RefState = { step: 0 }, sb: RefState = { step: 0 };
    for (let it = 0; it < 3; ++it) {
      setGrad(a, [0.1, -0.2, 0.3]);
      setGrad(b, [1, -1]);
      sgdRefStep(ra, [0.1, -0.2, 0.3], sa, { lr: 0.1 });
      sgdRefStep(rb, [1, -1], sb, { lr: 0.5, momentum: 0.9 });
      opt.step();
    }
    expectClose(values(a), ra, 1e-6, 1e-6);
    expectClose(values(b), rb, 1e-6, 1e-6);
    expect(values(c)).toEqual([7]); // no grad: untouched, no state
    expect(opt.stepCount(c)).toBe(0);
  });

  test('changing a group lr between steps takes effect; the tensor object and memory stay the same', () => {
    const p = param([1, 1], [2], device);
    const before = p._h;
    const opt = new optim.SGD([p], { lr: 0.1 });
    setGrad(p, [1, 2]);
    opt.step();
    opt.paramGroups[0].lr = 0.01;
    opt.step();
    expectClose(values(p), [1 - 0.11, 1 - 0.22], 1e-7, 1e-6);
    expect(p._h).toBe(before);
  });

  test('updates through backward: a model holding the param sees the new values', () => {
    const w = param([0.5, -0.5], [2], device);
    const model = { w };
    const opt = new optim.SGD([w], { lr: 0.1 });
    const x = tensor([2, 3], undefined, { device });
    const loss = ops.sum(ops.mul(model.w, x)); // d/dw = x
    loss.backward();
    opt.step();
    expectClose(values(model.w), [0.5 - 0.2, -0.5 - 0.3], 1e-7, 1e-6);
  });

  test('bad options and params throw with the optimizer name', () => {
    const p = param([1], [1], device);
    expect(() => new optim.SGD([p], { lr: -1 })).toThrow('[SGD] options: lr must be a finite number >= 0, got -1');
    expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow('[SGD] options: nesterov momentum requires momentum > 0 and dampening = 0');
    expect(() => new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow('requires momentum > 0 and dampening = 0');
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow('[SGD] got an empty parameter list');
    expect(() => new optim.SGD([p, p], { lr: 0.1 })).toThrow('[SGD] group 0: param 1 appears more than once');
    expect(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 })).toThrow('appears more than once');
    expect(() => new optim.SGD([{ params: [p], lr: Number.NaN }], { lr: 0.1 })).toThrow('[SGD] group 0: lr must be a finite number');
    expect(() => new optim.SGD([{ params: [p], momentun: 0.9 } as never], { lr: 0.1 })).toThrow("[SGD] group 0: unknown option 'momentun'");
    const y = ops.mul(p, 2);
    expect(() => new optim.SGD([y], { lr: 0.1 })).toThrow('[SGD] group 0: param 0 is not a leaf tensor');
    expect(() => new optim.SGD([tensor(new Int32Array([1]), undefined, { device })], { lr: 0.1 })).toThrow('is int32');
    expect(() => new optim.SGD([p, 3 as unknown as Tensor], { lr: 0.1 })).toThrow('[SGD] group 0: param 1 must be a Tensor, got number 3');
  });
});
