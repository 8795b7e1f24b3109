// Losses: crossEntropy (fused), nllLoss, mseLoss, l1Loss, smoothL1Loss, cosineSimilarity — forward
// vs float64 loops with PyTorch's formulas, every reduction, gradients vs finite differences,
// errors, CPU vs CUDA.
import { gradCheck, memory, ops, tensor, Tensor } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

interface CeOpts { weight?: number[]; ignoreIndex?: number; labelSmoothing?: number }

/**
 * PyTorch's cross_entropy per row, from its definition: z (N, C, D) row-major (D = prod of the
 * extra dims, 1 for (N, C)), t (N * D). Returns per-row losses and weights (0 where ignored).
 */
function ceRef(z: ArrayLike<number>, t: ArrayLike<number>, N: number, C: number, D: number, o: CeOpts, logInput = false) {
  const eps = o.labelSmoothing ?? 0;
  const ignore = o.ignoreIndex ?? -100;
  const w = (c: number) => (o.weight ? o.weight[c] : 1);
  const rows: number[] = [];
  const wrow: number[] = [];
  for (let n = 0; n < N; ++n) {
    for (let k = 0; k < D; ++k) {
      const zc = (c: number) => z[(n * C + c) * D + k];
      let lse = 0;
      if (!logInput) {
        let m = -Infinity;
        for (let c = 0; c < C; ++c) m = Math.max(m, zc(c));
        let s = 0;
        for (let c = 0; c < C; ++c) s += Math.exp(zc(c) - m);
        lse = m + Math.log(s);
      }
      const ti = t[n * D + k];
      if (ti === ignore) { rows.push(0); wrow.push(0); continue; }
      let smooth = 0;
      for (let c = 0; c < C; ++c) smooth += w(c) * (lse - zc(c));
      rows.push((1 - eps) * w(ti) * (lse - zc(ti)) + (eps / C) * smooth);
      wrow.push(w(ti));
    }
  }
  return { rows, wrow };
}

function reduceRef(rows: number[], wrow: number[], r: 'mean' | 'sum' | 'none'): number[] {
  const s = rows.reduce((a, b) => a + b, 0);
  if (r === 'none') return rows;
  if (r === 'sum') return [s];
  return [s / wrow.reduce((a, b) => a + b, 0)];
}

const ceCases: [string, number[], CeOpts][] = [
  ['(N, C)', [7, 5], {}],
  ['(N, C) with weights and ignoreIndex', [9, 4], { weight: [0.5, 2, 1, 3], ignoreIndex: 2 }],
  ['(N, C) label smoothing 0.1', [6, 129], { labelSmoothing: 0.1 }],
  ['(N, C, d1, d2) weights + smoothing + ignore -100', [3, 6, 2, 5], { weight: [1, 2, 3, 4, 5, 6], labelSmoothing: 0.2 }],
  ['(C) unbatched', [11], {}],
];

