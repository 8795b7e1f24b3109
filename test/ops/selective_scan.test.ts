// selectiveScan forward and every gradient vs the float64 reference, on every device; the
// reference's own gradient vs central finite differences; lengths/reverse semantics; errors.
import { selectiveScan, tensor, zeros } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { bf16Round } from '../helpers/reference';
import { err, makeTensors, makeValues, reference, refGrads, runScan, ScanCase, uniform } from './scan_cases';

// Sizes that break tiling (L: 1, 2, 7, 129, 2049, 5000; N: 1, 4, 16, 64; odd D; G 1, 2) with
// options on and off. CPU-cheap: the float64 reference runs B*D*L*N steps in JS.
const all = { D_: true, z: true, bias: true, softplus: true, init: true, last: true };
const cases: [string, ScanCase][] = [
  ['plain L=1 N=4', { B: 2, D: 3, L: 1, N: 4, G: 0 }],
  ['plain L=2 N=1', { B: 1, D: 5, L: 2, N: 1, G: 0 }],
  ['all options L=7 N=16', { B: 2, D: 3, L: 7, N: 16, G: 0, ...all }],
  ['all options L=129 N=4 G=2', { B: 2, D: 6, L: 129, N: 4, G: 2, ...all }],
  ['D+z only L=129 N=64 G=1 (4-dim B/C)', { B: 1, D: 3, L: 129, N: 64, G: 1, D_: true, z: true }],
  ['softplus+bias L=2049 N=16', { B: 1, D: 3, L: 2049, N: 16, G: 0, softplus: true, bias: true, last: true }],
  ['L=5000 N=4 with last state', { B: 1, D: 1, L: 5000, N: 4, G: 0, last: true, init: true }],
  ['lengths [0, L, r] L=129', { B: 3, D: 5, L: 129, N: 16, G: 0, ...all, lengths: 'mixed' }],
  ['reverse L=129', { B: 2, D: 3, L: 129, N: 4, G: 0, ...all, reverse: true }],
  ['reverse with lengths L=130', { B: 3, D: 3, L: 130, N: 16, G: 0, ...all, reverse: true, lengths: 'mixed' }],
  ['reverse with lengths G=2 L=7', { B: 4, D: 4, L: 7, N: 4, G: 2, z: true, last: true, reverse: true, lengths: [7, 0, 3, 1] }],
  ['last state only, no D L=65 N=16', { B: 2, D: 7, L: 65, N: 16, G: 0, last: true, init: true, lengths: [64, 65] }],
  ['odd N=17 (CPU pads the state) L=129 G=2', { B: 2, D: 4, L: 129, N: 17, G: 2, ...all }],
  ['N=64 L=4500 reverse with lengths (CPU backward in 2 segments)', { B: 2, D: 2, L: 4500, N: 64, G: 0, ...all, reverse: true, lengths: [4500, 3001] }],
  ['N=16 L=9000 (CPU backward in 2 segments)', { B: 1, D: 2, L: 9000, N: 16, G: 0, ...all }],
];

const TOL = 1e-4; // float32 vs float64, see err() in scan_cases.ts

