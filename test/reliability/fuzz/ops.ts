// Fuzz target: every op of lib/ops called with generated arguments — tensors of odd shapes and
// dtypes (often compatible with each other, so calls get past the first check), numbers at the
// edges (NaN, ±Infinity, 2^53, 2^45 + 1 that wraps to 1 in int32), shape-like arrays, option
// objects with wrong values, disposed tensors. Invariants: an error starts with "[op] " naming the
// op called (or one it is documented to run through, see ALIASES); nothing leaks once the case's
// tidy scope closes; a returned tensor's values can be read.
//
// Sizes stay tiny or absurd (<= 7 per dim, or >= 2^40): nothing in between, so an accepted call
// never allocates gigabytes on a shared machine; the child also runs under `ulimit -v`.
import * as ops from '../../../lib/ops';
import * as creation from '../../../lib/tensor/creation';
import { tensor } from '../../../lib/tensor/creation';
import { memory } from '../../../lib/tensor/memory';
import { tidy } from '../../../lib/tensor/scope';
import { Tensor } from '../../../lib/tensor/tensor';
import type { Rng } from '../../../lib/data/rng';
import type { FuzzTarget } from './driver';

type OpFn = (...args: unknown[]) => unknown;
// Global switches and the plain-JS references (their own tests cover them) are not fuzzed.
const SKIP = new Set(['setIndexValidation', 'attentionRef', 'selectiveScanRef', 'causalConv1dRef']);
const OPS: [string, OpFn][] = Object.entries(ops as Record<string, unknown>)
  .filter(([k, v]) => typeof v === 'function' && !SKIP.has(k))
  .map(([k, v]) => [k, v as OpFn]);

// Creation functions take data, shapes and numbers first (no tensor): their own argument pool.
const CREATION: [string, OpFn][] = ['tensor', 'fromTypedArray', 'zeros', 'ones', 'full', 'arange', 'rand', 'randn']
  .map((k) => [k, (creation as unknown as Record<string, OpFn>)[k]]);

// Ops built from others may report the inner op's name: 'linear' runs matmul, 'glu' runs chunk.
// Only names that a user of the outer op can place are accepted.
const ALIASES: Record<string, string[]> = {};

const NUMBERS = [0, 1, -1, 2, 3, 0.5, -2.5, NaN, Infinity, -Infinity, 1e300, 2 ** 53, 2 ** 62, 2 ** 45 + 1, -(2 ** 45)];
const DIMS = [0, 1, 1, 2, 3, 3, 5, 7];
const HUGE = [2 ** 40, 2 ** 45 + 1, 2 ** 53, 2 ** 62, 1e300];
const OPTION_KEYS = ['dim', 'dims', 'keepdim', 'lengths', 'keyLengths', 'queryLengths', 'causal', 'scale', 'p', 'training', 'eps',
  'weight', 'bias', 'reduction', 'blank', 'stride', 'padding', 'dilation', 'groups', 'mode', 'value', 'ignoreIndex',
  'labelSmoothing', 'D', 'z', 'deltaBias', 'deltaSoftplus', 'initialState', 'returnLastState', 'returnFinalState',
  'activation', 'approximate', 'seed', 'min', 'max', 'negativeSlope', 'reverse', 'dropout', 'zeroInfinity', 'beta',
  'runningMean', 'runningVar', 'momentum', 'numGroups', 'outputPadding', 'maxNorm', 'paddingIdx', 'log'];

function pick<T>(rng: Rng, a: readonly T[]): T {
  return a[rng.int(0, a.length - 1)];
}

function shapeOf(rng: Rng): number[] {
  return Array.from({ length: rng.int(0, 4) }, () => pick(rng, DIMS));
}

