// End to end: a two-layer MLP learns XOR, and a linear model fits noisy linear data, with the
// optimizers, clipping and a schedule, on every device. Each step runs in tidy; the live
// tensor count must stay flat over training (no leak per step).
import { memory, ops, optim, randn, tensor, Tensor, tidy } from '../../lib';
import { testDevices } from '../helpers/devices';

function init(shape: number[], scale: number, device: 'cpu' | 'cuda', seed: number): Tensor {
  return tidy(() => ops.mul(randn(shape, { device, seed }), scale)).requiresGrad_();
}

describe.each(testDevices)('training on %s', (device) => {
  test.each(['Adam', 'AdamW', 'SGD'])('a 2-8-1 tanh MLP learns XOR with %s (MSE on sigmoid outputs)', (kind) => {
    const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]], undefined, { device });
    const y = tensor([[0], [1], [1], [0]], undefined, { device });
    const w1 = init([8, 2], 1, device, 11);
    const b1 = init([8], 0.1, device, 12);
    const w2 = init([1, 8], 1, device, 13);
    const b2 = init([1], 0.1, device, 14);
    const params = [w1, b1, w2, b2];
    const opt = kind === 'Adam' ? new optim.Adam(params, { lr: 0.05 })
      : kind === 'AdamW' ? new optim.AdamW(params, { lr: 0.05, weightDecay: 1e-4 })
        : new optim.SGD(params, { lr: 0.5, momentum: 0.9 });
    const forward = () => ops.sigmoid(ops.linear(ops.tanh(ops.linear(x, w1, b1)), w2, b2)); // (4, 1)
    let loss = 0;
    let live = -1;
    for (let step = 0; step < 600; ++step) {
      loss = tidy(() => {
        const l = ops.mean(ops.square(ops.sub(forward(), y)));
        l.backward();
        return l.item();
      });
      optim.clipGradNorm(params, 5);
      opt.step();
      opt.zeroGrad();
      if (step === 1) live = memory().tensors;
    }
    expect(memory().tensors).toBe(live);
    expect(loss).toBeLessThan(0.02);
    const pred = tidy(() => forward().dataSync());
    expect(Array.from(pred, (p) => (p > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });

  test('a 2-layer MLP learns XOR with BCE loss (log of sigmoid outputs) and a warmup-cosine schedule', () => {
    const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]], undefined, { device });
    const y = tensor([[0], [1], [1], [0]], undefined, { device });
    const params = [init([8, 2], 1, device, 21), init([8], 0.1, device, 22), init([1, 8], 1, device, 23), init([1], 0.1, device, 24)];
    const [w1, b1, w2, b2] = params;
    const opt = new optim.Adam(params, { lr: 0.1 });
    const sched = new optim.LRScheduler(opt, optim.warmupCosine({ warmupSteps: 20, totalSteps: 400, minFactor: 0.1 }));
    const forward = () => ops.sigmoid(ops.linear(ops.relu(ops.linear(x, w1, b1)), w2, b2));
    let loss = 0;
    for (let step = 0; step < 400; ++step) {
      loss = tidy(() => {
        const p = ops.clamp(forward(), 1e-6, 1 - 1e-6);
        // BCE = -mean(y log p + (1 - y) log(1 - p))
        const l = ops.neg(ops.mean(ops.add(ops.mul(y, ops.log(p)), ops.mul(ops.sub(1, y), ops.log(ops.sub(1, p))))));
        l.backward();
        return l.item();
      });
      opt.step();
      opt.zeroGrad();
      sched.step();
    }
    expect(loss).toBeLessThan(0.1);
    const pred = tidy(() => forward().dataSync());
    expect(Array.from(pred, (p) => (p > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });

  test.each(['SGD', 'AdamW'])('linear regression on noisy linear data with %s: loss falls to the noise floor', (kind) => {
    // y = x · w* + b* + noise, x (256, 5), noise std 0.1 -> the best MSE is ~0.01.
    const n = 256, d = 5;
    const wStar = [1.5, -2, 0.5, 3, -1];
    const bStar = 0.7;
    const xv = Array.from(randn([n, d], { seed: 31 }).dataSync());
    const nv = Array.from(randn([n], { seed: 32 }).dataSync());
    const yv = Array.from({ length: n }, (_, i) => wStar.reduce((s, w, j) => s + w * xv[i * d + j], bStar) + 0.1 * nv[i]);
    const x = tensor(xv, [n, d], { device });
    const y = tensor(yv, [n, 1], { device });
    const w = init([1, d], 0.1, device, 33);
    const b = init([1], 0, device, 34);
    const opt = kind === 'SGD'
      ? new optim.SGD([w, b], { lr: 0.05, momentum: 0.9, nesterov: true })
      : new optim.AdamW([{ params: [w] }, { params: [b], weightDecay: 0 }], { lr: 0.1, weightDecay: 1e-4 });
    const lossAt = () => tidy(() => {
      const l = ops.mean(ops.square(ops.sub(ops.linear(x, w, b), y)));
      l.backward();
      return l.item();
    });
    const first = lossAt();
    opt.zeroGrad();
    let last = first;
    for (let step = 0; step < 300; ++step) {
      last = lossAt();
      opt.step();
      opt.zeroGrad();
    }
    expect(first).toBeGreaterThan(5);
    expect(last).toBeLessThan(0.02);
    Array.from(w.dataSync()).forEach((v, j) => expect(Math.abs(v - wStar[j])).toBeLessThan(0.05));
    expect(Math.abs(b.item() - bStar)).toBeLessThan(0.05);
  });
});
