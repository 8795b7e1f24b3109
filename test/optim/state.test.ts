// stateDict/loadStateDict round trips, zeroGrad, memory per step, and the "nothing
// half-updated" rule: a step that throws leaves every parameter, buffer and step count as it was.
import { memory, optim, tensor, Tensor, tidy } from '../../lib';
import { hasCuda, testDevices } from '../helpers/devices';
import { param, randomValues, rounded, setGrad, values } from './reference';

const SHAPES = [[4, 5], [7], [1]];

function model(device: 'cpu' | 'cuda', seed: number): Tensor[] {
  return SHAPES.map((s, k) => param(rounded(randomValues(s.reduce((a, b) => a * b, 1), seed + k)), s, device));
}

function grads(ps: Tensor[], it: number): void {
  ps.forEach((p, k) => setGrad(p, rounded(randomValues(p.size, 500 + 10 * it + k))));
}

type Make = (ps: Tensor[]) => optim.SGD | optim.Adam | optim.AdamW;
const makers: [string, Make][] = [
  ['SGD nesterov', (ps) => new optim.SGD([{ params: ps.slice(0, 2) }, { params: ps.slice(2), lr: 0.3 }], { lr: 0.1, momentum: 0.9, nesterov: true })],
  ['Adam amsgrad', (ps) => new optim.Adam([{ params: ps.slice(0, 2) }, { params: ps.slice(2), betas: [0.5, 0.9] }], { lr: 0.01, amsgrad: true })],
  ['AdamW', (ps) => new optim.AdamW(ps, { lr: 0.01, weightDecay: 0.1 })],
];