describe.each(testDevices)('selectiveScan on %s', (device) => {
  test.each(cases)('%s: forward and gradients vs float64 reference', (_name, c) => {
    const v = makeValues(c);
    const s = makeTensors(v, device);
    const ref = reference(v);
    const dout = uniform(c.B * c.D * c.L, -1, 1).map(Math.fround);
    const dlast = c.last ? uniform(c.B * c.D * c.N, -1, 1).map(Math.fround) : null;
    const got = runScan(s, dout, dlast);
    expect(err(got.out, ref.out.data)).toBeLessThanOrEqual(TOL);
    if (c.last) expect(err(got.last!, ref.lastState.data)).toBeLessThanOrEqual(TOL);
    const rg = refGrads(ref, dout, dlast);
    for (const name of Object.keys(s.leaves)) {
      const e = err(got.grads[name], rg[name]!.data);
      if (!(e <= TOL)) throw new Error(`grad of ${name}: err ${e} > ${TOL}`);
    }
  });

  test('lengths: padding gives 0, lastState is the state after the last valid step, len 0 keeps initialState', () => {
    const c: ScanCase = { B: 3, D: 2, L: 9, N: 4, G: 0, init: true, last: true, lengths: [0, 9, 4] };
    const v = makeValues(c);
    const s = makeTensors(v, device, 'float32', true);
    const { out, lastState } = selectiveScan(s.u, s.delta, s.A, s.B, s.C, s.opts);
    const o = out.dataSync();
    for (let d = 0; d < 2; ++d) {
      for (let t = 0; t < 9; ++t) expect(o[(0 * 2 + d) * 9 + t]).toBe(0);
      for (let t = 4; t < 9; ++t) expect(o[(2 * 2 + d) * 9 + t]).toBe(0);
    }
    const last = lastState!.dataSync();
    for (let i = 0; i < 2 * 4; ++i) expect(last[i]).toBe(Math.fround(v.init![i]));
    // Item 2 with len 4 equals a scan of its first 4 steps alone.
    const short = { ...c, B: 1, L: 4, lengths: undefined };
    const sv = { ...makeValues(short), c: short };
    const pick = (a: Float64Array, per: number, keep: number) => {
      const r = new Float64Array(2 * keep);
      for (let d = 0; d < 2; ++d) for (let t = 0; t < keep; ++t) r[d * keep + t] = a[(2 * 2 + d) * per + t];
      return r;
    };
    sv.u = pick(v.u, 9, 4);
    sv.delta = pick(v.delta, 9, 4);
    sv.Bm = v.Bm.slice(2 * 4 * 9, 3 * 4 * 9).filter((_, i) => i % 9 < 4);
    sv.Cm = v.Cm.slice(2 * 4 * 9, 3 * 4 * 9).filter((_, i) => i % 9 < 4);
    sv.A = v.A;
    sv.init = v.init!.slice(2 * 2 * 4);
    const ss = makeTensors(sv, device);
    const r2 = selectiveScan(ss.u, ss.delta, ss.A, ss.B, ss.C, ss.opts);
    expect(err(r2.lastState!.dataSync(), Array.from(last.slice(2 * 2 * 4)))).toBeLessThanOrEqual(1e-6);
  });

  test('reverse with lengths = forward scan of the flipped valid steps (no padding leaks in)', () => {
    const c: ScanCase = { B: 2, D: 3, L: 11, N: 4, G: 0, D_: true, last: true, reverse: true, lengths: [6, 11] };
    const v = makeValues(c);
    const rev = selectiveScan(...(() => { const s = makeTensors(v, device); return [s.u, s.delta, s.A, s.B, s.C, s.opts] as const; })());
    // Flip each item's valid prefix by hand; padding keeps its (random) values.
    const flip = (a: Float64Array, rows: number, per: (r: number) => number) => {
      const r = a.slice();
      for (let i = 0; i < rows; ++i) {
        const b = per(i), len = c.lengths instanceof Array ? c.lengths[b] : 0;
        for (let t = 0; t < len; ++t) r[i * 11 + t] = a[i * 11 + len - 1 - t];
      }
      return r;
    };
    const fv = { ...v, c: { ...c, reverse: false } };
    fv.u = flip(v.u, 6, (i) => Math.floor(i / 3));
    fv.delta = flip(v.delta, 6, (i) => Math.floor(i / 3));
    fv.Bm = flip(v.Bm, 8, (i) => Math.floor(i / 4));
    fv.Cm = flip(v.Cm, 8, (i) => Math.floor(i / 4));
    const fs = makeTensors(fv, device);
    const fwd = selectiveScan(fs.u, fs.delta, fs.A, fs.B, fs.C, fs.opts);
    const back = Float64Array.from(fwd.out.dataSync());
    expect(err(rev.out.dataSync(), flip(back, 6, (i) => Math.floor(i / 3)))).toBeLessThanOrEqual(1e-6);
    expect(err(rev.lastState!.dataSync(), fwd.lastState!.dataSync())).toBeLessThanOrEqual(1e-6);
  });

  test('deterministic: gradients are bitwise identical over 3 runs', () => {
    const c: ScanCase = { B: 2, D: 8, L: 300, N: 16, G: 2, ...all, lengths: [300, 77] };
    const v = makeValues(c);
    const dout = uniform(c.B * c.D * c.L, -1, 1);
    const dlast = uniform(c.B * c.D * c.N, -1, 1);
    const runs = [0, 1, 2].map(() => {
      const s = makeTensors(v, device);
      s.opts.deterministic = true;
      return runScan(s, dout, dlast).grads;
    });
    for (const k of Object.keys(runs[0])) {
      expect(Buffer.from(runs[1][k].buffer).equals(Buffer.from(runs[0][k].buffer))).toBe(true);
      expect(Buffer.from(runs[2][k].buffer).equals(Buffer.from(runs[0][k].buffer))).toBe(true);
    }
  });

  test('bad input gives a clear [selectiveScan] error', () => {
    const o = { device };
    const u = zeros([2, 4, 5], o), A = zeros([4, 3], o), B = zeros([2, 3, 5], o);
    expect(() => selectiveScan(u, u, zeros([4, 2], o), B, B)).toThrow('[selectiveScan] B must have shape (B, N, L) = (2, 2, 5), got (2, 3, 5)');
    expect(() => selectiveScan(u, zeros([2, 4, 6], o), A, B, B)).toThrow('[selectiveScan] delta must have shape (B, D, L) = (2, 4, 5), got (2, 4, 6)');
    expect(() => selectiveScan(u, u, zeros([5, 3], o), B, B)).toThrow('[selectiveScan] A must have shape (D, N) with D = 4, got (5, 3)');
    expect(() => selectiveScan(u, u, zeros([4, 257], o), zeros([2, 257, 5], o), zeros([2, 257, 5], o))).toThrow('[selectiveScan] state size N must be in [1, 256], got 257');
    const B3 = zeros([2, 3, 3, 5], o);
    expect(() => selectiveScan(u, u, A, B3, B3)).toThrow('[selectiveScan] the number of groups G = 3 must divide D = 4');
    expect(() => selectiveScan(u, u, A, B, B, { lengths: [6, 1] })).toThrow('[selectiveScan] lengths[0] = 6 is outside [0, L = 5]');
    expect(() => selectiveScan(u, u, A, B, B, { lengths: [1, -1] })).toThrow('[selectiveScan] lengths[1] = -1 is outside [0, L = 5]');
    expect(() => selectiveScan(u, u, A, B, B, { lengths: [1] })).toThrow('[selectiveScan] lengths must have B = 2 entries, got 1');
    expect(() => selectiveScan(u, u, A, B, B, { D: zeros([3], o) })).toThrow('[selectiveScan] D must have shape (D) = (4), got (3)');
    expect(() => selectiveScan(u, u, A, B, B, { z: zeros([2, 4], o) })).toThrow('[selectiveScan] z must have shape (B, D, L) = (2, 4, 5), got (2, 4)');
    expect(() => selectiveScan(u, u, A, B, B, { initialState: zeros([2, 4, 2], o) })).toThrow('[selectiveScan] initialState must have shape (B, D, N) = (2, 4, 3), got (2, 4, 2)');
    expect(() => selectiveScan(u, u, zeros([4, 3], { device, dtype: 'int32' }), B, B)).toThrow('[selectiveScan] A must be float32, got int32');
    expect(() => selectiveScan(u, zeros([2, 4, 5], { device, dtype: 'int32' }), A, B, B)).toThrow('[selectiveScan] delta has dtype int32 but u has float32');
    expect(() => selectiveScan(u, u, A, B, [1] as never)).toThrow('[selectiveScan] C must be a Tensor, got an array');
    expect(() => selectiveScan(u, u, A, B, B, { reverse: 1 as never })).toThrow('[selectiveScan] reverse must be a boolean, got number 1');
    expect(() => selectiveScan(u, u, A, B, B, { lengths: tensor([1, 2]) })).toThrow('[selectiveScan] lengths must be int32, got float32');
  });
});

