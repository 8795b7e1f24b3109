// Issue 19: every op that takes a tensor first is a typed Tensor method (`y.square is not a
// function` was a newcomer's first error). The list is complete (every export of lib/ops is a
// method or named as not one), each method behaves exactly as its op on generated arguments
// (same values or the same error), and the types follow the ops (this file is type-checked).
import { manualSeed, ops, randn, tensor, Tensor } from '../../lib';
import { METHOD_NAMES, NOT_METHODS } from '../../lib/ops/methods';
import { deriveSeed, Rng } from '../../lib/data/rng';

test('every exported op is a method or deliberately not one', () => {
  const fns = Object.entries(ops).filter(([, v]) => typeof v === 'function').map(([k]) => k);
  const missing = fns.filter((k) => !METHOD_NAMES.includes(k) && !NOT_METHODS.includes(k));
  expect(missing).toEqual([]);
  for (const name of METHOD_NAMES) expect(typeof (Tensor.prototype as unknown as Record<string, unknown>)[name]).toBe('function');
});

test('the methods a newcomer reaches for exist and are typed', () => {
  const x = randn([2, 3], { seed: 1, device: 'cpu' });
  const y: Tensor = x.square().sum(1).sqrt();
  const [a, b]: Tensor[] = x.chunk(2, 0);
  const scan = randn([1, 2, 4], { seed: 2, device: 'cpu' }).selectiveScan(
    randn([1, 2, 4], { seed: 3, device: 'cpu' }), randn([2, 3], { seed: 4, device: 'cpu' }),
    randn([1, 3, 4], { seed: 5, device: 'cpu' }), randn([1, 3, 4], { seed: 6, device: 'cpu' }), { returnLastState: true });
  const out: Tensor = scan.out;
  const conv = randn([1, 2, 5], { seed: 7, device: 'cpu' }).causalConv1d(randn([2, 3], { seed: 8, device: 'cpu' }), null, { returnFinalState: true });
  const w: Tensor = x.where(x.gt(0), 0);
  expect(Array.from(y.dataSync())).toEqual(Array.from(ops.sqrt(ops.sum(ops.square(x), 1)).dataSync()));
  expect(a.shape).toEqual([1, 3]);
  expect(b.shape).toEqual([1, 3]);
  expect(out.shape).toEqual([1, 2, 4]);
  expect(conv.finalState.shape).toEqual([1, 2, 2]);
  expect(Array.from(w.dataSync())).toEqual(Array.from(x.dataSync(), (v) => (v > 0 ? v : 0)));
  expect(x.crossEntropy(tensor(new Int32Array([0, 2]), undefined, { device: 'cpu' })).ndim).toBe(0);
});

/** Values or the error message: what a call produced, for comparing two calls. */
function outcome(f: () => unknown): string {
  try {
    manualSeed(7); // dropout draws from the global generator
    const r = f();
    const ts: Tensor[] = [];
    const walk = (v: unknown): void => {
      if (v instanceof Tensor) ts.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(r);
    return JSON.stringify(ts.map((t) => [t.shape, t.dtype, Array.from(t.dataSync())]));
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

test.each(METHOD_NAMES.filter((n) => n !== 'where'))('x.%s(...args) is ops.%s(x, ...args) on generated arguments', (name) => {
  const op = (ops as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  const rng = new Rng(deriveSeed(19, name));
  const pool = (): unknown => {
    const r = rng.uniform();
    if (r < 0.5) return randn(Array.from({ length: rng.int(0, 3) }, () => rng.int(1, 3)), { seed: rng.int(0, 1000), device: 'cpu' });
    if (r < 0.7) return rng.int(-1, 2);
    if (r < 0.8) return [rng.int(-1, 2), rng.int(0, 2)];
    if (r < 0.9) return tensor(new Int32Array([rng.int(0, 2), rng.int(0, 2)]), undefined, { device: 'cpu' });
    return undefined;
  };
  let agreed = 0;
  for (let k = 0; k < 25; ++k) {
    const x = randn(Array.from({ length: rng.int(1, 3) }, () => rng.int(1, 4)), { seed: k, device: 'cpu' });
    const args = Array.from({ length: rng.int(0, 4) }, pool);
    const viaOp = outcome(() => op(x, ...args));
    const viaMethod = outcome(() => (x as unknown as Record<string, (...a: unknown[]) => unknown>)[name](...args));
    // attention draws its dropout seed at random when none is given: compare shapes there.
    if (name === 'attention' && !viaOp.startsWith('error')) expect(JSON.parse(viaMethod).map((t: unknown[]) => t[0])).toEqual(JSON.parse(viaOp).map((t: unknown[]) => t[0]));
    else expect(viaMethod).toBe(viaOp);
    agreed++;
  }
  expect(agreed).toBe(25);
});