describe.each(testDevices)('optimizer state on %s', (device) => {
  describe.each(makers)('%s', (_name, make) => {
    test.each([false, true])('stateDict round trip (arrays: %s) continues exactly like the uninterrupted run', (arrays) => {
      // Run A: 5 steps straight. Run B: 3 steps, save, new optimizer + loaded state, 2 steps.
      const a = model(device, 1);
      const optA = make(a);
      for (let it = 0; it < 5; ++it) { grads(a, it); optA.step(); }
      const b = model(device, 1);
      const optB = make(b);
      for (let it = 0; it < 3; ++it) { grads(b, it); optB.step(); }
      let sd = optB.stateDict({ arrays });
      if (arrays) sd = JSON.parse(JSON.stringify(sd)); // plain arrays survive JSON
      optB.paramGroups[0].lr = 123; // overwritten by the load
      const optC = make(b);
      optC.loadStateDict(sd);
      expect(optC.paramGroups.map((g) => g.lr)).toEqual(optA.paramGroups.map((g) => g.lr));
      for (let it = 3; it < 5; ++it) { grads(b, it); optC.step(); }
      a.forEach((p, k) => expect(values(b[k])).toEqual(values(p))); // bit-identical
      expect(optC.stepCount(b[0])).toBe(5);
      const sa = optA.stateDict({ arrays: true });
      const sc = optC.stateDict({ arrays: true });
      expect(sc).toEqual(sa);
      if (!arrays) for (const e of Object.values(sd.state)) for (const t of Object.values(e)) if (t instanceof Tensor) t.dispose();
    });
  });

  test('stateDict layout: PyTorch-like indices, step counts, group hyper-parameters', () => {
    const ps = model(device, 3);
    const opt = new optim.Adam([{ params: [ps[0]] }, { params: [ps[1], ps[2]], lr: 0.5 }]);
    grads([ps[0], ps[2]], 0);
    opt.step();
    const sd = opt.stateDict({ arrays: true });
    expect(Object.keys(sd.state)).toEqual(['0', '2']);
    expect(sd.state[2].step).toBe(1);
    expect((sd.state[2].expAvg as number[]).length).toBe(1);
    expect(sd.paramGroups).toEqual([
      { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [0] },
      { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [1, 2] },
    ]);
  });

  test('loadStateDict checks everything first; a bad dict leaves the optimizer unchanged', () => {
    const ps = model(device, 4);
    const opt = new optim.Adam(ps, { lr: 0.01 });
    grads(ps, 0);
    opt.step();
    const good = opt.stateDict({ arrays: true });
    const before = JSON.stringify(good);
    const bad = (f: (sd: optim.OptimizerStateDict) => void, msg: string) => {
      const sd = JSON.parse(before);
      f(sd);
      expect(() => opt.loadStateDict(sd)).toThrow(msg);
      expect(JSON.stringify(opt.stateDict({ arrays: true }))).toBe(before);
    };
    bad((sd) => { sd.state[2].expAvg = [1, 2]; }, '[Adam] loadStateDict: param 2 expAvg has 2 values, the param (1) has 1');
    bad((sd) => { sd.paramGroups.push({ params: [] }); }, '[Adam] loadStateDict: the state dict has 2 param groups, the optimizer 1');
    bad((sd) => { sd.paramGroups[0].params.pop(); }, 'group 0 has 2 params in the state dict, 3 in the optimizer');
    bad((sd) => { sd.state[0].step = -1; }, 'param 0 needs a step count (integer >= 0)');
    bad((sd) => { (sd.state[1] as unknown as Record<string, unknown>).momentum = [0]; }, "param 1 has an unknown buffer 'momentum'");
    bad((sd) => { sd.state[7] = { step: 1 }; }, 'state for param 7, but there are 3 params');
    bad((sd) => { (sd.paramGroups[0] as unknown as { betas: number[] }).betas = [0.9, 2]; }, '[Adam] state dict group 0: beta2 must be in [0, 1)');
    const t = tensor([1, 2, 3], [3], { device });
    bad((sd) => { sd.state[0].expAvg = t; }, 'param 0 expAvg has shape (3), the param (4, 5)');
  });

  test('a step that throws leaves every parameter, buffer and step count unchanged', () => {
    const ps = model(device, 5);
    const opt = new optim.Adam(ps, { lr: 0.1 });
    grads(ps, 0);
    opt.step();
    const snapshot = () => JSON.stringify([ps.map(values), opt.stateDict({ arrays: true }).state]);
    const before = snapshot();
    const expectUnchanged = (msg: string) => {
      expect(() => opt.step()).toThrow(msg);
      expect(snapshot()).toBe(before);
    };
    // The last param's grad is wrong: the first two, valid, must not have moved either.
    grads(ps, 1);
    ps[2].grad!.dispose();
    ps[2].grad = tensor([1, 2], [2], { device });
    expectUnchanged('[Adam] param 2: grad has shape (2) but the param is (1)');
    ps[2].grad.dispose();
    expectUnchanged('[Adam] the grad of param 2 was disposed');
    ps[2].grad = tensor([1], [1], { device, dtype: 'bfloat16' });
    expectUnchanged('[Adam] param 2: grad is bfloat16 but the param is float32');
    ps[2].grad = tensor(new Int32Array([1]), [1], { device });
    expectUnchanged('[Adam] param 2: grad is int32 but the param is float32');
    ps[2].grad = tensor([1], [1], { device });
    opt.paramGroups[0].lr = Number.POSITIVE_INFINITY;
    expectUnchanged('[Adam] group 0: hyper-parameters must be finite numbers');
    opt.paramGroups[0].lr = 0.1;
    // A first step for a new param group fails: its fresh buffers are dropped, nothing else moves.
    const extra = param([1, 2], [2], device);
    opt.addParamGroup({ params: [extra] });
    extra.grad = tensor([1, 2, 3], [3], { device });
    expect(() => opt.step()).toThrow('[Adam] param 3: grad has shape (3) but the param is (2)');
    expect(opt.stateDict({ arrays: true }).state).toEqual(JSON.parse(before)[1]);
    expect(values(extra)).toEqual([1, 2]);
    expect(opt.stepCount(extra)).toBe(0);
    ps.forEach((p, k) => expect(values(p)).toEqual(JSON.parse(before)[0][k]));
    extra.grad.dispose();
    extra.grad = null;
    ps[1].dispose();
    expect(() => opt.step()).toThrow('[Adam] param 1 was disposed; it cannot be updated');
    expect(values(ps[0])).toEqual(JSON.parse(before)[0][0]);
  });

  test('mixed devices in one optimizer are refused before any write', () => {
    if (!hasCuda) return;
    const a = param([1], [1], 'cpu');
    const b = param([2], [1], 'cuda');
    const opt = new optim.SGD([a, b], { lr: 0.1 });
    setGrad(a, [1]);
    setGrad(b, [1]);
    expect(() => opt.step()).toThrow('[SGD] param 1 is on cuda but param 0 is on cpu; one optimizer updates params of one device');
    expect([values(a), values(b)]).toEqual([[1], [2]]);
  });

  test('zeroGrad: setToNone (default) disposes; setToNone false gives fresh zeros', () => {
    const ps = model(device, 6);
    const opt = new optim.SGD(ps, { lr: 0.1 });
    grads(ps, 0);
    const g0 = ps[0].grad!;
    opt.zeroGrad({ setToNone: false });
    expect(g0.isDisposed).toBe(true);
    expect(values(ps[0].grad!)).toEqual(new Array(20).fill(0));
    expect(ps[0].grad!.shape).toEqual([4, 5]);
    opt.zeroGrad();
    expect(ps.map((p) => p.grad)).toEqual([null, null, null]);
  });

  test('a training step allocates nothing that outlives it (tensor count is flat)', () => {
    const ps = model(device, 7);
    const opt = new optim.AdamW(ps, { lr: 0.01, amsgrad: true });
    const run = () => tidy(() => {
      grads(ps, 1);
      opt.step();
      opt.zeroGrad();
    });
    run(); // creates the buffers
    const base = memory().tensors;
    for (let i = 0; i < 5; ++i) run();
    expect(memory().tensors).toBe(base);
    opt.disposeState();
    expect(memory().tensors).toBe(base - 9);
  });
});