describe('selectiveScanRef backward vs central finite differences (float64)', () => {
  test.each([
    ['forward', false], ['reverse with lengths', true],
  ] as const)('%s, every input', (_n, reverse) => {
    const c: ScanCase = { B: 2, D: 2, L: 5, N: 3, G: 2, ...all, reverse, lengths: reverse ? [5, 3] : undefined };
    const v = makeValues(c);
    const dout = uniform(c.B * c.D * c.L, -1, 1);
    const dlast = uniform(c.B * c.D * c.N, -1, 1);
    const loss = (vv: typeof v): number => {
      const r = reference(vv);
      let s = 0;
      r.out.data.forEach((x, i) => (s += x * dout[i]));
      r.lastState.data.forEach((x, i) => (s += x * dlast[i]));
      return s;
    };
    const g = refGrads(reference(v), dout, dlast);
    const keys = { u: 'u', delta: 'delta', A: 'A', B: 'Bm', C: 'Cm', D: 'Dk', z: 'z', deltaBias: 'bias', initialState: 'init' } as const;
    for (const [gname, vname] of Object.entries(keys)) {
      const arr = v[vname as keyof typeof v] as Float64Array;
      const eps = 1e-6;
      const fd = new Float64Array(arr.length);
      for (let i = 0; i < arr.length; ++i) {
        const x0 = arr[i];
        arr[i] = x0 + eps;
        const lp = loss(v);
        arr[i] = x0 - eps;
        const lm = loss(v);
        arr[i] = x0;
        fd[i] = (lp - lm) / (2 * eps);
      }
      const e = err(g[gname]!.data, fd);
      if (!(e <= 1e-6)) throw new Error(`${gname}: finite-difference err ${e}`);
    }
  });
});

