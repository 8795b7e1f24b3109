/**
 * ctc.ts — connectionist temporal classification loss (Graves et al., 2006), as F.ctc_loss with
 * batch-first log-probabilities and padded targets.
 *
 * Glossary: B batch, T frames, C classes (blank included), S padded target length;
 * logProbs (B, T, C) = logSoftmax(logits, -1); targets int32 (B, S); inputLengths T_b and
 * targetLengths S_b int32 (B) (Int32Array, number[] or int32 tensor).
 *
 * The native op (native/ops/loss/ctc.h) runs the log-space alpha recursion forward (saving alpha)
 * and the beta recursion in its backward, giving per-item nll (B) and the exact gradient
 * d nll / d logProbs (PyTorch's backward adds exp(logProbs), which cancels through logSoftmax, so
 * gradients w.r.t. logits match PyTorch). Reductions: 'none' -> (B); 'sum'; 'mean' divides each
 * item's loss by max(S_b, 1), then averages over the batch (PyTorch). An alignment that cannot
 * exist (T_b < S_b + number of repeated neighbours) gives +Infinity, or 0 with zeroInfinity, and a
 * zero gradient: never NaN. Targets and lengths are checked on every call (read on the host: on
 * cuda that is a sync): a label >= C or equal to blank, or a length out of range, throws.
 */
import { native } from '../native';
import { noGrad, record } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { describe, Tensor } from '../tensor/tensor';
import { clamp, div } from './elementwise';
import { mean, sum } from './reduce';
import { contiguous } from './shape';
import { Lengths, lengthsTensor } from './lengths';
import { checkTensor, optionsArg, recycled, shapeStr, wrap } from './util';
import type { Reduction } from './loss';

/** Options of ctcLoss. */
export interface CtcLossOptions {
  /** Index of the blank class (default 0). */
  blank?: number;
  reduction?: Reduction;
  /** Replace infinite losses (impossible alignments) by 0, with zero gradient. Default false. */
  zeroInfinity?: boolean;
}

/**
 * CTC loss of logProbs (B, T, C) against padded int32 targets (B, S). Returns a scalar
 * ('mean' | 'sum') or the per-item losses (B) ('none').
 */
export function ctcLoss(logProbs: Tensor, targets: Tensor, inputLengths: Lengths, targetLengths: Lengths, opts: CtcLossOptions = {}): Tensor {
  const op = 'ctcLoss';
  checkTensor(op, 'logProbs', logProbs);
  checkTensor(op, 'targets', targets);
  opts = optionsArg(op, opts);
  if (inputLengths === null || inputLengths === undefined) throw new Error(`[${op}] inputLengths are required (B values)`);
  if (targetLengths === null || targetLengths === undefined) throw new Error(`[${op}] targetLengths are required (B values)`);
  if (logProbs.ndim !== 3) throw new Error(`[${op}] logProbs must have shape (B, T, C), got ${shapeStr(logProbs.shape)}`);
  const B = logProbs.shape[0];
  if (targets.ndim !== 2 || targets.shape[0] !== B) {
    throw new Error(`[${op}] targets must have shape (B, S) with B = ${B} (padded on the right), got ${shapeStr(targets.shape)}`);
  }
  const blank = opts.blank ?? 0;
  if (!Number.isInteger(blank)) throw new Error(`[${op}] blank must be an integer, got ${String(blank)}`);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new Error(`[${op}] reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  }
  const zeroInf = opts.zeroInfinity ?? false;
  return tidy(() => {
    // Host lengths are checked here (inputs against T, targets against S); tensors by the addon.
    const il = lengthsTensor(op, 'inputLengths', inputLengths, B, logProbs.shape[1], 'T').t!;
    const tl = lengthsTensor(op, 'targetLengths', targetLengths, B, targets.shape[1], 'S').t!;
    const [nll, alpha] = noGrad(() => native.ctcLossFwd(logProbs.handle(op), targets.handle(op), il.handle(op), tl.handle(op), blank, zeroInf)).map(wrap);
    record(op, [logProbs], [nll], [logProbs, targets, il, tl, alpha], ([g], [lp, t, i, s, a]) => {
      if (!g) return [null];
      return [wrap(native.ctcLossBwd(lp.handle(op), t.handle(op), i.handle(op), s.handle(op), a.handle(op),
        contiguous(g).handle(op), blank, zeroInf, recycled()))];
    });
    if (reduction === 'none') return nll;
    if (reduction === 'sum') return sum(nll);
    return mean(div(nll, clamp(tl.to({ dtype: 'float32', device: logProbs.device }), 1)));
  });
}

