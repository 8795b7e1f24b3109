// Reductions over any dims (keepdim), softmax/logSoftmax: forward vs float64, gradients.
import { gradCheck, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { bf16Round, closeness, randomArray } from '../helpers/reference';

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** float64 reduction of `x` (row-major `shape`) over `dims` with f(values) per output. */
function reduceRef(x: ArrayLike<number>, shape: number[], dims: number[], f: (v: number[]) => number): { data: number[]; shape: number[] } {
  const outShape = shape.filter((_, i) => !dims.includes(i));
  const groups = new Map<number, number[]>();
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < x.length; ++i) {
    let r = i;
    for (let d = shape.length - 1; d >= 0; --d) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    let key = 0;
    shape.forEach((s, d) => {
      if (!dims.includes(d)) key = key * s + idx[d];
    });
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(x[i]);
  }
  const data = Array.from({ length: size(outShape) }, (_, k) => f(groups.get(k) ?? []));
  return { data, shape: outShape };
}

const refs: Record<string, (v: number[]) => number> = {
  sum: (v) => v.reduce((a, b) => a + b, 0),
  mean: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  max: (v) => v.reduce((a, b) => Math.max(a, b), -Infinity),
  min: (v) => v.reduce((a, b) => Math.min(a, b), Infinity),
  logsumexp: (v) => { const m = v.reduce((a, b) => Math.max(a, b), -Infinity); return m + Math.log(v.reduce((a, b) => a + Math.exp(b - m), 0)); },
  variance: (v) => { const m = v.reduce((a, b) => a + b, 0) / v.length; return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1); },
};
const cases: [number[], number[] | null][] = [
  [[7], null], [[129, 7], [1]], [[129, 7], [0]], [[3, 5, 7], [0, 2]], [[2, 3, 4, 5], [1, 3]], [[2049, 3], [0]], [[1, 1], null],
  [[4, 3000], [1]],
  // long rows, few of them: the CUDA split path (segments per row, then a fixed fold)
  [[70001], null], [[3, 70001], [1]], [[131079, 2], [0]],
  // a run of leading or middle dims: the CPU column path (no transposed copy)
  [[3, 129, 7], [1]], [[5, 2, 3, 7], [1, 2]], [[2, 1, 300], [0, 1]],
];

describe.each(testDevices)('reductions on %s', (device) => {
  describe.each(Object.keys(refs))('%s', (name) => {
    test.each(cases)('shape %j dims %j', (shape, dims) => {
      const x = Float32Array.from(randomArray(size(shape), 3));
      const t = tensor(x, shape, { device });
      const d = dims ?? shape.map((_, i) => i);
      const ref = reduceRef(x, shape, d, refs[name]);
      const f = (ops as unknown as Record<string, (t: Tensor, d: number[] | null, k: boolean) => Tensor>)[name];
      const out = name === 'variance' ? ops.variance(t, dims) : f(t, dims, false);
      expect(out.shape).toEqual(ref.shape);
      expect(closeness(out.dataSync(), ref.data, 2e-6, 1e-6)).toBeLessThanOrEqual(1);
      const kd = name === 'variance' ? ops.variance(t, dims, { keepdim: true }) : f(t, dims, true);
      expect(kd.shape).toEqual(shape.map((s, i) => (d.includes(i) ? 1 : s)));
    });
  });

  test('argmax/argmin along a dim and over all, first index on ties', () => {
    const t = tensor([[1, 5, 5], [7, 0, 7]], undefined, { device });
    expect(Array.from(ops.argmax(t, 1).dataSync())).toEqual([1, 0]);
    expect(Array.from(ops.argmin(t, 0).dataSync())).toEqual([0, 1, 0]);
    expect(ops.argmax(t).item()).toBe(3);
    expect(ops.argmax(t, -1, true).shape).toEqual([2, 1]);
  });

  test('sums of a million values keep float32 precision (double accumulation)', () => {
    const n = 1 << 20;
    const x = Float32Array.from(randomArray(n), (v) => v + 1);
    let s = 0;
    for (const v of x) s += v;
    const out = ops.sum(tensor(x, [n], { device })).item();
    expect(Math.abs(out - s) / s).toBeLessThan(1e-7);
  });

  test('int32 sum/max, float-only mean', () => {
    const i = tensor(new Int32Array([3, -1, 7]), undefined, { device });
    expect(ops.sum(i).item()).toBe(9);
    expect(ops.max(i).item()).toBe(7);
    expect(() => ops.mean(i)).toThrow("[mean] needs float32 or bfloat16 input, got int32");
  });

  test.each([[[7], -1], [[5, 129], 1], [[5, 129], 0], [[3, 4, 2000], 2], [[3, 4, 5], 1]] as const)('softmax/logSoftmax %j dim %i', (shape, dim) => {
    const x = Float32Array.from(randomArray(size(shape), 5));
    const t = tensor(x, [...shape], { device, requiresGrad: true });
    const d = dim < 0 ? shape.length + dim : dim;
    const sm = ops.softmax(t, dim);
    const others = shape.map((_, i) => i).filter((i) => i !== d);
    // Reference: exp(x - lse) with lse over dim, broadcast back by index arithmetic.
    const lse = reduceRef(x, [...shape], [d], refs.logsumexp).data;
    const ref = Array.from(x, (v, i) => {
      let r = i;
      const idx: number[] = new Array(shape.length);
      for (let k = shape.length - 1; k >= 0; --k) { idx[k] = r % shape[k]; r = Math.floor(r / shape[k]); }
      let key = 0;
      others.forEach((k) => (key = key * shape[k] + idx[k]));
      return v - lse[key];
    });
    expect(closeness(ops.logSoftmax(t, dim).dataSync(), ref, 2e-6, 1e-6)).toBeLessThanOrEqual(1);
    expect(closeness(sm.dataSync(), ref.map(Math.exp), 2e-6, 1e-7)).toBeLessThanOrEqual(1);
    // Gradient of sum(softmax * w): y * (w - sum(w y)).
    const w = Float32Array.from(randomArray(size(shape)));
    ops.mul(sm, tensor(w, [...shape], { device })).sum().backward();
    const y = sm.dataSync();
    const wy = reduceRef(Array.from(w, (v, i) => v * y[i]), [...shape], [d], refs.sum).data;
    const dref = Array.from(y, (v, i) => {
      let r = i;
      const idx: number[] = new Array(shape.length);
      for (let k = shape.length - 1; k >= 0; --k) { idx[k] = r % shape[k]; r = Math.floor(r / shape[k]); }
      let key = 0;
      others.forEach((k) => (key = key * shape[k] + idx[k]));
      return v * (w[i] - wy[key]);
    });
    expect(closeness(t.grad!.dataSync(), dref, 1e-5, 1e-7)).toBeLessThanOrEqual(1);
  });
});

