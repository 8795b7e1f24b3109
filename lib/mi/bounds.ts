/**
 * bounds.ts — the MI lower bounds: the training objective (a differentiable surrogate whose
 * gradient is the estimator's) and the reported value, per critic (P).
 *
 * Glossary: tj (P, B) joint scores T(x_i, y_i); tm (P, M) marginal scores with an optional mask
 * (all-pairs: M = B², the diagonal masked out, count = B(B-1)); S (P, B, B) all-pairs scores;
 * lme = log-mean-exp over the marginal samples.
 *
 *   dv       value  mean tj - lme(tm)                       gradient: of the value (biased)
 *   mine     value  as dv                                   gradient: E_q[∇T e^T] / ema, ema = α mean e^tm + (1-α) ema
 *   nwj      value  mean tj - mean exp(tm - 1)               gradient: of the value (unbiased)
 *   infonce  value  log B + mean_i (S_ii - logsumexp_j S_ij) gradient: of the value; value <= log B
 *   smile    value  mean tj - lme(clip(tm, -τ, τ))          gradient: of the JS bound
 *                    -mean softplus(-tj) - mean softplus(tm)   (Song & Ermon 2020)
 */
import { noGrad } from '../autograd/tape';
import { add, clamp, div, exp, mul, neg, softplus, sub } from '../ops/elementwise';
import { logsumexp, mean, sum } from '../ops/reduce';
import { reshape, slice, stack } from '../ops/shape';
import { full, tensor } from '../tensor/creation';
import { keep } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import type { Estimator } from './options';

// exp(-1e9) is exactly 0 in float32, and unlike -inf it keeps every gradient finite.
const MASKED = -1e9;
// Denominator floor of the MINE gradient, as the paper's code (EPS = 1e-6).
const EMA_EPS = 1e-6;

/** Constant masks of the off-diagonal pairs of a B x B score matrix, flattened (B²). */
export interface OffDiag {
  log: Tensor;  // 0 off the diagonal, -1e9 on it
  w: Tensor;    // 1 off the diagonal, 0 on it
  count: number;
}

export function offDiag(B: number, device: Device): OffDiag {
  const log = new Float32Array(B * B);
  const w = new Float32Array(B * B).fill(1);
  for (let i = 0; i < B; ++i) {
    log[i * B + i] = MASKED;
    w[i * B + i] = 0;
  }
  return { log: keep(tensor(log, [B * B], { device })), w: keep(tensor(w, [B * B], { device })), count: B * (B - 1) };
}

/** Joint and marginal scores of one batch. */
export interface Scores {
  tj: Tensor;          // (P, B)
  tm: Tensor;          // (P, M)
  S: Tensor | null;    // (P, B, B) for all-pairs
  mask: OffDiag | null;
}

/** The diagonal S_ii (P, B) of S (P, B, B), as a strided view of the flattened rows. */
export function diagonal(S: Tensor): Tensor {
  const [P, B] = S.shape;
  return slice(reshape(S, [P, B * B]), 1, 0, B * B, B + 1);
}

export function allPairsScores(S: Tensor, mask: OffDiag): Scores {
  const [P, B] = S.shape;
  return { tj: diagonal(S), tm: reshape(S, [P, B * B]), S, mask };
}

/** log-mean-exp over the marginal samples (P). */
function lme(t: Tensor, mask: OffDiag | null): Tensor {
  const M = mask ? mask.count : t.shape[1];
  return sub(logsumexp(mask ? add(t, mask.log) : t, 1), Math.log(M));
}

/** mean over the marginal samples of exp(t + shift) (P). */
function meanExp(t: Tensor, shift: number, mask: OffDiag | null): Tensor {
  const M = mask ? mask.count : t.shape[1];
  const e = exp(add(mask ? add(t, mask.log) : t, shift));
  return div(sum(e, 1), M);
}

/** State carried across steps: the MINE moving average of mean e^T(marginal), (P, 1). */
export interface BoundState {
  ema: Tensor | null;
}

/**
 * The loss to minimise (a scalar: the sum over the P critics, whose parameters are disjoint, so
 * each gets its own gradient) and the value (P) of the bound on this batch.
 */