function makeTensor(rng: Rng, shape: number[]): Tensor {
  const dtype = rng.uniform() < 0.6 ? 'float32' : rng.uniform() < 0.6 ? 'int32' : 'bfloat16';
  const n = shape.reduce((p, d) => p * d, 1);
  const values = Float32Array.from({ length: n }, () => (dtype === 'int32' ? rng.int(-2, 6) : rng.normal() * 2));
  const t = tensor(values, shape, { dtype, device: 'cpu' });
  if (dtype !== 'int32' && rng.uniform() < 0.3) t.requiresGrad_();
  return t;
}

/** One argument; `like` (the first tensor argument) makes compatible shapes likely. */
function arg(rng: Rng, like: Tensor | null): unknown {
  const r = rng.uniform();
  if (r < 0.35) return makeTensor(rng, like && rng.uniform() < 0.6 ? mutateShape(rng, [...like.shape]) : shapeOf(rng));
  if (r < 0.55) return pick(rng, NUMBERS);
  if (r < 0.68) return Array.from({ length: rng.int(0, 4) }, () => (rng.uniform() < 0.85 ? pick(rng, DIMS) - (rng.uniform() < 0.1 ? 3 : 0) : pick(rng, [...HUGE, NaN, 1.5, -1])));
  if (r < 0.85) return options(rng, like);
  const t = makeTensor(rng, shapeOf(rng));
  return pick(rng, [null, undefined, 'cpu', 'sum', true, {}, [], [[1, 2], [3]], (() => { t.dispose(); return t; })(), Symbol('x')]);
}