describe('reduction gradients vs finite differences (default device)', () => {
  // Distinct values at least ~0.16 apart (a shuffled grid plus small noise): max/min are not
  // differentiable where two elements tie, and eps = 1e-2 steps must not cross such a kink.
  const x = () => {
    const v = Array.from({ length: 24 }, (_, i) => -2 + (4 * i) / 23 + (Math.random() - 0.5) * 0.01);
    for (let i = v.length - 1; i > 0; --i) {
      const j = Math.floor(Math.random() * (i + 1));
      [v[i], v[j]] = [v[j], v[i]];
    }
    return tensor(Float32Array.from(v), [2, 3, 4], { requiresGrad: true });
  };
  test.each([
    ['sum', (t: Tensor) => ops.sum(t, [0, 2])],
    ['mean keepdim', (t: Tensor) => ops.mean(t, 1, true)],
    ['max', (t: Tensor) => ops.max(t, -1)],
    ['min all', (t: Tensor) => ops.min(t)],
    ['logsumexp', (t: Tensor) => ops.logsumexp(t, [1])],
    ['variance', (t: Tensor) => ops.variance(t, 2)],
    ['std population', (t: Tensor) => ops.std(t, [0, 1], { correction: 0 })],
    ['softmax dim 1', (t: Tensor) => ops.softmax(t, 1)],
    ['logSoftmax', (t: Tensor) => ops.logSoftmax(t, -1)],
  ] as const)('%s', (_, f) => {
    expect(gradCheck(f, [x()]).worst).toBeLessThanOrEqual(1);
  });
});

test('bad dims are refused with the op named', () => {
  const t = tensor([[1, 2], [3, 4]]);
  expect(() => ops.sum(t, 2)).toThrow('[sum] dim 2 is out of range for a tensor with 2 dims (expected in [-2, 1])');
  expect(() => ops.mean(t, [0, -2])).toThrow('[mean] dims repeat: [0, -2]');
  expect(() => ops.max(tensor([]), 0)).toThrow('[max] cannot reduce over an empty dimension');
});