describe.each(testDevices)('losses on %s', (device) => {
  describe.each(['mean', 'sum', 'none'] as const)('reduction %s', (reduction) => {
    test.each(ceCases)('crossEntropy %s', (_, shape, o) => {
      const C = shape.length === 1 ? shape[0] : shape[1];
      const N = shape.length === 1 ? 1 : shape[0];
      const D = size(shape.slice(2));
      const tShape = shape.length === 1 ? [] : [shape[0], ...shape.slice(2)];
      const zv = Float32Array.from(randomArray(size(shape), 4));
      const tv = Int32Array.from({ length: N * D }, (_, i) => (i % 4 === 1 ? (o.ignoreIndex ?? -100) : Math.floor(Math.random() * C)));
      if (tv.every((v) => v === (o.ignoreIndex ?? -100))) tv[0] = 0;
      const z = tensor(zv, shape, { device });
      const t = tensor(tv, tShape, { device, dtype: 'int32' });
      const weight = o.weight ? tensor(o.weight, undefined, { device }) : undefined;
      const out = ops.crossEntropy(z, t, { ...o, weight, reduction });
      const ref = ceRef(zv, tv, N, C, D, o);
      expect(out.shape).toEqual(reduction === 'none' ? tShape : []);
      expect(closeness(out.dataSync(), reduceRef(ref.rows, ref.wrow, reduction), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
      // nllLoss of logSoftmax equals crossEntropy without smoothing.
      if (!o.labelSmoothing) {
        const nll = ops.nllLoss(ops.logSoftmax(z, shape.length === 1 ? 0 : 1), t, { ...o, weight, reduction });
        expect(closeness(nll.dataSync(), out.dataSync(), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
      }
    });

    test('mse / l1 / smoothL1 with broadcasting', () => {
      const a = Float32Array.from(randomArray(3 * 5, 2));
      const b = Float32Array.from(randomArray(5, 2));
      const ta = tensor(a, [3, 5], { device });
      const tb = tensor(b, [5], { device });
      const d = Array.from(a, (v, i) => v - b[i % 5]);
      const red = (xs: number[]) => (reduction === 'none' ? xs : reduction === 'sum' ? [xs.reduce((p, q) => p + q, 0)] : [xs.reduce((p, q) => p + q, 0) / xs.length]);
      const huber = (beta: number) => d.map((x) => (Math.abs(x) < beta ? (0.5 * x * x) / beta : Math.abs(x) - 0.5 * beta));
      expect(closeness(ops.mseLoss(ta, tb, { reduction }).dataSync(), red(d.map((x) => x * x)), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
      expect(closeness(ops.l1Loss(ta, tb, { reduction }).dataSync(), red(d.map(Math.abs)), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
      expect(closeness(ops.smoothL1Loss(ta, tb, { reduction, beta: 0.7 }).dataSync(), red(huber(0.7)), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
      expect(closeness(ops.smoothL1Loss(ta, tb, { reduction, beta: 0 }).dataSync(), red(d.map(Math.abs)), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    });
  });

  test('crossEntropy where every target is ignored: mean is NaN (as PyTorch), sum 0, grads 0', () => {
    const z = tensor(Float32Array.from(randomArray(6)), [2, 3], { device, requiresGrad: true });
    const t = tensor(Int32Array.from([-100, -100]), [2], { device });
    expect(Number.isNaN(ops.crossEntropy(z, t).item())).toBe(true);
    const s = ops.crossEntropy(z, t, { reduction: 'sum' });
    expect(s.item()).toBe(0);
    s.backward();
    expect(Array.from(z.grad!.dataSync()).every((v) => v === 0)).toBe(true);
  });

  test('cosineSimilarity along dims, broadcasting, zero vectors', () => {
    const a = Float32Array.from(randomArray(4 * 6 * 3));
    const b = Float32Array.from(randomArray(6 * 3));
    const ta = tensor(a, [4, 6, 3], { device });
    const tb = tensor(b, [6, 3], { device });
    const out = ops.cosineSimilarity(ta, tb, 1);
    expect(out.shape).toEqual([4, 3]);
    const ref: number[] = [];
    for (let i = 0; i < 4; ++i) {
      for (let k = 0; k < 3; ++k) {
        let ab = 0, aa = 0, bb = 0;
        for (let j = 0; j < 6; ++j) {
          const x = a[(i * 6 + j) * 3 + k], y = b[j * 3 + k];
          ab += x * y; aa += x * x; bb += y * y;
        }
        ref.push(ab / Math.max(Math.sqrt(aa), 1e-8) / Math.max(Math.sqrt(bb), 1e-8));
      }
    }
    expect(closeness(out.dataSync(), ref, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    const z = tensor(new Float32Array(6), [2, 3], { device, requiresGrad: true });
    const c = ops.cosineSimilarity(z, tensor([[1, 2, 3], [4, 5, 6]], undefined, { device }), -1);
    expect(Array.from(c.dataSync())).toEqual([0, 0]);
    c.sum().backward();
    expect(z.grad!.dataSync().every(Number.isFinite)).toBe(true);
  });

  test('errors name the op and say what came', () => {
    const z = tensor(Float32Array.from(randomArray(12)), [4, 3], { device });
    const t = (v: number[]) => tensor(Int32Array.from(v), [v.length], { device });
    if (device === 'cpu') {
      expect(() => ops.crossEntropy(z, t([0, 1, 3, 2]))).toThrow('[crossEntropy] target 3 at position 2 is out of range for 3 classes (ignoreIndex is -100)');
      expect(() => ops.nllLoss(z, t([0, -1, 1, 2]))).toThrow('[nllLoss] target -1 at position 1 is out of range for 3 classes');
    }
    expect(() => ops.crossEntropy(z, t([0, 1, 2]))).toThrow('[crossEntropy] target must have shape (4) for input (4, 3), got (3)');
    expect(() => ops.crossEntropy(z, tensor([0, 1, 2, 1], undefined, { device }))).toThrow('[crossEntropy] target must be int32 class indices, got float32');
    expect(() => ops.crossEntropy(z, t([0, 1, 2, 1]), { reduction: 'avg' as never })).toThrow("[crossEntropy] reduction must be 'mean', 'sum' or 'none', got avg");
    expect(() => ops.crossEntropy(z, t([0, 1, 2, 1]), { labelSmoothing: 2 })).toThrow('[crossEntropy] labelSmoothing must be in [0, 1], got 2');
    expect(() => ops.crossEntropy(z, t([0, 1, 2, 1]), { weight: tensor([1, 2], undefined, { device }) })).toThrow('[crossEntropy] weight must have shape (C) = (3), got (2)');
    expect(() => ops.mseLoss(z, tensor(new Float32Array(5), [5], { device }))).toThrow('[mseLoss] shapes (4, 3) and (5) cannot be broadcast');
    expect(() => ops.cosineSimilarity(z, tensor(new Float32Array(5), [5], { device }))).toThrow('[cosineSimilarity] a (4, 3) and b (5) cannot be broadcast');
  });
});

describe('loss gradients vs finite differences (cpu)', () => {
  const zt = (shape: number[]) => tensor(Float32Array.from(randomArray(size(shape), 2)), shape, { requiresGrad: true });
  test.each(ceCases)('crossEntropy %s (mean)', (_, shape, o) => {
    const C = shape.length === 1 ? shape[0] : shape[1];
    const tShape = shape.length === 1 ? [] : [shape[0], ...shape.slice(2)];
    const tv = Int32Array.from({ length: size(tShape) }, (_, i) => (i % 3 === 1 && o.ignoreIndex !== undefined ? o.ignoreIndex : Math.floor(Math.random() * C)));
    const t = tensor(tv, tShape, { dtype: 'int32' });
    const weight = o.weight ? tensor(o.weight) : undefined;
    const z = zt(shape.length === 2 && shape[1] > 20 ? [3, 17] : shape);
    const t2 = shape.length === 2 && shape[1] > 20 ? tensor(Int32Array.from([1, 16, 0]), [3]) : t;
    expect(gradCheck((x) => ops.crossEntropy(x, t2, { ...o, weight }), [z]).worst).toBeLessThanOrEqual(1);
  });
  test('nllLoss with weights, sum and none', () => {
    const t = tensor(Int32Array.from([2, 0, 3, 1, 2]), [5]);
    const w = tensor([1, 0.5, 2, 3]);
    for (const reduction of ['sum', 'none', 'mean'] as const) {
      expect(gradCheck((x) => ops.nllLoss(x, t, { weight: w, reduction }), [zt([5, 4])]).worst).toBeLessThanOrEqual(1);
    }
  });
  test.each([
    ['mseLoss', (a: Tensor, b: Tensor) => ops.mseLoss(a, b)],
    ['l1Loss', (a: Tensor, b: Tensor) => ops.l1Loss(a, b, { reduction: 'sum' })],
    ['smoothL1Loss', (a: Tensor, b: Tensor) => ops.smoothL1Loss(a, b, { beta: 0.5, reduction: 'none' })],
    ['cosineSimilarity', (a: Tensor, b: Tensor) => ops.cosineSimilarity(a, b, 0)],
  ] as const)('%s w.r.t. both inputs', (_, f) => {
    // Values kept away from the kinks (|a - b| = 0 or beta) that finite differences straddle.
    const a = tensor(Float32Array.from({ length: 12 }, (_, i) => (i % 2 ? 1 : -1) * (0.9 + 0.37 * i)), [3, 4], { requiresGrad: true });
    const b = tensor(Float32Array.from({ length: 12 }, (_, i) => 0.11 * i - 0.5), [3, 4], { requiresGrad: true });
    expect(gradCheck(f, [a, b]).worst).toBeLessThanOrEqual(1);
  });
});

describe.each(testDevices)('no intermediate tensor is left for the GC (%s)', (device) => {
  // Inputs are made before counting; each case calls ops only, on x (4, 3, 5) requiring grad.
  const c = () => tensor(Float32Array.from(randomArray(60)), [4, 3, 5], { device });
  const i32 = (v: number[], shape: number[]) => tensor(Int32Array.from(v), shape, { device });
  const cases: [string, () => (x: Tensor) => Tensor[] | { outs: Tensor[]; extra: Tensor[] }][] = [
    ['crossEntropy (N, C, d)', () => { const t = i32(Array.from({ length: 20 }, (_, i) => i % 3), [4, 5]); return (x) => [ops.crossEntropy(x, t, { labelSmoothing: 0.1 })]; }],
    ['nllLoss', () => { const t2 = i32(Array.from({ length: 20 }, (_, i) => i % 3), [4, 5]); return (x) => [ops.nllLoss(x, t2, { reduction: 'sum' })]; }],
    ['mse, smoothL1, cosine', () => { const y = c(); return (x) => [ops.mseLoss(x, y), ops.smoothL1Loss(x, y), ops.cosineSimilarity(x, y)]; }],
    ['ctcLoss', () => {
      const t = i32([1, 2, 1, 1, 2, 0, 2, 2], [4, 2]);
      return (x) => [ops.ctcLoss(x, t, [3, 3, 2, 3], [2, 2, 1, 2]), ops.ctcLoss(x, t, [3, 3, 2, 3], [2, 2, 1, 2], { reduction: 'none' })];
    }],
    ['gather, indexSelect, embedding, scatterAdd, cumsum, dropout', () => {
      const gi = i32(Array(24).fill(1), [4, 3, 2]);
      const si = i32([2, 0], [2]);
      const ei = i32([1, 1, 0], [3]);
      const ai = i32(Array(15).fill(3), [1, 3, 5]);
      const src = c();
      return (x) => {
        const w = x.reshape([12, 5]); // the test's own view: handed back to be disposed
        return { outs: [ops.gather(x, 2, gi), ops.indexSelect(x, 1, si), ops.embedding(ei, w), ops.scatterAdd(x, 0, ai, src), ops.cumsum(x, 2), ops.dropout(x, 0.3)], extra: [w] };
      };
    }],
  ];
  test.each(cases)('%s: forward + backward', (_, make) => {
    const x = c().requiresGrad_(true);
    const f = make();
    const before = memory().tensors;
    const r = f(x);
    const { outs, extra } = Array.isArray(r) ? { outs: r, extra: [] } : r;
    for (const out of outs) {
      const s = out.sum();
      s.backward();
      s.dispose();
      out.dispose();
    }
    extra.forEach((t) => t.dispose());
    x.grad!.dispose();
    expect(memory().tensors).toBe(before);
  });
});

describeCuda('losses cpu vs cuda', () => {
  test.each(ceCases)('crossEntropy %s: values and gradients', (_, shape, o) => {
    const C = shape.length === 1 ? shape[0] : shape[1];
    const tShape = shape.length === 1 ? [] : [shape[0], ...shape.slice(2)];
    const zv = Float32Array.from(randomArray(size(shape), 3));
    const tv = Int32Array.from({ length: size(tShape) }, (_, i) => (i % 4 === 1 && o.ignoreIndex !== undefined ? o.ignoreIndex : (i * 7) % C));
    const res = (['cpu', 'cuda'] as const).map((device) => {
      const z = tensor(zv, shape, { device, requiresGrad: true });
      const weight = o.weight ? tensor(o.weight, undefined, { device }) : undefined;
      const l = ops.crossEntropy(z, tensor(tv, tShape, { device, dtype: 'int32' }), { ...o, weight, reduction: 'none' });
      l.sum().backward();
      return [l.dataSync(), z.grad!.dataSync()];
    });
    expect(closeness(res[1][0], res[0][0], 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(closeness(res[1][1], res[0][1], 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  test('a bad target on cuda: NaN loss unchecked, exact error with validation', () => {
    const z = tensor(Float32Array.from(randomArray(8)), [2, 4], { device: 'cuda' });
    const t = tensor(Int32Array.from([1, 9]), [2], { device: 'cuda' });
    expect(Number.isNaN(ops.crossEntropy(z, t, { reduction: 'none' }).dataSync()[1])).toBe(true);
    ops.setIndexValidation(true);
    try {
      expect(() => ops.crossEntropy(z, t)).toThrow('[crossEntropy] target 9 is out of range for 4 classes');
    } finally {
      ops.setIndexValidation(false);
    }
  });
});