/** Data as creation functions meet it: arrays (nested, ragged), typed arrays of every kind and buffer. */
function data(rng: Rng): unknown {
  const n = rng.int(0, 6);
  const values = Array.from({ length: n }, () => (rng.uniform() < 0.8 ? rng.int(-3, 3) : pick(rng, NUMBERS)));
  switch (rng.int(0, 9)) {
    case 0: return values;
    case 1: return [values, values.slice(0, rng.int(0, n))]; // maybe ragged
    case 2: return Float32Array.from(values);
    case 3: return Int32Array.from(values.map((v) => (Number.isFinite(v) ? v : 0)));
    case 4: return Float64Array.from(values);
    case 5: return Uint8Array.from(values.map((v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
    case 6: { const a = new Float32Array(new SharedArrayBuffer(4 * n)); a.set(values); return a; }
    case 7: { // resizable
      const ab = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(4 * n, { maxByteLength: 64 });
      const a = new Float32Array(ab);
      a.set(values);
      return a;
    }
    case 8: return pick(rng, [[[1, [2]]], ['a', 1], [true, false], new DataView(new ArrayBuffer(8)), new BigInt64Array(2), 3, 'x', null]);
    default: return Array.from({ length: rng.int(0, 4) }, () => (rng.uniform() < 0.85 ? pick(rng, DIMS) : pick(rng, [...HUGE, -1, 1.5, NaN])));
  }
}

function creationOptions(rng: Rng): unknown {
  if (rng.uniform() < 0.3) return pick(rng, [undefined, null, 'cpu', 3]);
  const o: Record<string, unknown> = {};
  if (rng.uniform() < 0.6) o.dtype = pick(rng, ['float32', 'int32', 'bfloat16', 'float64', 'F32', 7]);
  if (rng.uniform() < 0.4) o.device = pick(rng, ['cpu', 'cuda', 'gpu', null]);
  if (rng.uniform() < 0.3) o.seed = pick(rng, [0, 1, -1, 1.5, 2 ** 64, 2n ** 64n, 5n, 'x']);
  if (rng.uniform() < 0.3) o.copy = pick(rng, [true, false, 'yes']);
  if (rng.uniform() < 0.3) o.requiresGrad = pick(rng, [true, false]);
  return o;
}

/** Arguments of a creation call: data or shape first, then numbers, shapes or options. */
function creationArgs(rng: Rng, name: string): unknown[] {
  const args: unknown[] = [name === 'arange' ? pick(rng, NUMBERS) : data(rng)];
  for (let i = 0, n = rng.int(0, 3); i < n; ++i) {
    args.push(rng.uniform() < 0.4 ? pick(rng, NUMBERS) : rng.uniform() < 0.5 ? data(rng) : creationOptions(rng));
  }
  return args;
}

function mutateShape(rng: Rng, s: number[]): number[] {
  const k = rng.int(0, 3);
  if (k === 0 || s.length === 0) return s;
  if (k === 1) s[rng.int(0, s.length - 1)] = pick(rng, DIMS);
  else if (k === 2) s.pop();
  else s.push(pick(rng, DIMS));
  return s;
}

function options(rng: Rng, like: Tensor | null): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0, n = rng.int(1, 3); i < n; ++i) {
    const k = pick(rng, OPTION_KEYS);
    const r = rng.uniform();
    o[k] = r < 0.4 ? pick(rng, NUMBERS) : r < 0.6 ? Array.from({ length: rng.int(0, 3) }, () => pick(rng, [...DIMS, ...HUGE, -1, 1.5]))
      : r < 0.8 ? makeTensor(rng, like && rng.uniform() < 0.5 ? [...like.shape] : shapeOf(rng)) : pick(rng, [true, false, 'mean', 'none', 'silu', 'reflect', null, 'x']);
  }
  return o;
}

/** Tensors inside a result (a tensor, an array of them, an object of them). */
function tensorsIn(x: unknown, out: Tensor[] = []): Tensor[] {
  if (x instanceof Tensor) out.push(x);
  else if (Array.isArray(x)) x.forEach((v) => tensorsIn(v, out));
  else if (x && typeof x === 'object') Object.values(x).forEach((v) => tensorsIn(v, out));
  return out;
}

let current = '';
export const target: FuzzTarget = {
  // Checked per case in run(): the op's own name (or an alias).
  prefix: /^\[[A-Za-z][A-Za-z0-9_.]*\] /,
  run(rng) {
    const fromCreation = rng.uniform() < 0.15;
    const [name, f] = fromCreation ? pick(rng, CREATION) : pick(rng, OPS);
    current = name;
    const before = memory().tensors;
    let problem: string | null = null;
    try {
      tidy(() => {
        const args: unknown[] = fromCreation ? creationArgs(rng, name) : [];
        let like: Tensor | null = null;
        for (let i = 0, n = fromCreation ? 0 : rng.int(1, 4); i < n; ++i) {
          const a: unknown = i === 0 ? makeTensor(rng, shapeOf(rng)) : arg(rng, like);
          if (a instanceof Tensor && !a.isDisposed && like === null) like = a;
          args.push(a);
        }
        if (process.env.MAMBA_SPEECH_FUZZ_CASE !== undefined) {
          console.error(name, args.map((a) => (a instanceof Tensor ? (a.isDisposed ? 'disposed' : `Tensor(${a.shape}, ${a.dtype})`) : typeof a === 'symbol' ? String(a) : JSON.stringify(a))).join(' | '));
        }
        const result = f(...args);
        for (const t of tensorsIn(result)) {
          const n = t.shape.reduce((p, d) => p * d, 1);
          if (n <= 1 << 16 && t.dataSync().length !== n) problem = `${name} returned ${t.shape} with a wrong element count`;
          if (t.requiresGrad && n === 1 && rng.uniform() < 0.3) t.backward();
        }
      });
    } catch (e) {
      const msg = (e as Error).message ?? '';
      const m = /^\[([A-Za-z][A-Za-z0-9_.]*)\] /.exec(msg);
      if (m && m[1] !== name && !(ALIASES[name] ?? []).includes(m[1])) {
        throw new Error(`${msg.slice(0, m[0].length)}(called as ${name}) ${msg.slice(m[0].length)}`.replace(/^\[/, 'WRONG-OP ['));
      }
      if (memory().tensors !== before) throw new Error(`LEAK of ${memory().tensors - before} tensors in ${name}: ${msg}`);
      throw e;
    }
    if (memory().tensors !== before) problem = `${name} leaked ${memory().tensors - before} tensors`;
    return problem;
  },
};
export function lastOp(): string {
  return current;
}
