// ctcLoss: forward vs a brute-force sum over every alignment (tiny cases) and an independent
// float64 recursion (Graves' scaled linear-space alpha, larger cases); gradients vs brute force
// and finite differences; repeated labels, minimal T, infeasible items, reductions, errors, and
// CPU vs CUDA.
import { gradCheck, ops, tensor, Tensor } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

interface Case {
  B: number; T: number; C: number; S: number;
  targets: number[][];   // unpadded, per item
  inLens: number[];
  blank?: number;
}

/** Random logits -> logSoftmax (B, T, C) on `device`, plus the float32 values as seen by the op. */
function logProbs(B: number, T: number, C: number, device: 'cpu' | 'cuda', scale = 2): { lp: Tensor; v: Float32Array } {
  const z = tensor(Float32Array.from(randomArray(B * T * C, scale)), [B, T, C], { device });
  const lp = ops.logSoftmax(z, -1);
  return { lp, v: lp.dataSync() as Float32Array };
}

/** Padded targets (B, S) with junk (99) past each length, as int32 tensor. */
function padded(c: Case, device: 'cpu' | 'cuda'): Tensor {
  const a = new Int32Array(c.B * c.S).fill(99);
  c.targets.forEach((t, b) => t.forEach((y, s) => (a[b * c.S + s] = y)));
  return tensor(a, [c.B, c.S], { device, dtype: 'int32' });
}

function collapse(path: number[], blank: number): number[] {
  const out: number[] = [];
  path.forEach((c, i) => {
    if (c !== blank && (i === 0 || c !== path[i - 1])) out.push(c);
  });
  return out;
}

/** Brute force over all C^T alignments of one item: nll and d nll / d lp (T, C). */
function bruteForce(lp: ArrayLike<number>, off: number, T: number, C: number, target: number[], blank: number): { nll: number; grad: Float64Array } {
  const occ = new Float64Array(T * C);
  let total = 0;
  const path = new Array(T).fill(0);
  for (let n = 0; n < C ** T; ++n) {
    let r = n;
    for (let t = 0; t < T; ++t) { path[t] = r % C; r = Math.floor(r / C); }
    const col = collapse(path, blank);
    if (col.length !== target.length || col.some((y, i) => y !== target[i])) continue;
    let lpPath = 0;
    for (let t = 0; t < T; ++t) lpPath += lp[off + t * C + path[t]];
    const p = Math.exp(lpPath);
    total += p;
    for (let t = 0; t < T; ++t) occ[t * C + path[t]] += p;
  }
  if (total === 0) return { nll: Infinity, grad: new Float64Array(T * C) };
  return { nll: -Math.log(total), grad: occ.map((o) => -o / total) };
}

/** Graves' scaled forward recursion in float64 linear space (a different formulation from the op's log space). */
function scaledAlphaNll(lp: ArrayLike<number>, off: number, T: number, C: number, target: number[], blank: number): number {
  if (T === 0) return target.length === 0 ? 0 : Infinity;
  const ext = [blank];
  for (const y of target) ext.push(y, blank);
  const L = ext.length;
  const y = (t: number, c: number) => Math.exp(lp[off + t * C + c]);
  let a = new Float64Array(L);
  a[0] = y(0, blank);
  if (L > 1) a[1] = y(0, ext[1]);
  let logScale = 0;
  const norm = (v: Float64Array): boolean => {
    const s = v.reduce((p, q) => p + q, 0);
    if (s === 0) return false;
    v.forEach((x, i) => (v[i] = x / s));
    logScale += Math.log(s);
    return true;
  };
  if (!norm(a)) return Infinity;
  for (let t = 1; t < T; ++t) {
    const n = new Float64Array(L);
    for (let s = 0; s < L; ++s) {
      let v = a[s] + (s > 0 ? a[s - 1] : 0);
      if (s > 1 && ext[s] !== blank && ext[s] !== ext[s - 2]) v += a[s - 2];
      n[s] = v * y(t, ext[s]);
    }
    if (!norm(n)) return Infinity;
    a = n;
  }
  const end = a[L - 1] + (L > 1 ? a[L - 2] : 0);
  return end === 0 ? Infinity : -(logScale + Math.log(end));
}

