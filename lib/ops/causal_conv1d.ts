/**
 * causal_conv1d.ts — depthwise causal convolution over time with its gradient (CPU + CUDA).
 *
 * Glossary: x (B, D, L); weight (D, W) float32, W in 1..8, weight[:, W-1] multiplies the current
 * step; bias (D) float32; states (B, D, W-1) float32 = the W-1 inputs before t = 0 (initial) or
 * up to the last valid step (final).
 *   pre_t = bias + sum_w weight[w] x_{t-(W-1)+w}    (B, D, L), x_{<0} from initialState
 *   out_t = silu(pre_t) with activation 'silu'; steps t >= lengths[b] give 0
 * = PyTorch conv1d(x, weight[:, None, :], bias, padding=W-1, groups=D)[..., :L] (as causal-conv1d).
 */
import { native, NativeConvOptions, NativeHandle } from '../native';
import { needsGrad, record } from '../autograd/tape';
import { describe, Tensor } from '../tensor/tensor';
import { Lengths, lengthsTensor } from './lengths';
import { tensorArg } from './selective_scan';

export interface CausalConv1dOptions {
  activation?: 'silu' | null;
  /** (B) valid steps per batch item; steps past them give 0. */
  lengths?: Lengths | null;
  /** (B, D, W-1) float32 inputs before t = 0 (zeros when absent). */
  initialState?: Tensor | null;
  /** Also return the last W-1 valid inputs, (B, D, W-1) float32 (differentiable). */
  returnFinalState?: boolean;
  /** Accepted for symmetry with selectiveScan: this op's backward is always bitwise-reproducible. */
  deterministic?: boolean;
}

export interface CausalConv1dResult {
  out: Tensor;
  finalState: Tensor;
}

/** Causal depthwise conv1d of x (B, D, L) with weight (D, W): the output tensor, or `{ out, finalState }` with returnFinalState. */
export function causalConv1d(x: Tensor, weight: Tensor, bias?: Tensor | null,
  opts?: CausalConv1dOptions & { returnFinalState?: false }): Tensor;
export function causalConv1d(x: Tensor, weight: Tensor, bias: Tensor | null | undefined,
  opts: CausalConv1dOptions & { returnFinalState: true }): CausalConv1dResult;
export function causalConv1d(x: Tensor, weight: Tensor, bias?: Tensor | null,
  opts?: CausalConv1dOptions): Tensor | CausalConv1dResult;
export function causalConv1d(x: Tensor, weight: Tensor, bias?: Tensor | null,
  opts: CausalConv1dOptions = {}): Tensor | CausalConv1dResult {
  const op = 'causalConv1d';
  tensorArg(op, 'x', x, false);
  tensorArg(op, 'weight', weight, false);
  const b = tensorArg(op, 'bias', bias, true);
  if (opts === null || typeof opts !== 'object') throw new Error(`[${op}] options must be an object, got ${describe(opts)}`);
  const act = opts.activation ?? null;
  if (act !== null && act !== 'silu') throw new Error(`[${op}] activation must be 'silu' or null, got ${describe(act)}`);
  const init = tensorArg(op, 'initialState', opts.initialState, true);
  const returnFinal = opts.returnFinalState === true;
  // With a malformed x the addon reports x's shape; lengths are checked against a valid one.
  const len = x.ndim === 3 ? lengthsTensor(op, 'lengths', opts.lengths, x.shape[0], x.shape[2]) : { t: null, own: false };
  const h = (t: Tensor | null): NativeHandle | null => (t ? t.handle(op) : null);
  const nopts: NativeConvOptions = { bias: h(b), initialState: h(init), lengths: h(len.t), silu: act === 'silu', returnFinalState: returnFinal };
  const inputs = [x, weight, b, init];
  try {
    const [oh, fh] = native.causalConv1dFwd(x.handle(op), weight.handle(op), nopts);
    const out = new Tensor(oh);
    const finalState = fh ? new Tensor(fh) : null;
    if (needsGrad(inputs)) {
      const optional = [b, init, len.t];
      const saved = [x, weight, ...optional.filter((t): t is Tensor => t !== null)];
      record(op, inputs, finalState ? [out, finalState] : [out], saved, (grads, s) => {
        let i = 2;
        const next = (t: Tensor | null): NativeHandle | null => (t ? s[i++].handle(op) : null);
        const bopts: NativeConvOptions = { bias: next(b), initialState: next(init), lengths: next(len.t), silu: act === 'silu' };
        const gOut = grads[0], gFinal = grads[1] ?? null;
        if (!gOut && !gFinal) return inputs.map(() => null);
        const r = native.causalConv1dBwd(s[0].handle(op), s[1].handle(op), bopts, gOut ? gOut.handle(op) : null,
          gFinal ? gFinal.handle(op) : null);
        return r.map((hh) => (hh ? new Tensor(hh) : null));
      });
    }
    return finalState ? { out, finalState } : out;
  } finally {
    if (len.own && len.t) len.t.dispose();
  }
}