describe.each(testDevices)('row extremes and sums against a scalar scan on %s', (device) => {
  // Rows with ties, NaN, ±0 and ±inf, of lengths below and above the CPU's 8-lane path (16):
  // argmax/argmin take the first of equal values and the first NaN; max/min give that element
  // (so -0 vs +0 resolves as the scan does); sum equals the float64 sum rounded once.
  test('ties, NaN, signed zeros, infinities; lengths 1, 7, 16, 17, 129', () => {
    let seed = Number(process.env.TEST_SEED ?? Date.now() % 100000);
    const seed0 = seed;
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    for (const k of [1, 7, 16, 17, 129]) {
      for (const withNaN of [false, true]) {
        const rows = 5;
        const a = Float32Array.from({ length: rows * k }, () => {
          const u = rnd();
          if (u < 0.05) return withNaN ? NaN : 1;
          if (u < 0.1) return -0;
          if (u < 0.15) return 0;
          if (u < 0.18) return Infinity;
          if (u < 0.21) return -Infinity;
          return Math.round((rnd() * 2 - 1) * 4);
        });
        const t = tensor(a, [rows, k], { device });
        const got = { am: ops.argmax(t, 1).dataSync(), an: ops.argmin(t, 1).dataSync(), mx: ops.max(t, 1).dataSync(), mn: ops.min(t, 1).dataSync(), sm: ops.sum(t, 1).dataSync() };
        for (let r = 0; r < rows; ++r) {
          const row = a.subarray(r * k, (r + 1) * k);
          const scan = (isMax: boolean): [number, number] => {
            let b = row[0], at = 0;
            for (let i = 1; i < k && b === b; ++i) if (row[i] !== row[i] || (isMax ? row[i] > b : row[i] < b)) { b = row[i]; at = i; }
            return [at, b];
          };
          const [ia, va] = scan(true), [ib, vb] = scan(false);
          const s = Math.fround(row.reduce((x, v) => x + v, 0));
          // the CPU keeps the sign of the first of equal zeros; a CUDA tree reduction need not
          const same = (x: number, y: number): boolean => (device === 'cpu' ? Object.is(x, y) : x === y) || (Number.isNaN(x) && Number.isNaN(y));
          const ok = got.am[r] === ia && got.an[r] === ib && same(got.mx[r], va) && same(got.mn[r], vb) && same(got.sm[r], s);
          expect({ seed0, k, r, ok: ok ? true : { row: Array.from(row), got: [got.am[r], got.an[r], got.mx[r], got.mn[r], got.sm[r]], want: [ia, ib, va, vb, s] } }).toEqual({ seed0, k, r, ok: true });
        }
      }
    }
  });
});

describe.each(testDevices)('sums over leading and middle dims on %s', (device) => {
  // These read the tensor in place (the CPU: one double accumulator per output, k order; CUDA: 8
  // row lanes per segment of k, segments when few 32-column tiles; (2400, 576) has 15 segments,
  // (20001, 33) 8 with a tile of one column); the result must equal the float64 sum up to one
  // float32 rounding, in every dtype.
  test.each([[[2400, 576], [0]], [[7, 129, 3], [1]], [[4, 5, 6, 7], [0, 1]], [[20001, 33], [0]], [[1, 129], [0]], [[3, 4097, 65], [1]]] as [number[], number[]][])('%j over %j: float32 and bf16', (shape, dims) => {
    const n = size(shape);
    const x = Float32Array.from(randomArray(n, 5));
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const xs = dtype === 'bfloat16' ? Float32Array.from(x, bf16Round) : x;
      const t = tensor(xs, shape, { device, dtype });
      const ref = reduceRef(xs, shape, dims, refs.sum);
      const got = ops.sum(t, dims).dataSync();
      const tol = dtype === 'bfloat16' ? 2 ** -8 : 2 ** -23;
      ref.data.forEach((r, i) => expect(Math.abs(got[i] - r)).toBeLessThanOrEqual(tol * Math.abs(r) + 1e-6));
      const m = ops.mean(t, dims).dataSync();
      const kk = dims.reduce((q, d) => q * shape[d], 1);
      ref.data.forEach((r, i) => expect(Math.abs(m[i] - r / kk)).toBeLessThanOrEqual(tol * Math.abs(r / kk) + 1e-7));
      // the gradient of a sum over the leading dims is ones of x's shape
      if (dtype === 'float32') {
        const empty = tensor(new Float32Array(0), [0, 5], { device });
        expect(Array.from(ops.sum(empty, 0).dataSync())).toEqual([0, 0, 0, 0, 0]);
        expect(Array.from(ops.mean(empty, 0).dataSync()).every(Number.isNaN)).toBe(true);
        const v = tensor(xs, shape, { device, requiresGrad: true });
        ops.sum(ops.mul(ops.sum(v, dims), 2)).backward();
        expect(Array.from(v.grad!.dataSync()).every((g) => g === 2)).toBe(true);
      }
    }
  });
});