function run(c: Case, device: 'cpu' | 'cuda', opts: Parameters<typeof ops.ctcLoss>[4] = {}, scale = 2) {
  const { lp, v } = logProbs(c.B, c.T, c.C, device, scale);
  const leaf = lp.detach().requiresGrad_(true);
  const tl = c.targets.map((t) => t.length);
  const loss = ops.ctcLoss(leaf, padded(c, device), Int32Array.from(c.inLens), tl, { blank: c.blank ?? 0, ...opts });
  return { leaf, v, loss };
}

describe.each(testDevices)('ctcLoss on %s', (device) => {
  const tiny: [string, Case][] = [
    ['distinct labels', { B: 1, T: 5, C: 3, S: 2, targets: [[1, 2]], inLens: [5] }],
    ['repeated labels at minimal T = 3', { B: 1, T: 3, C: 3, S: 2, targets: [[1, 1]], inLens: [3] }],
    ['repeats, spare frames', { B: 1, T: 6, C: 3, S: 3, targets: [[2, 2, 1]], inLens: [6] }],
    ['empty target', { B: 1, T: 4, C: 3, S: 2, targets: [[]], inLens: [4] }],
    ['blank = last class', { B: 1, T: 5, C: 4, S: 2, targets: [[0, 0]], inLens: [5], blank: 3 }],
    ['batch with shorter inputs and padding', { B: 3, T: 6, C: 3, S: 3, targets: [[1], [2, 1, 2], [1, 1]], inLens: [2, 6, 4] }],
  ];
  test.each(tiny)('brute force over all alignments: %s', (_, c) => {
    const { leaf, v, loss } = run(c, device, { reduction: 'none' });
    const got = loss.dataSync();
    const refs = c.targets.map((t, b) => bruteForce(v, b * c.T * c.C, c.inLens[b], c.C, t, c.blank ?? 0));
    expect(closeness(got, refs.map((r) => r.nll), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    loss.sum().backward();
    const grad = leaf.grad!.dataSync();
    const want = new Float64Array(c.B * c.T * c.C); // zero past each input length
    refs.forEach((r, b) => r.grad.forEach((g, i) => (want[b * c.T * c.C + i] = g)));
    expect(closeness(grad, want, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  test('larger batch vs an independent float64 recursion, all reductions', () => {
    const B = 5, T = 61, C = 23, S = 17;
    const targets = Array.from({ length: B }, (_, b) => Array.from({ length: [S, 1, 9, 0, 12][b] }, (_, i) => 1 + ((i * 7 + b) % 5 === 0 ? 3 : (i * 5 + b * 3) % (C - 1))));
    targets[2] = [4, 4, 4, 5, 5, 6, 6, 6, 6]; // many repeats
    const c: Case = { B, T, C, S, targets, inLens: [T, 3, 40, 17, 26] };
    const { v, loss } = run(c, device, { reduction: 'none' });
    const ref = targets.map((t, b) => scaledAlphaNll(v, b * T * C, c.inLens[b], C, t, 0));
    expect(ref.every(Number.isFinite)).toBe(true);
    expect(closeness(loss.dataSync(), ref, 2e-5, 1e-4)).toBeLessThanOrEqual(1);
    const lp = tensor(v, [B, T, C], { device });
    const args = [lp, padded(c, device), c.inLens, targets.map((t) => t.length)] as const;
    const sum = ops.ctcLoss(...args, { reduction: 'sum' }).item();
    const mean = ops.ctcLoss(...args, { reduction: 'mean' }).item();
    expect(sum).toBeCloseTo(ref.reduce((a, b) => a + b, 0), 2);
    const meanRef = ref.reduce((a, r, b) => a + r / Math.max(1, targets[b].length), 0) / B;
    expect(Math.abs(mean - meanRef) / meanRef).toBeLessThan(2e-5);
    expect(ops.ctcLoss(...args).item()).toBe(mean); // 'mean' is the default
  });

  test('T = the minimal feasible length is finite, one frame less is +Infinity (never NaN)', () => {
    // "a b b c" needs 4 labels + 1 blank between the repeated b's: T >= 5.
    const c: Case = { B: 2, T: 5, C: 4, S: 4, targets: [[1, 2, 2, 3], [1, 2, 2, 3]], inLens: [5, 4] };
    const { leaf, v, loss } = run(c, device, { reduction: 'none' });
    const got = loss.dataSync();
    expect(got[0]).toBeCloseTo(bruteForce(v, 0, 5, 4, [1, 2, 2, 3], 0).nll, 4);
    expect(got[1]).toBe(Infinity);
    loss.sum().backward();
    const g = leaf.grad!.dataSync();
    expect(g.every((x) => Number.isFinite(x))).toBe(true);
    expect(Array.from(g.subarray(20)).every((x) => x === 0)).toBe(true);
    // The minimal path is unique: the gradient is -1 on it.
    expect(Array.from(g.subarray(0, 20)).filter((x) => Math.abs(x + 1) < 1e-5).length).toBe(5);
  });

  test('zeroInfinity: infeasible items give 0 and zero gradient; mean and sum stay finite', () => {
    const c: Case = { B: 3, T: 4, C: 3, S: 3, targets: [[1, 1, 1], [1, 2], []], inLens: [4, 4, 0] };
    const { leaf, v, loss } = run(c, device, { reduction: 'none', zeroInfinity: true });
    const got = loss.dataSync();
    expect(got[0]).toBe(0); // needs T >= 5
    expect(got[1]).toBeCloseTo(bruteForce(v, 12, 4, 3, [1, 2], 0).nll, 4);
    expect(got[2]).toBe(0); // empty input, empty target: probability 1
    loss.sum().backward();
    const g = leaf.grad!.dataSync();
    expect(Array.from(g.subarray(0, 12)).every((x) => x === 0)).toBe(true);
    expect(g.every(Number.isFinite)).toBe(true);
    const plain = run(c, device, { reduction: 'mean' });
    expect(plain.loss.item()).toBe(Infinity);
    expect(Number.isFinite(run(c, device, { reduction: 'mean', zeroInfinity: true }).loss.item())).toBe(true);
    const e = run({ ...c, targets: [[1], [1], [2]], inLens: [4, 4, 0] }, device, { reduction: 'none' });
    expect(e.loss.dataSync()[2]).toBe(Infinity); // empty input, non-empty target
  });

  test('lengths as Int32Array, number[] and int32 tensors agree', () => {
    const c: Case = { B: 2, T: 7, C: 5, S: 3, targets: [[1, 2, 3], [4, 4]], inLens: [7, 5] };
    const { lp } = logProbs(c.B, c.T, c.C, device);
    const t = padded(c, device);
    const a = ops.ctcLoss(lp, t, Int32Array.from(c.inLens), Int32Array.from([3, 2]), { reduction: 'none' }).dataSync();
    const b = ops.ctcLoss(lp, t, c.inLens, [3, 2], { reduction: 'none' }).dataSync();
    const d = ops.ctcLoss(lp, t, tensor(Int32Array.from(c.inLens), [2], { device }), tensor(Int32Array.from([3, 2]), [2], { device }), { reduction: 'none' }).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(d)).toEqual(Array.from(a));
  });

  test('bad targets and lengths are clear errors', () => {
    const { lp } = logProbs(2, 4, 3, device);
    const t = (rows: number[][]) => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length], { device });
    expect(() => ops.ctcLoss(lp, t([[1, 3], [1, 1]]), [4, 4], [2, 2])).toThrow('[ctcLoss] targets[0, 1] = 3 is out of range for 3 classes');
    expect(() => ops.ctcLoss(lp, t([[1, 2], [0, 1]]), [4, 4], [2, 2])).toThrow('[ctcLoss] targets[1, 0] is the blank label 0; targets must not contain blank');
    expect(() => ops.ctcLoss(lp, t([[1, 2], [1, 1]]), [4, 5], [2, 2])).toThrow('[ctcLoss] inputLengths[1] = 5 is outside [0, T = 4]');
    expect(() => ops.ctcLoss(lp, t([[1, 2], [1, 1]]), [4, 4], [3, 2])).toThrow('[ctcLoss] targetLengths[0] = 3 is outside [0, S = 2]');
    expect(() => ops.ctcLoss(lp, t([[1, 2], [1, 1]]), [4, -1], [2, 2])).toThrow('[ctcLoss] inputLengths[1] = -1 is outside');
    expect(() => ops.ctcLoss(lp, t([[1, 2], [1, 1]]), [4], [2, 2])).toThrow('[ctcLoss] inputLengths must have B = 2 entries, got 1');
    expect(() => ops.ctcLoss(lp, t([[1, 2], [1, 1]]), [4, 4], [2, 2], { blank: 3 })).toThrow('[ctcLoss] blank 3 is out of range for 3 classes');
    expect(() => ops.ctcLoss(lp, t([[1, 2]]), [4, 4], [2, 2])).toThrow('[ctcLoss] targets must have shape (B, S) with B = 2');
    expect(() => ops.ctcLoss(lp.reshape([8, 3]), t([[1, 2]]), [4], [2])).toThrow('[ctcLoss] logProbs must have shape (B, T, C), got (8, 3)');
    expect(() => ops.ctcLoss(lp, t([[1, 2], [1, 1]]), [4, 4], [2, 2], { reduction: 'avg' as never })).toThrow("[ctcLoss] reduction must be 'mean', 'sum' or 'none'");
  });
});

describe('ctcLoss gradients vs finite differences (cpu)', () => {
  const c: Case = { B: 2, T: 6, C: 4, S: 3, targets: [[1, 1, 2], [3]], inLens: [6, 4] };
  const tg = () => padded(c, 'cpu');
  test.each(['none', 'sum', 'mean'] as const)('w.r.t. logProbs, reduction %s', (reduction) => {
    const { v } = logProbs(c.B, c.T, c.C, 'cpu', 1);
    const x = tensor(v, [c.B, c.T, c.C], { requiresGrad: true });
    const r = gradCheck((lp) => ops.ctcLoss(lp, tg(), c.inLens, [3, 1], { reduction }), [x], { eps: 3e-3 });
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  test('w.r.t. logits through logSoftmax (the path PyTorch users take)', () => {
    const z = tensor(Float32Array.from(randomArray(c.B * c.T * c.C)), [c.B, c.T, c.C], { requiresGrad: true });
    const r = gradCheck((x) => ops.ctcLoss(ops.logSoftmax(x, -1), tg(), c.inLens, [3, 1]), [z], { eps: 3e-3 });
    expect(r.worst).toBeLessThanOrEqual(1);
  });
});

describeCuda('ctcLoss cpu vs cuda', () => {
  test.each([
    [3, 40, 7, 9],
    [2, 1400, 50, 600], // 2S+1 = 1201 > 1024 threads: labels strided over the block
    [17, 129, 31, 33],
  ])('B %i T %i C %i S %i: loss and gradient', (B, T, C, S) => {
    const targets = Array.from({ length: B }, (_, b) => Array.from({ length: Math.max(0, S - (b % 3) * 5) }, (_, i) => 1 + ((i * 13 + b) % 3 === 0 ? 1 : (i * 7 + b) % (C - 1))));
    const inLens = Array.from({ length: B }, (_, b) => T - (b % 4) * 3);
    const c: Case = { B, T, C, S, targets, inLens };
    const z = Float32Array.from(randomArray(B * T * C, 3));
    const res = (['cpu', 'cuda'] as const).map((device) => {
      const x = tensor(z, [B, T, C], { device, requiresGrad: true });
      const loss = ops.ctcLoss(ops.logSoftmax(x, -1), padded(c, device), inLens, targets.map((t) => t.length), { reduction: 'none', zeroInfinity: true });
      loss.sum().backward();
      return { loss: loss.dataSync(), grad: x.grad!.dataSync() };
    });
    expect(Array.from(res[0].loss).every((l) => l > 0)).toBe(true); // all feasible: a real comparison
    expect(closeness(res[1].loss, res[0].loss, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(closeness(res[1].grad, res[0].grad, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  test('the cuda gradient is bitwise reproducible', () => {
    const c: Case = { B: 4, T: 80, C: 12, S: 20, targets: Array.from({ length: 4 }, (_, b) => Array.from({ length: 20 - b }, (_, i) => 1 + ((i + b) % 3))), inLens: [80, 70, 60, 80] };
    const lp = tensor(Float32Array.from(randomArray(4 * 80 * 12)), [4, 80, 12], { device: 'cuda' });
    const grads = [0, 1].map(() => {
      const x = ops.logSoftmax(lp, -1).detach().requiresGrad_(true);
      ops.ctcLoss(x, padded(c, 'cuda'), c.inLens, c.targets.map((t) => t.length)).backward();
      return Array.from(x.grad!.dataSync());
    });
    expect(grads[1]).toEqual(grads[0]);
  });
});
