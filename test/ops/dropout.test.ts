// dropout: kept fraction, scaling, the mask as a pure function of (seed, offset, index) checked
// against an independent BigInt Philox, reproducibility through manualSeed, backward = same mask,
// and the same mask on cpu and cuda.
import { manualSeed, ops, rand, tensor } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { philoxUniform, randomArray } from '../helpers/reference';

const ones = (n: number, device: 'cpu' | 'cuda') => tensor(new Float32Array(n).fill(1), [n], { device });

describe.each(testDevices)('dropout on %s', (device) => {
  test.each([0.1, 0.5, 0.9])('p = %f: kept fraction within 0.01 of 1 - p at n = 1e6, kept values scaled by 1/(1-p)', (p) => {
    const n = 1_000_000;
    const y = ops.dropout(ones(n, device), p, { seed: 1234 }).dataSync();
    const scale = Math.fround(1 / Math.fround(1 - Math.fround(p)));
    let kept = 0;
    for (let i = 0; i < n; ++i) {
      if (y[i] !== 0) {
        kept++;
        if (y[i] !== scale) throw new Error(`element ${i} = ${y[i]}, expected 0 or ${scale}`);
      }
    }
    expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.01);
  });

  test('the mask is keep_i = philox_uniform(seed, 0, i) >= p (independent BigInt Philox)', () => {
    const p = 0.3;
    const x = tensor(Float32Array.from(randomArray(203)), [7, 29], { device });
    const y = ops.dropout(x, p, { seed: 77n }).dataSync();
    const xv = x.dataSync();
    for (let i = 0; i < 203; ++i) {
      const keep = philoxUniform(77n, 0n, i) >= Math.fround(p);
      const want = keep ? Math.fround(xv[i] * Math.fround(1 / Math.fround(1 - Math.fround(p)))) : 0;
      expect(y[i] === want).toBe(true); // == so that -0 (a dropped negative) equals 0
    }
  });

  test('same seed same mask, other seed other mask; manualSeed makes the unseeded call reproducible', () => {
    const x = ones(4096, device);
    const a = Array.from(ops.dropout(x, 0.5, { seed: 9 }).dataSync());
    expect(Array.from(ops.dropout(x, 0.5, { seed: 9 }).dataSync())).toEqual(a);
    expect(Array.from(ops.dropout(x, 0.5, { seed: 10 }).dataSync())).not.toEqual(a);
    manualSeed(42);
    const r1 = Array.from(ops.dropout(x, 0.5).dataSync());
    const r2 = Array.from(ops.dropout(x, 0.5).dataSync());
    expect(r2).not.toEqual(r1); // the generator advanced
    manualSeed(42);
    expect(Array.from(ops.dropout(x, 0.5).dataSync())).toEqual(r1);
    expect(Array.from(ops.dropout(x, 0.5).dataSync())).toEqual(r2);
    // The generator is shared with rand(): its counter moved past dropout's draws.
    manualSeed(42);
    ops.dropout(x, 0.5);
    const after = rand([4], { device }).dataSync();
    manualSeed(42);
    expect(Array.from(rand([4], { device }).dataSync())).not.toEqual(Array.from(after));
  });

  test('backward regenerates the mask: grad = upstream * keep / (1 - p)', () => {
    const x = tensor(Float32Array.from(randomArray(1000)), [10, 100], { device, requiresGrad: true });
    const y = ops.dropout(x, 0.25, { seed: 5 });
    const g = Float32Array.from(randomArray(1000));
    y.backward(tensor(g, [10, 100], { device }));
    const yv = y.dataSync();
    const gx = x.grad!.dataSync();
    const s = Math.fround(1 / 0.75);
    for (let i = 0; i < 1000; ++i) expect(gx[i] === (yv[i] === 0 ? 0 : Math.fround(g[i] * s))).toBe(true);
  });

  test('eval mode and p = 0 return x itself; p = 1 zeroes everything', () => {
    const x = tensor([1, 2, 3], undefined, { device, requiresGrad: true });
    expect(ops.dropout(x, 0.5, { training: false })).toBe(x);
    expect(ops.dropout(x, 0)).toBe(x);
    const y = ops.dropout(x, 1, { seed: 1 });
    expect(Array.from(y.dataSync())).toEqual([0, 0, 0]);
    y.sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, 0]);
  });

  test('non-contiguous input: the mask follows the logical row-major order', () => {
    const x = tensor(Float32Array.from(randomArray(60)), [6, 10], { device }).transpose(0, 1);
    const a = ops.dropout(x, 0.5, { seed: 3 }).dataSync();
    const b = ops.dropout(x.contiguous(), 0.5, { seed: 3 }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  test('bad arguments', () => {
    const x = ones(3, device);
    expect(() => ops.dropout(x, 1.5)).toThrow('[dropout] p must be a number in [0, 1], got 1.5');
    expect(() => ops.dropout(tensor(Int32Array.from([1]), [1], { device }), 0.5)).toThrow('[dropout] x must be float32 or bfloat16, got int32');
    expect(() => ops.dropout(x, 0.5, { seed: -1 })).toThrow('[dropout] seed must be an integer >= 0');
  });
});

describeCuda('dropout cpu vs cuda', () => {
  test('same seed, same output on both devices (float32 and bfloat16), 1e6 + 3 elements', () => {
    const n = 1_000_003;
    const xv = Float32Array.from(randomArray(n));
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const [c, g] = (['cpu', 'cuda'] as const).map((device) =>
        ops.dropout(tensor(xv, [n], { device, dtype }), 0.37, { seed: 2n ** 63n + 5n }).dataSync());
      expect(Buffer.from(g.buffer).equals(Buffer.from(c.buffer))).toBe(true);
    }
  });
});
