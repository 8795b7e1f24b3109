// matmul/linear vs a float64 reference: shapes that break every tile, transposed and broadcast
// operands, 1-D vectors, gradients; CPU vs CUDA; the project's own CUDA kernel too.
import { gradCheck, ops, tensor, Tensor } from '../../lib';
import { native } from '../../lib/native';
import { describeCuda, testDevices } from '../helpers/devices';
import { describeExit, runChild } from '../helpers/child';
import { closeness, randomArray } from '../helpers/reference';

function refMatmul(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; ++i)
    for (let k = 0; k < K; ++k) {
      const av = a[i * K + k];
      for (let j = 0; j < N; ++j) c[i * N + j] += av * b[k * N + j];
    }
  return c;
}
// float32 products summed over K: error grows like sqrt(K) ulp; compare with atol scaled to K.
const tol = (K: number) => ({ rtol: 1e-5, atol: 2e-6 * Math.sqrt(Math.max(K, 1)) * 4 });

const shapes: [number, number, number][] = [[1, 1, 1], [7, 3, 5], [13, 129, 33], [129, 7, 2049], [65, 257, 97], [300, 500, 260]];

describe.each(testDevices)('matmul on %s', (device) => {
  test.each(shapes)('(%i x %i) · (%i) vs float64', (M, K, N) => {
    const a = Float32Array.from(randomArray(M * K));
    const b = Float32Array.from(randomArray(K * N));
    const out = ops.matmul(tensor(a, [M, K], { device }), tensor(b, [K, N], { device }));
    expect(out.shape).toEqual([M, N]);
    const { rtol, atol } = tol(K);
    expect(closeness(out.dataSync(), refMatmul(a, b, M, K, N), rtol, atol)).toBeLessThanOrEqual(1);
  });

  test('transposed views of either operand go straight in', () => {
    const [M, K, N] = [37, 70, 19];
    const a = Float32Array.from(randomArray(M * K));
    const b = Float32Array.from(randomArray(K * N));
    const at = ops.transpose(ops.contiguous(ops.transpose(tensor(a, [M, K], { device }))));
    const bt = ops.transpose(ops.contiguous(ops.transpose(tensor(b, [K, N], { device }))));
    const ref = refMatmul(a, b, M, K, N);
    const { rtol, atol } = tol(K);
    for (const [x, y] of [[at, bt], [at, tensor(b, [K, N], { device })], [tensor(a, [M, K], { device }), bt]]) {
      expect(closeness(ops.matmul(x, y).dataSync(), ref, rtol, atol)).toBeLessThanOrEqual(1);
    }
  });

  // The CPU driver packs B whole when K x N fits in L2 (one slice or several) and per 256-row
  // slice otherwise, packs transposed operands with 4x4 transposes (rows and K not multiples
  // of 4 here), and shrinks row blocks so every thread has its own rows: each path, each layout.
  test.each([[65, 1101, 601], [129, 777, 101], [13, 300, 5]])('large (%i x %i) · (%i): every packing path and layout', (M, K, N) => {
    const a = Float32Array.from(randomArray(M * K));
    const b = Float32Array.from(randomArray(K * N));
    const ref = refMatmul(a, b, M, K, N);
    const { rtol, atol } = tol(K);
    const a0 = tensor(a, [M, K], { device });
    const b0 = tensor(b, [K, N], { device });
    const at = ops.transpose(ops.contiguous(ops.transpose(a0)));
    const bt = ops.transpose(ops.contiguous(ops.transpose(b0)));
    for (const [x, y] of [[a0, b0], [at, bt], [at, b0], [a0, bt]]) {
      expect(closeness(ops.matmul(x, y).dataSync(), ref, rtol, atol)).toBeLessThanOrEqual(1);
    }
  });

  test('batch broadcasting, folded 2-D weights and 1-D vectors', () => {
    const [B, M, K, N] = [3, 5, 7, 4];
    const a = Float32Array.from(randomArray(B * M * K));
    const b = Float32Array.from(randomArray(K * N));
    const at = tensor(a, [B, M, K], { device });
    const out = ops.matmul(at, tensor(b, [K, N], { device }));
    expect(out.shape).toEqual([B, M, N]);
    const { rtol, atol } = tol(K);
    for (let i = 0; i < B; ++i) {
      const ref = refMatmul(a.subarray(i * M * K, (i + 1) * M * K), b, M, K, N);
      expect(closeness(out.dataSync().subarray(i * M * N, (i + 1) * M * N), ref, rtol, atol)).toBeLessThanOrEqual(1);
    }
    // (2, 1, M, K) · (3, K, N) -> (2, 3, M, N)
    const a4 = Float32Array.from(randomArray(2 * M * K));
    const b3 = Float32Array.from(randomArray(3 * K * N));
    const o4 = ops.matmul(tensor(a4, [2, 1, M, K], { device }), tensor(b3, [3, K, N], { device }));
    expect(o4.shape).toEqual([2, 3, M, N]);
    const v = o4.dataSync();
    for (let i = 0; i < 2; ++i) for (let j = 0; j < 3; ++j) {
      const ref = refMatmul(a4.subarray(i * M * K, (i + 1) * M * K), b3.subarray(j * K * N, (j + 1) * K * N), M, K, N);
      expect(closeness(v.subarray((i * 3 + j) * M * N, (i * 3 + j + 1) * M * N), ref, rtol, atol)).toBeLessThanOrEqual(1);
    }
    const vec = tensor(Float32Array.from(randomArray(K)), [K], { device });
    expect(ops.matmul(at, vec).shape).toEqual([B, M]);
    expect(ops.matmul(vec, tensor(b, [K, N], { device })).shape).toEqual([N]);
    expect(ops.matmul(vec, vec).shape).toEqual([]);
  });

  test('K = 0 gives zeros; bad shapes are refused', () => {
    const z = ops.matmul(tensor(new Float32Array(0), [3, 0], { device }), tensor(new Float32Array(0), [0, 2], { device }));
    expect(Array.from(z.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(() => ops.matmul(tensor([[1, 2]], undefined, { device }), tensor([[1, 2]], undefined, { device }))).toThrow(
      '[matmul] inner dims differ: a (1, 2) has K = 2, b (1, 2) has K = 1',
    );
    expect(() => ops.linear(tensor([[1, 2]], undefined, { device }), tensor([[1, 2, 3]], undefined, { device }))).toThrow(
      '[linear] x (1, 2) has 2 features but weight (1, 3) expects 3',
    );
  });

  test('gradients: batched a with 2-D b, and broadcast batches', () => {
    const a = tensor(Float32Array.from(randomArray(2 * 3 * 4)), [2, 3, 4], { device, requiresGrad: true });
    const w = tensor(Float32Array.from(randomArray(5 * 4)), [5, 4], { device, requiresGrad: true });
    const bias = tensor(Float32Array.from(randomArray(5)), [5], { device, requiresGrad: true });
    const y = ops.linear(a, w, bias);
    const g = Float32Array.from(randomArray(2 * 3 * 5));
    y.backward(tensor(g, [2, 3, 5], { device }));
    const av = a.dataSync();
    const wv = w.dataSync();
    // dW[o, i] = sum_rows g[r, o] a[r, i]; dA[r, i] = sum_o g[r, o] W[o, i]; db = sum_r g.
    const dW = new Float64Array(20);
    const dA = new Float64Array(24);
    const db = new Float64Array(5);
    for (let r = 0; r < 6; ++r) for (let o = 0; o < 5; ++o) {
      db[o] += g[r * 5 + o];
      for (let i = 0; i < 4; ++i) {
        dW[o * 4 + i] += g[r * 5 + o] * av[r * 4 + i];
        dA[r * 4 + i] += g[r * 5 + o] * wv[o * 4 + i];
      }
    }
    expect(closeness(w.grad!.dataSync(), dW, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(closeness(a.grad!.dataSync(), dA, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(closeness(bias.grad!.dataSync(), db, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });
});

// The AVX2 (6 x 16) and portable (4 x 16) CPU kernels, which machines without AVX-512 run, through
// the same packing paths and layouts: one child process per kernel (picked once per process by
// MAMBA_SPEECH_CPU_KERNEL), against a float64 product.
test.each(['avx2', 'portable'])('the %s CPU kernel agrees with float64 on every packing path', (kernel) => {
  const script = `
    const path = require('path');
    const ms = require(LIB);
    const { native } = require(path.join(LIB, 'native'));
    let worst = 0;
    for (const [M, K, N] of [[65, 1101, 601], [129, 777, 101], [13, 300, 5], [7, 3, 5], [1, 1, 1]]) {
      const a = Float32Array.from({ length: M * K }, () => Math.random() * 2 - 1);
      const b = Float32Array.from({ length: K * N }, () => Math.random() * 2 - 1);
      const ref = new Float64Array(M * N);
      for (let i = 0; i < M; ++i) for (let k = 0; k < K; ++k) for (let j = 0; j < N; ++j) ref[i * N + j] += a[i * K + k] * b[k * N + j];
      const a0 = ms.tensor(a, [M, K]), b0 = ms.tensor(b, [K, N]);
      const at = ms.ops.transpose(ms.ops.contiguous(ms.ops.transpose(a0)));
      const bt = ms.ops.transpose(ms.ops.contiguous(ms.ops.transpose(b0)));
      const atol = 8e-6 * Math.sqrt(K), rtol = 1e-5;
      for (const [x, y] of [[a0, b0], [at, bt], [at, b0], [a0, bt]]) {
        const c = ms.ops.matmul(x, y).dataSync();
        for (let i = 0; i < c.length; ++i) worst = Math.max(worst, Math.abs(c[i] - ref[i]) / (atol + rtol * Math.abs(ref[i])));
      }
    }
    console.log(JSON.stringify({ kernel: native.matmulKernels().cpu, worst }));
  `;
  const r = runChild(script, { timeoutMs: 120000, env: { MAMBA_SPEECH_CPU_KERNEL: kernel } });
  if (r.status !== 0) throw new Error(`child failed: ${describeExit(r)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  if (kernel === 'portable' || process.arch === 'x64') expect(out.kernel).toBe(kernel);
  expect(out.worst).toBeLessThanOrEqual(1);
}, 130000);

test('matmul gradients vs finite differences (default device)', () => {
  const r = (s: number[]) => tensor(Float32Array.from(randomArray(s.reduce((p, d) => p * d, 1))), s, { requiresGrad: true });
  expect(gradCheck((a: Tensor, b: Tensor) => ops.matmul(a, b), [r([2, 1, 3, 4]), r([3, 4, 2])]).worst).toBeLessThanOrEqual(1);
  expect(gradCheck((a: Tensor, b: Tensor) => ops.matmul(a, b), [r([4]), r([2, 4, 3])]).worst).toBeLessThanOrEqual(1);
  expect(gradCheck((a: Tensor, b: Tensor) => ops.matmul(ops.transpose(a), b), [r([5, 3]), r([5, 2])]).worst).toBeLessThanOrEqual(1);
});

describeCuda('matmul cuda specifics', () => {
  const [M, K, N] = [129, 300, 77];
  const a = Float32Array.from(randomArray(M * K));
  const b = Float32Array.from(randomArray(K * N));
  const ref = refMatmul(a, b, M, K, N);

  test('float32 is exact float32 by default (no TF32); the own kernel agrees', () => {
    const { rtol, atol } = tol(K);
    const at = tensor(a, [M, K], { device: 'cuda' });
    const bt = tensor(b, [K, N], { device: 'cuda' });
    expect(closeness(ops.matmul(at, bt).dataSync(), ref, rtol, atol)).toBeLessThanOrEqual(1);
    native.matmulKernels(true);
    try {
      expect(closeness(ops.matmul(at, bt).dataSync(), ref, rtol, atol)).toBeLessThanOrEqual(1);
      expect(closeness(ops.matmul(ops.transpose(bt), ops.transpose(at)).dataSync(),
        Float64Array.from({ length: M * N }, (_, i) => ref[(i % M) * N + Math.floor(i / M)]), rtol, atol)).toBeLessThanOrEqual(1);
    } finally {
      native.matmulKernels(false);
    }
    // TF32 rounds inputs to 10-bit mantissas: visibly less exact, still close.
    const t = ops.matmul(at, bt, { allowTF32: true }).dataSync();
    expect(closeness(t, ref, 5e-3, 5e-3 * Math.sqrt(K))).toBeLessThanOrEqual(1);
  });

  test('bfloat16 on the tensor cores: within bf16 rounding of the float64 product of the rounded inputs', () => {
    const ab = tensor(a, [M, K], { device: 'cuda', dtype: 'bfloat16' });
    const bb = tensor(b, [K, N], { device: 'cuda', dtype: 'bfloat16' });
    const exact = refMatmul(ab.dataSync(), bb.dataSync(), M, K, N);
    for (const own of [false, true]) {
      native.matmulKernels(own);
      try {
        const out = ops.matmul(ab, bb);
        expect(out.dtype).toBe('bfloat16');
        // Result rounded once to bf16 (2^-8 relative) after float32 accumulation.
        expect(closeness(out.dataSync(), exact, 2 ** -8, 1e-4 * Math.sqrt(K))).toBeLessThanOrEqual(1);
      } finally {
        native.matmulKernels(false);
      }
    }
  });

  test('cpu and cuda agree on a batched broadcast product', () => {
    const x = tensor(Float32Array.from(randomArray(4 * 33 * 65)), [4, 33, 65]);
    const w = tensor(Float32Array.from(randomArray(65 * 17)), [65, 17]);
    const c = ops.matmul(x, w).dataSync();
    const g = ops.matmul(x.to('cuda'), w.to('cuda')).dataSync();
    expect(closeness(g, c, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });
});

describe.each(testDevices)('autocast and dtype promotion on %s', (device) => {
  test('bfloat16 meets float32 in float32; gradients flow back through the casts', () => {
    const a = tensor([1.5, -2, 3.25], undefined, { device, requiresGrad: true });
    const b = tensor([2, 0.5, 1], undefined, { device, dtype: 'bfloat16' });
    const y = ops.mul(a, b);
    expect(y.dtype).toBe('float32');
    ops.sum(y).backward();
    expect(Array.from(a.grad!.dataSync())).toEqual([2, 0.5, 1]);
  });

  test('autocast runs linear in bfloat16 on CUDA (float32 master weights get float32 grads); a no-op on the CPU', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { autocast } = require('../../lib') as typeof import('../../lib');
    const x = tensor(Float32Array.from(randomArray(4 * 8)), [4, 8], { device });
    const w = tensor(Float32Array.from(randomArray(3 * 8)), [3, 8], { device, requiresGrad: true });
    const bias = tensor([0.1, 0.2, 0.3], undefined, { device, requiresGrad: true });
    const y = autocast('bfloat16', () => ops.linear(x, w, bias));
    expect(y.dtype).toBe('float32'); // bf16 product + float32 bias -> float32
    const prod = autocast('bfloat16', () => ops.matmul(x, ops.transpose(w)));
    expect(prod.dtype).toBe(device === 'cuda' ? 'bfloat16' : 'float32');
    ops.sum(y).backward();
    expect(w.grad!.dtype).toBe('float32');
    const exact = ops.linear(x, w, bias).dataSync();
    const tol = device === 'cuda' ? 2e-2 : 1e-6;
    expect(closeness(y.dataSync(), exact, tol, tol)).toBeLessThanOrEqual(1);
  });
});

describeCuda('autocast covers conv and attention', () => {
  test('conv1d and attention run in bfloat16 under autocast; grads reach float32 weights', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { autocast } = require('../../lib') as typeof import('../../lib');
    const x = tensor(Float32Array.from(randomArray(2 * 4 * 9)), [2, 4, 9], { device: 'cuda' });
    const w = tensor(Float32Array.from(randomArray(6 * 4 * 3)), [6, 4, 3], { device: 'cuda', requiresGrad: true });
    const y = autocast('bfloat16', () => ops.conv1d(x, w, null, { padding: 1 }));
    expect(y.dtype).toBe('bfloat16');
    ops.sum(y).backward();
    expect(w.grad!.dtype).toBe('float32');
    const q = tensor(Float32Array.from(randomArray(1 * 2 * 5 * 8)), [1, 2, 5, 8], { device: 'cuda', requiresGrad: true });
    const o = autocast('bfloat16', () => ops.attention(q, q, q));
    expect(o.dtype).toBe('bfloat16');
    ops.sum(o).backward();
    expect(q.grad!.dtype).toBe('float32');
  });
});
