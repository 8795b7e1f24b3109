/**
 * matmul.ts — matrix products with batch broadcasting, as torch.matmul, and linear.
 *
 * Shapes: a (..., M, K) · b (..., K, N) -> (broadcast(...), M, N); a 1-D a is (1, K) with the M
 * dim dropped after, a 1-D b is (K, 1) with the N dim dropped. Transposed views go to the kernel
 * as they are (strides), and a 2-D b against a batched a becomes one (B*M, K) · (K, N) GEMM,
 * which is how Linear layers on (B, L, C) activations run.
 */
import { native } from '../native';
import { autocastDtype, autocastInputs } from '../autograd/autocast';
import { noGrad, record } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { add } from './elementwise';
import { expand, reshape, squeeze, sumTo, transpose, unsqueeze, viewOf } from './shape';
import { asOp, checkTensor, optionsArg, prod, recycled, shapeStr, wrap } from './util';

/** Options of matmul. */
export interface MatmulOptions {
  /** On CUDA, let float32 products use TF32 tensor cores (10-bit mantissa inputs). Default false. */
  allowTF32?: boolean;
}

function broadcastBatch(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; ++i) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`[matmul] batch dims ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** (…batch, r, c) -> a 3-D view (Bt, r, c) when the batch dims merge, else a contiguous copy. */
function as3d(t: Tensor): Tensor {
  const nd = t.ndim;
  const [strides, offset] = t._layoutOf('matmul');
  const batch = t.shape.slice(0, nd - 2);
  const bstr = strides.slice(0, nd - 2);
  let merged: number | null = batch.length === 0 ? 0 : bstr[batch.length - 1];
  for (let i = batch.length - 2; i >= 0 && merged !== null; --i) {
    if (batch[i] !== 1 && bstr[i] !== bstr[i + 1] * batch[i + 1] && !(bstr[i] === 0 && bstr[i + 1] === 0)) merged = null;
  }
  const shape = [prod(batch), t.shape[nd - 2], t.shape[nd - 1]];
  if (merged !== null) return viewOf(t, shape, [merged, strides[nd - 2], strides[nd - 1]], offset);
  return reshape(t.contiguous(), shape);
}

/** The 2-D product kernel on n-D operands with equal batch shapes (no autograd here). */
function rawMatmul(a: Tensor, b: Tensor, tf32: boolean): Tensor {
  const batch = a.shape.slice(0, -2);
  const M = a.shape[a.ndim - 2];
  const N = b.shape[b.ndim - 1];
  const a3 = as3d(a);
  const b3 = as3d(b);
  const out = wrap(native.matmul(a3.handle('matmul'), b3.handle('matmul'), tf32, recycled()));
  if (a3 !== a) a3.dispose();
  if (b3 !== b) b3.dispose();
  if (batch.length === 1) return out;
  const r = reshape(out, [...batch, M, N]);
  return r;
}

/** Whether the leading dims of `t` (all but the last) fold into one row dim as a view. */
function rowsFold(t: Tensor): boolean {
  const [strides] = t._layoutOf('matmul');
  for (let i = 0; i < t.ndim - 2; ++i) {
    if (t.shape[i] !== 1 && strides[i] !== strides[i + 1] * t.shape[i + 1]) return false;
  }
  return true;
}

function product(a: Tensor, b: Tensor, tf32: boolean): Tensor {
  // (M, K) · (K, N): straight to the kernel (it takes 2-D operands as a batch of one).
  if (a.ndim === 2 && b.ndim === 2) return wrap(native.matmul(a.handle('matmul'), b.handle('matmul'), tf32, recycled()));
  // (…, M, K) · (K, N): fold the batch into M when a's rows merge (one GEMM, no broadcast copy).
  if (b.ndim === 2 && a.ndim > 2 && rowsFold(a)) {
    const lead = a.shape.slice(0, -1);
    const a2 = reshape(a, [1, prod(lead), a.shape[a.ndim - 1]]);
    const b2 = unsqueeze(b, 0);
    const out = wrap(native.matmul(a2.handle('matmul'), b2.handle('matmul'), tf32, recycled()));
    return reshape(out, [...lead, b.shape[1]]);
  }
  const batch = broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const ae = expand(a, [...batch, a.shape[a.ndim - 2], a.shape[a.ndim - 1]]);
  const be = expand(b, [...batch, b.shape[b.ndim - 2], b.shape[b.ndim - 1]]);
  const a3 = ae.ndim === 2 ? unsqueeze(ae, 0) : ae;
  const b3 = be.ndim === 2 ? unsqueeze(be, 0) : be;
  const out = rawMatmul(a3, b3, tf32);
  return batch.length === 0 ? reshape(out, out.shape.slice(1)) : out;
}

/**
 * Matrix product with torch.matmul's rules: a (..., M, K) · b (..., K, N) -> (..., M, N) with
 * broadcast batch dims; 1-D operands are vectors. float32 (exact unless allowTF32 on CUDA);
 * bfloat16 on CUDA (tensor cores, float32 accumulation).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  checkTensor('matmul', 'a', a);
  checkTensor('matmul', 'b', b);
  opts = optionsArg('matmul', opts);
  if (autocastDtype() !== null && a.device === 'cuda' && (a.dtype === 'float32' || b.dtype === 'float32')) {
    return tidy(() => {
      const [ac, bc] = autocastInputs(a, b) as Tensor[];
      return withoutAutocast(() => matmul(ac, bc, opts));
    });
  }
  if (a.ndim === 0 || b.ndim === 0) throw new Error('[matmul] operands must have at least 1 dim; use mul for scalars');
  if (a.ndim === 1 && b.ndim === 1) return tidy(() => reshape(matmul(unsqueeze(a, 0), unsqueeze(b, 1), opts), []));
  if (a.ndim === 1) return tidy(() => squeeze(matmul(unsqueeze(a, 0), b, opts), -2));
  if (b.ndim === 1) return tidy(() => squeeze(matmul(a, unsqueeze(b, 1), opts), -1));
  const K = a.shape[a.ndim - 1];
  if (b.shape[b.ndim - 2] !== K) {
    throw new Error(`[matmul] inner dims differ: a ${shapeStr(a.shape)} has K = ${K}, b ${shapeStr(b.shape)} has K = ${b.shape[b.ndim - 2]}`);
  }
  const tf32 = opts.allowTF32 ?? false;
  // The views product() makes are bookkeeping, not graph: matmul records its own node.
  // tidy: the intermediate 3-D result and views are freed now, not at the next GC (a 1024^2
  // output left to the GC made every call cudaMalloc a fresh block: 0.3 ms each).
  const out = noGrad(() => tidy(() => product(a, b, tf32)));
  const sa = a.shape;
  const sb = b.shape;
  const needA = a.requiresGrad;
  const needB = b.requiresGrad;
  record('matmul', [a, b], [out], [a, b], ([g0], [as, bs]) => {
    if (!g0) return [null, null];
    // Under autocast the incoming grad can be float32 while the operands were bf16.
    const g = g0.dtype === as.dtype ? g0 : g0.to(as.dtype);
    // dA = dC · B^T, dB = A^T · dC, summed over broadcast batch dims.
    const ga = needA ? sumTo(product(g, transpose(bs), tf32), sa) : null;
    let gb: Tensor | null = null;
    if (needB) {
      if (sb.length === 2 && sa.length > 2) {
        // Batched a against a 2-D b: one (K, B*M) · (B*M, N) product.
        const a2 = reshape(as, [-1, sa[sa.length - 1]]);
        const g2 = reshape(g, [-1, g.shape[g.ndim - 1]]);
        gb = product(transpose(a2), g2, tf32);
      } else {
        gb = sumTo(product(transpose(as), g, tf32), sb);
      }
    }
    return [ga, gb];
  });
  return out;
}

/** y = x · weightᵀ + bias, as torch.nn.functional.linear: x (..., in), weight (out, in), bias (out). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: MatmulOptions = {}): Tensor {
  checkTensor('linear', 'x', x);
  checkTensor('linear', 'weight', weight);
  opts = optionsArg('linear', opts);
  if (x.ndim === 0) throw new Error('[linear] x must be (..., in), got a scalar');
  if (weight.ndim !== 2) throw new Error(`[linear] weight must be (out, in), got ${shapeStr(weight.shape)}`);
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new Error(`[linear] x ${shapeStr(x.shape)} has ${x.shape[x.ndim - 1]} features but weight ${shapeStr(weight.shape)} expects ${weight.shape[1]}`);
  }
  if (bias) {
    checkTensor('linear', 'bias', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0]) {
      throw new Error(`[linear] bias must be (${weight.shape[0]}), got ${shapeStr(bias.shape)}`);
    }
  }
  return asOp('linear', () => tidy(() => {
    const y = matmul(x, transpose(weight), opts);
    return bias ? add(y, bias) : y;
  }));
}

function withoutAutocast<T>(fn: () => T): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { autocast } = require('../autograd/autocast') as typeof import('../autograd/autocast');
  return autocast('bfloat16', fn, { enabled: false });
}
