/**
 * elementwise.ts — elementwise ops with NumPy broadcasting, and their gradients.
 *
 * Shapes: a (...), b (...) -> the broadcast shape, e.g. (B, L, C) + (C) -> (B, L, C). Operands
 * share one dtype (float32; bfloat16 computed in float32; int32 for add/sub/mul/minimum/maximum
 * and comparisons) and one device; a number operand takes the tensor's dtype. Comparisons return
 * 1/0 in the inputs' dtype. Gradients of broadcast operands are summed back to their shapes.
 */
import { native } from '../native';
import { record } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { describe, Tensor } from '../tensor/tensor';
import { BinaryName, binaryCode, UNARY, UnaryName, unaryCode } from './codes';
import { sumTo } from './shape';
import { asOp, checkTensor, normDim, numArg, recycled, sameShape, wrap, wrapLike } from './util';

type Operand = Tensor | number;

/** bfloat16 meeting float32 computes in float32 (as PyTorch promotes); the cast is recorded. */
function promote(a: Operand, b: Operand): [Operand, Operand] {
  if (a instanceof Tensor && b instanceof Tensor && a.dtype !== b.dtype) {
    if (a.dtype === 'bfloat16' && b.dtype === 'float32') return [a.to('float32'), b];
    if (a.dtype === 'float32' && b.dtype === 'bfloat16') return [a, b.to('float32')];
  }
  return [a, b];
}

function rawBinary(name: BinaryName, a0: Operand, b0: Operand): Tensor {
  // A disposed operand is reported under this op's name before anything reads its dtype.
  if (a0 instanceof Tensor) a0.handle(name);
  if (b0 instanceof Tensor) b0.handle(name);
  if (typeof a0 !== 'number' && !(a0 instanceof Tensor)) throw new Error(`[${name}] a must be a Tensor, got ${describe(a0)}`);
  if (typeof b0 !== 'number' && !(b0 instanceof Tensor)) throw new Error(`[${name}] b must be a Tensor or a number, got ${describe(b0)}`);
  const [a, b] = promote(a0, b0);
  if (typeof a === 'number') {
    if (!(b instanceof Tensor)) throw new Error(`[${name}] one operand must be a Tensor`);
    // number (op) tensor: make the number a 0-dim tensor of b's dtype on b's device.
    const s = wrap(native.fill([], a, b.dtype, b.device, recycled()));
    const out = wrapLike(native.binary(binaryCode(name), s.handle(name), b.handle(name), recycled()), b);
    s.dispose();
    return out;
  }
  checkTensor(name, 'a', a);
  if (typeof b !== 'number' && !(b instanceof Tensor)) {
    throw new Error(`[${name}] b must be a Tensor or a number, got ${describe(b)}`);
  }
  const bh = typeof b === 'number' ? b : b.handle(name);
  const h = native.binary(binaryCode(name), a.handle(name), bh, recycled());
  // With a number, or an operand of a's own shape, dtype and device, the output is like a.
  if (typeof b === 'number' || (b.dtype === a.dtype && b.device === a.device && sameShape(b.shape, a.shape))) return wrapLike(h, a);
  return wrap(h);
}

const T = (x: Operand): x is Tensor => x instanceof Tensor;

/** Shape and requiresGrad of an operand, read at forward time: backward must not touch the
 *  original tensors, which the caller may have disposed by then. */
function info(x: Operand): { t: boolean; shape: readonly number[]; rg: boolean } {
  return x instanceof Tensor ? { t: true, shape: x.shape, rg: x.requiresGrad } : { t: false, shape: [], rg: false };
}

/** a + b */
export function add(a: Operand, b: Operand): Tensor {
  const out = rawBinary('add', a, b);
  const [ia, ib] = [info(a), info(b)];
  record('add', [T(a) ? a : null, T(b) ? b : null], [out], [], ([g]) => [
    g && ia.rg ? sumTo(g, ia.shape) : null,
    g && ib.rg ? sumTo(g, ib.shape) : null,
  ]);
  return out;
}

/** a - b */
export function sub(a: Operand, b: Operand): Tensor {
  const out = rawBinary('sub', a, b);
  const [ia, ib] = [info(a), info(b)];
  record('sub', [T(a) ? a : null, T(b) ? b : null], [out], [], ([g]) => [
    g && ia.rg ? sumTo(g, ia.shape) : null,
    g && ib.rg ? sumTo(neg(g), ib.shape) : null,
  ]);
  return out;
}

/** a * b */
export function mul(a: Operand, b: Operand): Tensor {
  const out = rawBinary('mul', a, b);
  const [ia, ib] = [info(a), info(b)];
  const saved = [a, b].filter(T);
  record('mul', [T(a) ? a : null, T(b) ? b : null], [out], saved, ([g], s) => {
    const sa = T(a) ? s[0] : a;
    const sb = T(b) ? s[T(a) ? 1 : 0] : b;
    return [
      g && ia.rg ? sumTo(rawBinary('mul', g, sb), ia.shape) : null,
      g && ib.rg ? sumTo(rawBinary('mul', g, sa), ib.shape) : null,
    ];
  });
  return out;
}