describe.each(testDevices)('column sums with NaN and Inf on %s', (device) => {
  test('a NaN or an Inf in a late segment reaches its column only', () => {
    const [k, c] = [9001, 40];
    const a = Float32Array.from(randomArray(k * c, 17));
    a[8990 * c + 3] = NaN; a[7000 * c + 33] = Infinity; a[12 * c + 34] = -Infinity; a[8999 * c + 34] = Infinity;
    const got = ops.sum(tensor(a, [k, c], { device }), 0).dataSync();
    for (let j = 0; j < c; ++j) {
      let s = 0;
      for (let i = 0; i < k; ++i) s += a[i * c + j];
      if (Number.isFinite(s)) expect(Math.abs(got[j] - s)).toBeLessThanOrEqual(1e-6 * Math.abs(s) + 1e-4);
      else expect(got[j]).toBe(s); // NaN (toBe treats NaN as equal), Inf, and Inf - Inf = NaN
    }
    expect([got[3], got[33], got[34]]).toEqual([NaN, Infinity, NaN]);
  });
});

describe.each(testDevices)('long rows (split into segments on CUDA) on %s', (device) => {
  // A NaN, a tie or the extreme placed in a late segment, and the first of them in an earlier one:
  // the first index must win across segment boundaries; sums match float64 within rounding.
  test.each([[1, 131079], [3, 70001], [2, 1048583]])('rows %d, length %d', (rows, k) => {
    const a = Float32Array.from(randomArray(rows * k, 11));
    const at = (r: number, i: number, v: number) => { a[r * k + i] = v; };
    at(0, k - 3, 50); at(0, Math.floor(k / 2) + 1, 50); // max tie: the earlier index wins
    at(0, k - 5, -50); at(0, 20000, -50); // min tie
    if (rows > 1) { at(1, k - 1, NaN); at(1, 66000, NaN); } // first NaN
    const t = tensor(a, [rows, k], { device });
    const am = ops.argmax(t, 1).dataSync(), an = ops.argmin(t, 1).dataSync(), mx = ops.max(t, 1).dataSync();
    const sm = ops.sum(t, 1).dataSync(), mn = ops.mean(t, 1).dataSync(), va = ops.variance(t, 1).dataSync(), lse = ops.logsumexp(t, 1).dataSync();
    for (let r = 0; r < rows; ++r) {
      const row = a.subarray(r * k, (r + 1) * k);
      let ia = 0, ib = 0, s = 0;
      for (let i = 1; i < k; ++i) {
        if (row[ia] === row[ia] && (row[i] !== row[i] || row[i] > row[ia])) ia = i;
        if (row[ib] === row[ib] && (row[i] !== row[i] || row[i] < row[ib])) ib = i;
      }
      for (let i = 0; i < k; ++i) s += row[i];
      expect({ r, am: am[r], an: an[r] }).toEqual({ r, am: ia, an: ib });
      if (r === 1) {
        expect([mx[r], sm[r], mn[r], va[r], lse[r]].every(Number.isNaN)).toBe(true);
        continue;
      }
      const m = s / k;
      let v = 0, big = -Infinity;
      for (let i = 0; i < k; ++i) { v += (row[i] - m) ** 2; big = Math.max(big, row[i]); }
      let e = 0;
      for (let i = 0; i < k; ++i) e += Math.exp(row[i] - big);
      expect(mx[r]).toBe(row[ia]);
      expect(Math.abs(sm[r] - s)).toBeLessThan(1e-6 * k);
      expect(Math.abs(mn[r] - m)).toBeLessThan(1e-6);
      expect(Math.abs(va[r] / (v / (k - 1)) - 1)).toBeLessThan(1e-5);
      expect(Math.abs(lse[r] - (big + Math.log(e)))).toBeLessThan(1e-5 * Math.abs(big + Math.log(e)));
    }
  });

  test('bfloat16 rows of 200003: argmax across segments, sum and max rounded once to bf16', () => {
    const k = 200003;
    const a = Float32Array.from(randomArray(k, 4), (v) => bf16Round(v));
    a[150000] = 64; a[120000] = 64; // tie: the first wins
    const t = tensor(a, [1, k], { device, dtype: 'bfloat16' });
    expect(ops.argmax(t, 1).dataSync()[0]).toBe(120000);
    expect(ops.max(t, 1).dataSync()[0]).toBe(64);
    let s = 0;
    for (let i = 0; i < k; ++i) s += a[i];
    const got = ops.sum(t, 1).dataSync()[0];
    expect(Math.abs(got - s)).toBeLessThanOrEqual(Math.abs(s) * 2 ** -8 + 1e-3); // one bf16 rounding of a float64-accurate sum
  });
});
