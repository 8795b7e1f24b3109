// attention: dropout (kept fraction, same mask forward and backward, cpu = cuda), deterministic
// backward, finite differences, bad input.
import { attentionRef } from '../../lib/ops/attention_ref';
import { Device, manualSeed, noGrad, ops, tensor, zeros } from '../../lib';
import { AttnCase, caseName, normErr, runCase } from './attention_helpers';
import { describeCuda, testDevices } from '../helpers/devices';
import { randomArray } from '../helpers/reference';

describe.each(testDevices)('attention dropout on %s', (device) => {
  test.each([0.1, 0.5])('kept fraction within 0.01 of 1 - p (p = %p)', (p) => {
    // q = 0 makes P uniform (1/Lk); v = identity makes out[i][j] = Z_ij / ((1 - p) Lk): the mask itself.
    const L = 256;
    const B = 1;
    const H = 2;
    const eye = new Float32Array(B * H * L * L);
    for (let h = 0; h < H; ++h) for (let j = 0; j < L; ++j) eye[(h * L + j) * L + j] = 1;
    const q = zeros([B, H, L, L], { device });
    const v = tensor(eye, [B, H, L, L], { device });
    const out = ops.attention(q, q, v, { dropout: p, seed: 1234 + Math.floor(Math.random() * 1e6) }).dataSync();
    let kept = 0;
    let worst = 0;
    const want = 1 / ((1 - Math.fround(p)) * L);
    for (const x of out) {
      if (x !== 0) {
        kept++;
        worst = Math.max(worst, Math.abs(x - want) / want);
      }
    }
    expect(worst).toBeLessThan(1e-5);
    expect(Math.abs(kept / out.length - (1 - p))).toBeLessThan(0.01);
  });

  test.each<AttnCase>([
    { B: 2, H: 2, Lq: 7, Lk: 129, Dh: 36, causal: true, dropout: 0.3, keyLengths: [100, 129] },
    { B: 1, H: 3, Lq: 64, Lk: 64, Dh: 64, dropout: 0.5, queryLengths: [50] },
  ])('the same Philox mask forward and backward vs the reference: $Lq x $Lk', (c) => {
    const r = runCase(c, device);
    const errs = [normErr(r.out, r.ref.out), normErr(r.dq, r.ref.dq), normErr(r.dk, r.ref.dk), normErr(r.dv, r.ref.dv)];
    for (const e of errs) expect(e).toBeLessThanOrEqual(1e-5);
  });

  test('same seed, same result; another seed, another mask', () => {
    const shape = [2, 2, 33, 16];
    const q = tensor(Float32Array.from(randomArray(2 * 2 * 33 * 16)), shape, { device });
    const run = (seed: number) => ops.attention(q, q, q, { dropout: 0.4, seed }).dataSync();
    expect(Array.from(run(7))).toEqual(Array.from(run(7)));
    expect(Array.from(run(7))).not.toEqual(Array.from(run(8)));
  });

  test('without a seed, dropout draws from the global generator: manualSeed replays it, later calls differ', () => {
    const shape = [2, 2, 33, 16];
    const q = tensor(Float32Array.from(randomArray(2 * 2 * 33 * 16)), shape, { device });
    const run = () => Array.from(ops.attention(q, q, q, { dropout: 0.4 }).dataSync());
    manualSeed(123);
    const a = run(), b = run();
    manualSeed(123);
    expect(run()).toEqual(a);
    expect(run()).toEqual(b);
    expect(b).not.toEqual(a);
  });
});