/** a / b (float only) */
export function div(a: Operand, b: Operand): Tensor {
  const out = rawBinary('div', a, b);
  const [ia, ib] = [info(a), info(b)];
  const saved = [a, b].filter(T);
  record('div', [T(a) ? a : null, T(b) ? b : null], [out], saved, ([g], s) => {
    const sa = T(a) ? s[0] : a;
    const sb = T(b) ? s[T(a) ? 1 : 0] : b;
    const ga = g && ia.rg ? sumTo(rawBinary('div', g, sb), ia.shape) : null;
    let gb: Tensor | null = null;
    if (g && ib.rg) {
      // d(a/b)/db = -a / b^2
      gb = sumTo(rawBinary('mul', neg(g), rawBinary('div', rawBinary('div', sa, sb), sb)), ib.shape);
    }
    return [ga, gb];
  });
  return out;
}

/** a ** b (float only) */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof b === 'number' && T(a)) return unaryOp('powScalar', a, b, 0);
  const out = rawBinary('pow', a, b);
  const [ia, ib] = [info(a), info(b)];
  const saved = [a, b].filter(T);
  record('pow', [T(a) ? a : null, T(b) ? b : null], [out], [...saved, out], ([g], s) => {
    const sa = T(a) ? s[0] : a;
    const sb = T(b) ? s[T(a) ? 1 : 0] : b;
    const so = s[s.length - 1];
    const ga = g && ia.rg
      ? sumTo(rawBinary('mul', g, rawBinary('mul', sb, rawBinary('pow', sa, rawBinary('sub', sb, 1)))), ia.shape) : null;
    const gb = g && ib.rg
      ? sumTo(rawBinary('mul', rawBinary('mul', g, so), typeof sa === 'number' ? Math.log(sa) : unaryOp('log', sa)), ib.shape) : null;
    return [ga, gb];
  });
  return out;
}

function minmax(name: 'minimum' | 'maximum', a: Tensor, b: Operand): Tensor {
  const out = rawBinary(name, a, b);
  const [ia, ib] = [info(a), info(b)];
  const saved = [a, ...(T(b) ? [b] : [])];
  record(name, [a, T(b) ? b : null], [out], saved, ([g], s) => {
    if (!g) return [null, null];
    const sb = T(b) ? s[1] : b;
    // Where a wins the gradient goes to a, where b wins to b; ties split it evenly (PyTorch).
    const win = name === 'maximum' ? 'gt' : 'lt';
    const aw = rawBinary(win, s[0], sb);
    const tie = rawBinary('eq', s[0], sb);
    const wa = rawBinary('add', aw, rawBinary('mul', tie, 0.5));
    const ga = ia.rg ? sumTo(rawBinary('mul', g, wa), ia.shape) : null;
    const gb = ib.rg ? sumTo(rawBinary('mul', g, rawBinary('sub', 1, wa)), ib.shape) : null;
    return [ga, gb];
  });
  return out;
}

/** Elementwise minimum (NaN propagates). */
export function minimum(a: Tensor, b: Operand): Tensor {
  return minmax('minimum', a, b);
}
/** Elementwise maximum (NaN propagates). */
export function maximum(a: Tensor, b: Operand): Tensor {
  return minmax('maximum', a, b);
}

/** Comparisons: 1 where true, 0 where false, in the inputs' dtype. No gradient. */
export const eq = (a: Operand, b: Operand): Tensor => rawBinary('eq', a, b);
export const ne = (a: Operand, b: Operand): Tensor => rawBinary('ne', a, b);
export const lt = (a: Operand, b: Operand): Tensor => rawBinary('lt', a, b);
export const le = (a: Operand, b: Operand): Tensor => rawBinary('le', a, b);
export const gt = (a: Operand, b: Operand): Tensor => rawBinary('gt', a, b);
export const ge = (a: Operand, b: Operand): Tensor => rawBinary('ge', a, b);