export function objective(est: Estimator, sc: Scores, o: { alpha: number; tau: number }, state: BoundState): { loss: Tensor; value: Tensor } {
  const { tj, tm, S, mask } = sc;
  const jointMean = mean(tj, 1);                                       // (P)
  switch (est) {
    case 'dv': {
      const value = sub(jointMean, lme(tm, mask));
      return { loss: neg(sum(value)), value };
    }
    case 'mine': {
      // The value is not differentiated: record no graph (its saved tensors would wait for the GC).
      const value = noGrad(() => sub(jointMean, lme(tm, mask)));
      const e = meanExp(tm, 0, mask);                                  // (P), carries the gradient
      const next = noGrad(() => {
        const cur = e.detach();
        return state.ema === null ? cur.contiguous() : add(mul(cur, o.alpha), mul(state.ema, 1 - o.alpha));
      });
      keep(next);
      state.ema?.dispose();
      state.ema = next;
      // d/dθ of e / ema (ema constant) = E_q[∇T e^T] / ema: Belghazi et al.'s corrected gradient.
      const loss = sub(sum(div(e, add(next, EMA_EPS))), sum(jointMean));
      return { loss, value };
    }
    case 'nwj': {
      const value = sub(jointMean, meanExp(tm, -1, mask));
      return { loss: neg(sum(value)), value };
    }
    case 'infonce': {
      if (S === null) throw new Error('[mi.estimate] infonce needs all-pairs scores');
      const B = S.shape[1];
      const value = add(mean(sub(tj, logsumexp(S, 2)), 1), Math.log(B));
      return { loss: neg(sum(value)), value };
    }
    case 'smile': {
      const value = noGrad(() => sub(jointMean, lme(clamp(tm, -o.tau, o.tau), mask)));
      const M = mask ? mask.count : tm.shape[1];
      const sp = softplus(tm);
      const margTerm = div(sum(mask ? mul(sp, mask.w) : sp, 1), M);
      const js = sub(neg(mean(softplus(neg(tj)), 1)), margTerm);      // (P)
      return { loss: neg(sum(js)), value };
    }
  }
}

/**
 * The held-out statistics of one chunk of C rows, reduced on the device to (P, 2):
 *   [:, 0]  Σ_i tj_i
 *   [:, 1]  log Σ e^tm over the marginal samples (clipped to ±τ for smile; nwj reads
 *           Σ e^(tm - 1) as e^(lse - 1)), or for infonce Σ_i (S_ii - logsumexp_j S_ij).
 * Only 2P floats per chunk reach the host: an all-pairs chunk holds P·C² scores (15 critics x
 * 256² = 1M floats), and looping over those on the host cost ~1 s per evaluation on a GPU run.
 */
export function chunkStats(est: Estimator, sc: Scores, tau: number): Tensor {
  const { tj, tm, S, mask } = sc;
  let second: Tensor;                                                  // (P)
  if (est === 'infonce') {
    if (S === null) throw new Error('[mi.estimate] infonce needs all-pairs scores');
    second = sum(sub(tj, logsumexp(S, 2)), 1);
  } else {
    const t = est === 'smile' ? clamp(tm, -tau, tau) : tm;
    second = logsumexp(mask ? add(t, mask.log) : t, 1);
  }
  return stack([sum(tj, 1), second], 1);                               // (P, 2)
}

/** Per-critic accumulator of the held-out value over chunks (chunkStats), in float64 on the host. */
export class HeldOutAcc {
  private jointSum = 0;
  private joint = 0;
  private lse = -Infinity;      // log Σ e^tm over every chunk so far
  private marg = 0;
  private ncSum = 0;            // Σ over rows of log C + S_ii - logsumexp_j S_ij (infonce)
  private ncRows = 0;

  constructor(private readonly est: Estimator) {}

  /** One chunk: its two chunkStats values, C rows, and its count of marginal samples. */
  add(jointSum: number, second: number, C: number, marginals: number): void {
    if (this.est === 'infonce') {
      this.ncSum += second + C * Math.log(C);
      this.ncRows += C;
      return;
    }
    this.jointSum += jointSum;
    this.joint += C;
    const hi = Math.max(this.lse, second);
    this.lse = hi === -Infinity ? hi : hi + Math.log(Math.exp(this.lse - hi) + Math.exp(second - hi));
    this.marg += marginals;
  }

  value(): number {
    if (this.est === 'infonce') return this.ncSum / this.ncRows;
    const jm = this.jointSum / this.joint;
    const lme = this.lse - Math.log(this.marg);
    return this.est === 'nwj' ? jm - Math.exp(lme - 1) : jm - lme;
  }
}

/** A (P) float tensor of zeros on `device` (the running sum of train values). */
export function zerosP(P: number, device: Device): Tensor {
  return keep(full([P], 0, { device }));
}
