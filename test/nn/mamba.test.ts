// Mamba mixer: mamba-ssm names/shapes/init, forward vs a float64 reference of the whole block,
// padding invariance in both directions, gradients to every parameter.
import { nn, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { mambaRef } from '../helpers/mamba_ref';
import { closeness, randomArray } from '../helpers/reference';

const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));

describe.each(testDevices)('Mamba on %s', (device) => {
  test('mamba-ssm parameter names, shapes and initialisation', () => {
    const m = new nn.Mamba({ dModel: 24, seed: 3, device });
    const shapes = Object.fromEntries(m.namedParameters().map(([n, t]) => [n, t.shape]));
    expect(shapes).toEqual({
      'in_proj.weight': [96, 24], 'conv1d.weight': [48, 1, 4], 'conv1d.bias': [48], 'x_proj.weight': [2 + 32, 48],
      'dt_proj.weight': [48, 2], 'dt_proj.bias': [48], A_log: [48, 16], D: [48], 'out_proj.weight': [24, 48],
    });
    const aLog = m.A_log.dataSync();
    for (let e = 0; e < 48; ++e) for (let n = 0; n < 16; ++n) expect(aLog[e * 16 + n]).toBeCloseTo(Math.log(n + 1), 6);
    expect(Array.from(m.D.dataSync())).toEqual(new Array(48).fill(1));
    for (const b of m.dt_proj.bias!.dataSync()) {
      const dt = softplus(b);
      expect(dt).toBeGreaterThanOrEqual(0.001 * 0.999);
      expect(dt).toBeLessThanOrEqual(0.1 * 1.001);
    }
    for (const w of m.dt_proj.weight.dataSync()) expect(Math.abs(w)).toBeLessThanOrEqual(2 ** -0.5 + 1e-7);
  });

  test.each([false, true])('forward vs float64 reference with padding (reverse = %s)', (reverse) => {
    const [B, L, C] = [3, 13, 16];
    const m = new nn.Mamba({ dModel: C, dState: 4, seed: 5, device, reverse });
    const x = Float32Array.from(randomArray(B * L * C));
    const lens = [13, 7, 1];
    const y = m.forward(tensor(x, [B, L, C], { device }), lens).dataSync();
    for (let b = 0; b < B; ++b) {
      const ref = mambaRef(m, x.subarray(b * L * C, (b + 1) * L * C), L, lens[b], reverse);
      const got = y.subarray(b * L * C, (b + 1) * L * C);
      expect(closeness(got.subarray(0, lens[b] * C), ref.subarray(0, lens[b] * C), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  test('padding invariance: a padded batch gives each item alone, both directions', () => {
    const [L, C] = [11, 8];
    for (const reverse of [false, true]) {
      const m = new nn.Mamba({ dModel: C, dState: 8, seed: 9, device, reverse });
      const a = Float32Array.from(randomArray(L * C));
      const b = Float32Array.from(randomArray(L * C));
      const batch = m.forward(tensor(Float32Array.from([...a, ...b]), [2, L, C], { device }), [L, 6]).dataSync();
      const alone = m.forward(tensor(b.subarray(0, 6 * C), [1, 6, C], { device })).dataSync();
      expect(closeness(batch.subarray(L * C, L * C + 6 * C), alone, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    }
  });

  test('gradients reach every parameter and the input', () => {
    const m = new nn.Mamba({ dModel: 8, dState: 4, seed: 1, device });
    const x = tensor(Float32Array.from(randomArray(2 * 5 * 8)), [2, 5, 8], { device, requiresGrad: true });
    ops.sum(ops.square(m.forward(x, [5, 3]))).backward();
    for (const [n, p] of m.namedParameters()) {
      expect({ n, has: p.grad !== null }).toEqual({ n, has: true });
      expect(Array.from(p.grad!.dataSync()).some((v) => v !== 0)).toBe(true);
    }
    const gx = x.grad!.dataSync();
    // Padded steps of item 1 (t >= 3) get no gradient.
    for (let t = 3; t < 5; ++t) for (let c = 0; c < 8; ++c) expect(gx[(5 + t) * 8 + c]).toBe(0);
  });
});

test('Mamba gradients vs finite differences (default device)', () => {
  const m = new nn.Mamba({ dModel: 4, dState: 2, expand: 1, seed: 2 });
  const x = tensor(Float32Array.from(randomArray(1 * 4 * 4)), [1, 4, 4], { requiresGrad: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { gradCheck } = require('../../lib') as typeof import('../../lib');
  expect(gradCheck((t: Tensor) => m.forward(t, [3]), [x], { eps: 1e-2, rtol: 2e-2, atol: 2e-3 }).worst).toBeLessThanOrEqual(1);
});
