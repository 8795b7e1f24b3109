// rand/randn against an independent BigInt Philox4x32-10, reproducibility, statistics.
import { manualSeed, rand, randn, tensor } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { philoxNormal, philoxUniform } from '../helpers/reference';

describe.each(testDevices)('random on %s', (device) => {
  test.each([1, 7, 129, 2049])('rand matches the Philox reference bit for bit (n = %i)', (n) => {
    const seed = BigInt(Math.floor(Math.random() * 2 ** 52));
    const t = rand([n], { seed, device });
    const v = t.dataSync();
    for (let i = 0; i < n; ++i) expect(v[i]).toBe(philoxUniform(seed, 0n, i));
  });

  test.each([1, 7, 129, 2049])('randn matches Box-Muller over Philox (n = %i)', (n) => {
    const seed = Math.floor(Math.random() * 2 ** 31);
    const v = randn([n], { seed, device }).dataSync();
    for (let i = 0; i < n; ++i) expect(Math.abs(v[i] - philoxNormal(BigInt(seed), 0n, i))).toBeLessThanOrEqual(1e-6);
  });

  test('seeds above 2^53 work as BigInt', () => {
    const seed = (1n << 63n) + 12345n;
    const v = rand([5], { seed, device }).dataSync();
    for (let i = 0; i < 5; ++i) expect(v[i]).toBe(philoxUniform(seed, 0n, i));
  });

  test('same seed, same numbers; different seed, different numbers', () => {
    const a = randn([1000], { seed: 7, device }).dataSync();
    const b = randn([1000], { seed: 7, device }).dataSync();
    const c = randn([1000], { seed: 8, device }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  test('the global generator advances and manualSeed resets it', () => {
    manualSeed(123);
    const a = rand([10], { device }).dataSync();
    const b = rand([10], { device }).dataSync();
    expect(Array.from(a)).not.toEqual(Array.from(b));
    // The second call continues at block ceil(10 / 4) = 3.
    for (let i = 0; i < 10; ++i) expect(b[i]).toBe(philoxUniform(123n, 3n, i));
    manualSeed(123);
    expect(Array.from(rand([10], { device }).dataSync())).toEqual(Array.from(a));
  });

  test('moments: uniform in [0, 1) with mean 1/2, normal with mean 0 and variance 1', () => {
    const n = 1 << 20;
    const u = rand([n], { seed: Math.floor(Math.random() * 1e9), device }).dataSync();
    let su = 0;
    let min = 1;
    let max = 0;
    for (const x of u) {
      su += x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // 5 standard errors: sd of the mean is sqrt(1/12 / n) = 2.8e-4.
    expect(Math.abs(su / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    const z = randn([n], { seed: Math.floor(Math.random() * 1e9), device }).dataSync();
    let s1 = 0;
    let s2 = 0;
    for (const x of z) {
      s1 += x;
      s2 += x * x;
    }
    const mean = s1 / n;
    const variance = s2 / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  test('bfloat16 samples are the float32 samples rounded', () => {
    const f = randn([333], { seed: 5, device }).to('bfloat16').dataSync();
    const b = randn([333], { seed: 5, device, dtype: 'bfloat16' }).dataSync();
    expect(Array.from(b)).toEqual(Array.from(f));
  });

  test('int32 random is refused', () => {
    expect(() => randn([2], { dtype: 'int32', device })).toThrow('[randn] dtype must be float32 or bfloat16, got int32');
    expect(() => rand([2], { dtype: 'int32', device })).toThrow('[rand] dtype must be float32 or bfloat16, got int32');
  });
});

describeCuda('random cpu/cuda agreement', () => {
  test('same seed gives the same tensor on cpu and cuda', () => {
    for (const n of [1, 7, 129, 2049, 100003]) {
      const seed = Math.floor(Math.random() * 2 ** 40);
      const uc = rand([n], { seed, device: 'cpu' }).dataSync();
      const ug = rand([n], { seed, device: 'cuda' }).dataSync();
      expect(Array.from(ug)).toEqual(Array.from(uc));
      const nc = randn([n], { seed, device: 'cpu' }).dataSync();
      const ng = randn([n], { seed, device: 'cuda' }).dataSync();
      let worst = 0;
      for (let i = 0; i < n; ++i) worst = Math.max(worst, Math.abs(nc[i] - ng[i]));
      expect(worst).toBeLessThanOrEqual(1e-6);
    }
  });

  test('a tensor moved to cuda and back is unchanged', () => {
    const x = randn([4097], { seed: 3, device: 'cpu' });
    expect(Array.from(x.to('cuda').to('cpu').dataSync())).toEqual(Array.from(x.dataSync()));
    const i = tensor(new Int32Array([1, -2, 3]), undefined, { device: 'cpu' });
    expect(Array.from(i.to('cuda').to('cpu').dataSync())).toEqual([1, -2, 3]);
    const b = x.to({ device: 'cuda', dtype: 'bfloat16' });
    expect(Array.from(b.to('cpu').dataSync())).toEqual(Array.from(x.to('bfloat16').dataSync()));
  });
});