describe.each(testDevices)('attention backward on %s', (device) => {
  test('deterministic backward is bitwise identical over 3 runs', () => {
    const c: AttnCase = { B: 2, H: 2, Lq: 129, Lk: 200, Dh: 64, causal: true, dropout: 0.2, keyLengths: [150, 200] };
    const shapeQ = [c.B, c.H, c.Lq, c.Dh];
    const shapeK = [c.B, c.H, c.Lk, c.Dh];
    const qa = Float32Array.from(randomArray(c.B * c.H * c.Lq * c.Dh, 2));
    const ka = Float32Array.from(randomArray(c.B * c.H * c.Lk * c.Dh));
    const va = Float32Array.from(randomArray(c.B * c.H * c.Lk * c.Dh));
    const ga = Float32Array.from(randomArray(c.B * c.H * c.Lq * c.Dh));
    const runs: number[][] = [];
    for (let r = 0; r < 3; ++r) {
      const q = tensor(qa, shapeQ, { device, requiresGrad: true });
      const k = tensor(ka, shapeK, { device, requiresGrad: true });
      const v = tensor(va, shapeK, { device, requiresGrad: true });
      const out = ops.attention(q, k, v, { causal: true, keyLengths: Int32Array.from(c.keyLengths!), dropout: 0.2, seed: 99, deterministic: true });
      out.backward(tensor(ga, shapeQ, { device }));
      runs.push([...q.grad!.dataSync(), ...k.grad!.dataSync(), ...v.grad!.dataSync()]);
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  test('gradients match finite differences of the op (tiny case)', () => {
    const c = { B: 1, H: 2, Lq: 3, Lk: 5, Dh: 4 };
    const opts = { causal: true, keyLengths: Int32Array.from([4]) };
    const qa = randomArray(c.B * c.H * c.Lq * c.Dh, 1.5);
    const ka = randomArray(c.B * c.H * c.Lk * c.Dh);
    const va = randomArray(c.B * c.H * c.Lk * c.Dh);
    const ga = randomArray(c.B * c.H * c.Lq * c.Dh);
    const loss = (qx: Float64Array, kx: Float64Array, vx: Float64Array): number => noGrad(() => {
      const out = ops.attention(tensor(Float32Array.from(qx), [1, 2, 3, 4], { device }), tensor(Float32Array.from(kx), [1, 2, 5, 4], { device }),
        tensor(Float32Array.from(vx), [1, 2, 5, 4], { device }), opts).dataSync();
      let s = 0;
      for (let i = 0; i < out.length; ++i) s += out[i] * ga[i];
      return s;
    });
    const q = tensor(Float32Array.from(qa), [1, 2, 3, 4], { device, requiresGrad: true });
    const k = tensor(Float32Array.from(ka), [1, 2, 5, 4], { device, requiresGrad: true });
    const v = tensor(Float32Array.from(va), [1, 2, 5, 4], { device, requiresGrad: true });
    ops.attention(q, k, v, opts).backward(tensor(Float32Array.from(ga), [1, 2, 3, 4], { device }));
    const eps = 1e-2;
    for (const [x, grad] of [[qa, q.grad!], [ka, k.grad!], [va, v.grad!]] as const) {
      const g = grad.dataSync();
      const fd = new Float64Array(x.length);
      for (let i = 0; i < x.length; ++i) {
        const x0 = x[i];
        x[i] = x0 + eps;
        const lp = loss(qa, ka, va);
        x[i] = x0 - eps;
        const lm = loss(qa, ka, va);
        x[i] = x0;
        fd[i] = (lp - lm) / (2 * eps);
      }
      expect(normErr(g, fd)).toBeLessThan(2e-3);
    }
  });
});

test('the float64 reference gradients match its finite differences (masks and dropout)', () => {
  const [B, H, Lq, Lk, Dh] = [2, 2, 4, 5, 3];
  const keepBits = Array.from({ length: B * H * Lq * Lk }, () => Math.random() > 0.3);
  const opts = {
    causal: true, keyLengths: [4, 5], queryLengths: [4, 2], scale: 0.7, dropout: 0.3,
    keep: (b: number, h: number, i: number, j: number) => keepBits[((b * H + h) * Lq + i) * Lk + j],
  };
  const q = randomArray(B * H * Lq * Dh, 2);
  const k = randomArray(B * H * Lk * Dh);
  const v = randomArray(B * H * Lk * Dh);
  const g = randomArray(B * H * Lq * Dh);
  const grads = attentionRef(q, k, v, [B, H, Lq, Lk, Dh], opts).backward(g);
  const loss = () => attentionRef(q, k, v, [B, H, Lq, Lk, Dh], opts).out.reduce((s, o, i) => s + o * g[i], 0);
  const eps = 1e-6;
  for (const [x, gx] of [[q, grads.dq], [k, grads.dk], [v, grads.dv]] as const) {
    for (let i = 0; i < x.length; ++i) {
      const x0 = x[i];
      x[i] = x0 + eps;
      const lp = loss();
      x[i] = x0 - eps;
      const lm = loss();
      x[i] = x0;
      expect(Math.abs((lp - lm) / (2 * eps) - gx[i])).toBeLessThan(1e-7);
    }
  }
});

describe.each(testDevices)('attention bad input on %s', (device) => {
  const t = (shape: number[], dtype: 'float32' | 'bfloat16' | 'int32' = 'float32', dev: Device = device) => zeros(shape, { device: dev, dtype });
  test('shapes, dtypes, lengths and options are checked with clear errors', () => {
    const q = t([2, 4, 7, 64]);
    expect(() => ops.attention(q, t([2, 4, 7, 32]), t([2, 4, 7, 32]))).toThrow(
      '[attention] k must have shape (B, H, Lk, Dh) = (2, 4, 7, 64), got (2, 4, 7, 32)');
    expect(() => ops.attention(q, t([2, 3, 9, 64]), t([2, 3, 9, 64]))).toThrow(
      '[attention] k must have shape (B, H, Lk, Dh) = (2, 4, 9, 64), got (2, 3, 9, 64)');
    expect(() => ops.attention(q, t([2, 4, 9, 64]), t([2, 4, 8, 64]))).toThrow(
      '[attention] v must have shape (B, H, Lk, Dh) = (2, 4, 9, 64), got (2, 4, 8, 64)');
    expect(() => ops.attention(t([1, 1, 3, 257]), t([1, 1, 3, 257]), t([1, 1, 3, 257]))).toThrow(
      '[attention] head dim Dh must be in [1, 256], got 257');
    expect(() => ops.attention(t([4, 7, 64]), t([4, 7, 64]), t([4, 7, 64]))).toThrow(
      '[attention] q must have 4 dims (B, H, L, Dh), got shape (4, 7, 64)');
    expect(() => ops.attention(q, q, q, { keyLengths: Int32Array.from([7, 8]) })).toThrow(
      '[attention] keyLengths[1] = 8 is outside [0, 7]');
    expect(() => ops.attention(q, q, q, { queryLengths: Int32Array.from([-1, 3]) })).toThrow(
      '[attention] queryLengths[0] = -1 is outside [0, 7]');
    expect(() => ops.attention(q, q, q, { keyLengths: Int32Array.from([7]) })).toThrow(
      '[attention] keyLengths must have B = 2 entries, got 1');
    expect(() => ops.attention(q, q, q, { keyLengths: t([2]) })).toThrow('[attention] keyLengths must be int32, got float32');
    expect(() => ops.attention(q, q, q, { dropout: 1 })).toThrow('[attention] dropout must be in [0, 1), got number 1');
    expect(() => ops.attention(q, q, q, { dropout: -0.1 })).toThrow('[attention] dropout must be in [0, 1)');
    expect(() => ops.attention(q, q, q, { scale: NaN })).toThrow('[attention] scale must be a finite number');
    expect(() => ops.attention(q, t([2, 4, 7, 64], 'int32'), q)).toThrow('[attention] k has dtype int32 but q has float32');
    expect(() => ops.attention(q, 3 as never, q)).toThrow('[attention] k must be a Tensor, got number 3');
    expect(() => ops.attention(q, q, q, { keyLengths: 'x' as never })).toThrow('[attention] keyLengths must be an Int32Array, a number array or an int32 Tensor');
    if (device === 'cpu') {
      const b = t([2, 4, 7, 64], 'bfloat16');
      expect(() => ops.attention(b, b, b)).toThrow('[attention] bfloat16 attention runs on cuda');
    }
  });

  test('lengths as Int32Array, number[] or int32 Tensor agree; noGrad records nothing', () => {
    const q = tensor(Float32Array.from(randomArray(2 * 3 * 9 * 16)), [2, 3, 9, 16], { device, requiresGrad: true });
    const a = ops.attention(q, q, q, { keyLengths: Int32Array.from([4, 9]), queryLengths: [9, 2] }).dataSync();
    const b = ops.attention(q, q, q, { keyLengths: tensor(Int32Array.from([4, 9]), [2], { device }), queryLengths: tensor(Int32Array.from([9, 2]), [2]) }).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    const out = noGrad(() => ops.attention(q, q, q));
    expect(out.requiresGrad).toBe(false);
  });

  test('empty sizes give empty or zero results', () => {
    const q = tensor(new Float32Array(0), [2, 1, 0, 8], { device, requiresGrad: true });
    const k = tensor(Float32Array.from(randomArray(2 * 5 * 8)), [2, 1, 5, 8], { device, requiresGrad: true });
    const out = ops.attention(q, k, k);
    expect(out.shape).toEqual([2, 1, 0, 8]);
    out.backward(zeros([2, 1, 0, 8], { device }));
    expect(Array.from(k.grad!.dataSync()).every((x) => x === 0)).toBe(true);
    const k0 = tensor(new Float32Array(0), [1, 1, 0, 8], { device });
    const q1 = tensor(Float32Array.from(randomArray(3 * 8)), [1, 1, 3, 8], { device });
    expect(Array.from(ops.attention(q1, k0, k0).dataSync())).toEqual(new Array(24).fill(0));
  });
});

describeCuda('attention bfloat16 backward on cuda', () => {
  // The default bf16 backward adds dQ with float atomics (order varies run to run);
  // deterministic: true must still be bitwise reproducible.
  test('deterministic backward is bitwise identical over 3 runs (bfloat16)', () => {
    const shapeQ = [2, 2, 257, 64];
    const shapeK = [2, 2, 300, 64];
    const qa = Float32Array.from(randomArray(2 * 2 * 257 * 64, 2));
    const ka = Float32Array.from(randomArray(2 * 2 * 300 * 64));
    const ga = Float32Array.from(randomArray(2 * 2 * 257 * 64));
    const runs: number[][] = [];
    for (let r = 0; r < 3; ++r) {
      const o = { device: 'cuda' as Device, dtype: 'bfloat16' as const, requiresGrad: true };
      const q = tensor(qa, shapeQ, o);
      const k = tensor(ka, shapeK, o);
      const out = ops.attention(q, k, k, { causal: true, keyLengths: Int32Array.from([300, 211]), dropout: 0.1, seed: 5, deterministic: true });
      out.backward(tensor(ga, shapeQ, { device: 'cuda', dtype: 'bfloat16' }));
      runs.push([...q.grad!.dataSync(), ...k.grad!.dataSync()]);
      [q, k, out, q.grad!, k.grad!].forEach((t) => t.dispose());
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describeCuda('attention cpu vs cuda', () => {
  test('mixing devices is refused', () => {
    const a = zeros([1, 1, 2, 8], { device: 'cpu' });
    const b = zeros([1, 1, 2, 8], { device: 'cuda' });
    expect(() => ops.attention(a, b, b)).toThrow('[attention] k is on cuda but q is on cpu; move it with .to()');
  });

  test('same inputs and seed give the same results (and dropout mask) on both devices', () => {
    const c: AttnCase = { B: 2, H: 3, Lq: 129, Lk: 77, Dh: 80, causal: true, dropout: 0.25, seed: 4242, keyLengths: [77, 40] };
    const shapeQ = [c.B, c.H, c.Lq, c.Dh];
    const shapeK = [c.B, c.H, c.Lk, c.Dh];
    const qa = Float32Array.from(randomArray(c.B * c.H * c.Lq * c.Dh, 2));
    const ka = Float32Array.from(randomArray(c.B * c.H * c.Lk * c.Dh));
    const res = (['cpu', 'cuda'] as const).map((device) => {
      const q = tensor(qa, shapeQ, { device, requiresGrad: true });
      const k = tensor(ka, shapeK, { device, requiresGrad: true });
      const out = ops.attention(q, k, k, { causal: true, dropout: 0.25, seed: 4242, keyLengths: Int32Array.from(c.keyLengths!) });
      out.backward(tensor(qa, shapeQ, { device }));
      return [out.dataSync(), q.grad!.dataSync(), k.grad!.dataSync()];
    });
    for (let i = 0; i < 3; ++i) expect(normErr(res[1][i], res[0][i])).toBeLessThan(1e-5);
    expect(caseName(c)).toContain('p0.25');
  });
});