describeCuda('selectiveScan cpu vs cuda, bfloat16 on cuda', () => {
  test('same float32 inputs, same results within float32 rounding', () => {
    const c: ScanCase = { B: 2, D: 37, L: 2049, N: 16, G: 1, ...all, lengths: [2049, 1000] };
    const v = makeValues(c);
    const dout = uniform(c.B * c.D * c.L, -1, 1);
    const dlast = uniform(c.B * c.D * c.N, -1, 1);
    const a = runScan(makeTensors(v, 'cpu'), dout, dlast);
    const b = runScan(makeTensors(v, 'cuda'), dout, dlast);
    expect(err(b.out, a.out)).toBeLessThanOrEqual(TOL);
    for (const k of Object.keys(a.grads)) {
      const e = err(b.grads[k], a.grads[k]);
      if (!(e <= TOL)) throw new Error(`grad of ${k}: cpu vs cuda err ${e}`);
    }
  });

  test.each([
    ['N=16', { B: 2, D: 64, L: 1024, N: 16, G: 0, ...all }],
    ['N=64 reverse lengths', { B: 3, D: 33, L: 517, N: 64, G: 1, ...all, reverse: true, lengths: 'mixed' }],
  ] as [string, ScanCase][])('bfloat16 inputs vs float64 reference (%s) within 2e-2', (_n, c) => {
    const v = makeValues(c, 'bfloat16');
    const ref = reference(v);
    const dout = uniform(c.B * c.D * c.L, -1, 1).map(bf16Round); // the upstream grad comes in bfloat16
    const dlast = uniform(c.B * c.D * c.N, -1, 1).map(Math.fround);
    const s = makeTensors(v, 'cuda', 'bfloat16');
    const got = runScan(s, dout, dlast);
    expect(err(got.out, ref.out.data)).toBeLessThanOrEqual(2e-2);
    const rg = refGrads(ref, dout, dlast);
    for (const k of Object.keys(s.leaves)) {
      const e = err(got.grads[k], rg[k]!.data);
      if (!(e <= 2e-2)) throw new Error(`bf16 grad of ${k}: err ${e}`);
    }
  });

  test('large L = 100000 runs and matches the CPU', () => {
    const c: ScanCase = { B: 1, D: 4, L: 100000, N: 16, G: 0, D_: true, softplus: true, bias: true, last: true };
    const v = makeValues(c);
    const a = makeTensors(v, 'cpu');
    const b = makeTensors(v, 'cuda');
    const ra = selectiveScan(a.u, a.delta, a.A, a.B, a.C, a.opts);
    const rb = selectiveScan(b.u, b.delta, b.A, b.B, b.C, b.opts);
    expect(err(rb.out.dataSync(), ra.out.dataSync())).toBeLessThanOrEqual(TOL);
    expect(err(rb.lastState!.dataSync(), ra.lastState!.dataSync())).toBeLessThanOrEqual(TOL);
  });
});