/** cond != 0 ? a : b, broadcasting all three; cond may have any dtype. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  checkTensor('where', 'condition', cond);
  for (const [k, v] of [['a', a], ['b', b]] as const) {
    if (typeof v !== 'number' && !(v instanceof Tensor)) throw new Error(`[where] ${k} must be a Tensor or a number, got ${describe(v)}`);
    if (v instanceof Tensor) checkTensor('where', k, v);
  }
  [a, b] = promote(a, b);
  const ref = T(a) ? a : T(b) ? b : null;
  if (!ref) throw new Error('[where] a or b must be a Tensor');
  const ta = T(a) ? a : asOp('where', () => wrap(native.fill([], a as number, ref.dtype, ref.device, recycled())));
  const tb = T(b) ? b : asOp('where', () => wrap(native.fill([], b as number, ref.dtype, ref.device, recycled())));
  const out = wrap(native.where(cond.handle('where'), ta.handle('where'), tb.handle('where'), recycled()));
  if (!T(a)) ta.dispose();
  if (!T(b)) tb.dispose();
  const [ia, ib] = [info(a), info(b)];
  record('where', [null, T(a) ? a : null, T(b) ? b : null], [out], [cond], ([g], [c]) => {
    if (!g) return [null, null, null];
    const zero = wrap(native.fill([], 0, g.dtype, g.device, recycled()));
    return [
      null,
      ia.rg ? sumTo(where(c, g, zero), ia.shape) : null,
      ib.rg ? sumTo(where(c, zero, g), ib.shape) : null,
    ];
  });
  return out;
}

/** Fills `value` where mask != 0 (mask broadcasts to x). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  checkTensor('maskedFill', 'x', x);
  checkTensor('maskedFill', 'mask', mask);
  numArg('maskedFill', 'value', value);
  return asOp('maskedFill', () => where(mask, value, x));
}

// Ops whose backward reads the output y rather than the input x (cheaper or exact).
const USES_OUTPUT = new Set<UnaryName>(['exp', 'expm1', 'sqrt', 'rsqrt', 'reciprocal', 'tanh', 'sigmoid']);

/** @internal A unary op with its native backward g * f'(x). */
export function unaryOp(name: UnaryName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  if (!(UNARY as readonly unknown[]).includes(name)) throw new Error(`[unaryOp] name must be one of ${UNARY.join(', ')}; got ${describe(name)}`);
  checkTensor(name, 'x', x);
  numArg(name, 'parameter', p0);
  numArg(name, 'parameter', p1);
  const code = unaryCode(name);
  const out = wrapLike(native.unary(code, x.handle(name), p0, p1, recycled()), x);
  const useY = USES_OUTPUT.has(name);
  record(name, [x], [out], useY ? [out] : [x], ([g], [s]) => {
    if (!g) return [null];
    const h = s.handle(name);
    return [wrapLike(native.unaryBackward(code, h, h, g.handle(name), p0, p1, recycled()), s, g.dtype)];
  });
  return out;
}

export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
export const abs = (x: Tensor): Tensor => unaryOp('abs', x);
export const sign = (x: Tensor): Tensor => unaryOp('sign', x);
export const square = (x: Tensor): Tensor => unaryOp('square', x);
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
export const log = (x: Tensor): Tensor => unaryOp('log', x);
export const log1p = (x: Tensor): Tensor => unaryOp('log1p', x);
export const expm1 = (x: Tensor): Tensor => unaryOp('expm1', x);
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unaryOp('rsqrt', x);
export const reciprocal = (x: Tensor): Tensor => unaryOp('reciprocal', x);
export const sin = (x: Tensor): Tensor => unaryOp('sin', x);
export const cos = (x: Tensor): Tensor => unaryOp('cos', x);
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);
export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
export const silu = (x: Tensor): Tensor => unaryOp('silu', x);

/** max(x, 0) + slope * min(x, 0). */
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => unaryOp('leakyRelu', x, numArg('leakyRelu', 'negativeSlope', negativeSlope));

/** GELU: exact (erf) by default, or the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate !== 'none' && approximate !== 'tanh') throw new Error(`[gelu] approximate must be 'none' or 'tanh', got ${describe(approximate)}`);
  return asOp('gelu', () => unaryOp(approximate === 'tanh' ? 'geluTanh' : 'gelu', x));
}

/** log(1 + exp(beta x)) / beta, linear above `threshold` (PyTorch: beta 1, threshold 20). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  if (typeof beta !== 'number' || !(beta > 0)) throw new Error(`[softplus] beta must be > 0, got ${typeof beta === 'number' ? beta : describe(beta)}`);
  numArg('softplus', 'threshold', threshold);
  return unaryOp('softplus', x, beta, threshold);
}

/** Limits x to [min, max]; either bound may be omitted (null/undefined). */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const lo = min === undefined || min === null ? NaN : numArg('clamp', 'min', min);
  const hi = max === undefined || max === null ? NaN : numArg('clamp', 'max', max);
  if (lo === lo && hi === hi && lo > hi) throw new Error(`[clamp] min ${lo} is greater than max ${hi}`);
  return unaryOp('clamp', x, lo, hi);
}

/** Gated linear unit: split `dim` in halves a, b; a * sigmoid(b). */
export function glu(x: Tensor, dim = -1): Tensor {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chunk } = require('./shape') as typeof import('./shape');
  checkTensor('glu', 'x', x);
  const d = normDim('glu', dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] % 2 !== 0) throw new Error(`[glu] dim ${dim} has odd size ${x.ndim ? x.shape[d] : 1}; it must split in halves`);
  return asOp('glu', () => tidy(() => {
    const [a, b] = chunk(x, 2, d);
    return mul(a, sigmoid(b));
  }));
}
