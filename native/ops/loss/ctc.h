// ctc.h — CTC loss (Graves et al., ICML 2006) by the log-space forward–backward recursion.
//
// Glossary: lp = log-probabilities (B, T, C) (log_softmax output, time-major per item);
// targets (B, S) int32, padded on the right; T_b = inputLengths[b], S_b = targetLengths[b];
// l' = extended labels of item b: blank, y_1, blank, y_2, ..., y_S_b, blank (L_b = 2 S_b + 1;
// L = 2 S + 1 is the padded width); alpha (B, T, L), float32, log space; beta likewise.
//
//   alpha_0(0) = lp[0, blank],  alpha_0(1) = lp[0, y_1]
//   alpha_t(s) = lp[t, l'_s] + lse(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2))
//                (the s-2 term only when l'_s != blank and l'_s != l'_{s-2}: no skipping the blank
//                 between repeated labels, which is why "aa" needs T >= 3)
//   nll_b = -lse(alpha_{T_b-1}(L_b - 1), alpha_{T_b-1}(L_b - 2))
//   beta mirrors alpha from t = T_b - 1; like alpha it includes lp at t, so
//   d nll_b / d lp[t, c] = -sum_{s : l'_s = c} exp(alpha_t(s) + beta_t(s) - lp[t, c] + nll_b)  (t < T_b)
//
// The gradient is the exact one w.r.t. lp. PyTorch's ctc_loss backward returns it plus exp(lp),
// a term that sums to zero through log_softmax's backward (each frame's occupancies sum to 1),
// so gradients w.r.t. the logits agree. Infeasible items (T_b too short for S_b plus the repeats)
// give nll = +inf (0 with zero_infinity) and a zero gradient, never NaN; T_b = 0 gives nll 0
// when S_b = 0, else +inf. The recursion reads the float32-stored alpha/beta back (as PyTorch)
// and computes each log-sum-exp in double, on both devices.
#pragma once
#include <cmath>

#include "../../core/tensor.h"

namespace ms {

struct CtcArgs {
  int64_t blank = 0;
  bool zero_infinity = false;
};

struct CtcForward {
  Tensor nll;    // (B) float32
  Tensor alpha;  // (B, T, 2S + 1) float32, saved for the backward
};

// targets and lengths may live on either device: they are copied to the host and checked
// (targets in [0, C) and != blank within S_b, 0 <= T_b <= T, 0 <= S_b <= S).
CtcForward ctc_loss_fwd(const Tensor& lp, const Tensor& targets, const Tensor& input_lengths,
                        const Tensor& target_lengths, const CtcArgs& a, const std::shared_ptr<Accounting>& acct);
// g (B): the gradient of each item's loss. Returns d lp (B, T, C). It is called on the tensors the
// forward checked, so on CUDA it skips the host copies (and the sync) of targets and lengths.
Tensor ctc_loss_bwd(const Tensor& lp, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths,
                    const Tensor& alpha, const Tensor& g, const CtcArgs& a, const std::shared_ptr<Accounting>& acct);

// Kernels: contiguous float32 lp, int32 targets/lengths on lp's device.
struct CtcProblem {
  const float* lp;
  const int32_t *targets, *in_len, *tgt_len;
  int64_t B, T, C, S, L;
  int64_t blank;
  bool zero_infinity;
};
void ctc_fwd_cpu(const CtcProblem& p, float* nll, float* alpha);
void ctc_fwd_cuda(const CtcProblem& p, float* nll, float* alpha);
void ctc_bwd_cpu(const CtcProblem& p, const float* alpha, const float* g, float* grad);
void ctc_bwd_cuda(const CtcProblem& p, const float* alpha, const float* g, float* grad, const std::shared_ptr<Accounting>& acct);

// Shared by both backends so the recursions cannot drift.
MS_HD double ctc_lse(double a, double b) {
  const double m = a > b ? a : b;
  if (m == -INFINITY) return -INFINITY;
  return m + log(exp(a - m) + exp(b - m));
}
MS_HD double ctc_lse3(double a, double b, double c) {
  double m = a > b ? a : b;
  m = m > c ? m : c;
  if (m == -INFINITY) return -INFINITY;
  return m + log(exp(a - m) + exp(b - m) + exp(c - m));
}
// Extended label l'_s of one item (tgt = its row of targets).
MS_HD int64_t ctc_label(const int32_t* tgt, int64_t s, int64_t blank) { return (s & 1) ? tgt[s >> 1] : blank; }
// Whether alpha may come from s - 2 (equivalently beta from s + 2 into s - 2's slot).
MS_HD bool ctc_can_skip(const int32_t* tgt, int64_t s, int64_t blank) {
  return s >= 2 && (s & 1) && tgt[s >> 1] != tgt[(s >> 1) - 1];
}
// nll from the last alpha row of an item: -lse(alpha(L_b - 1), alpha(L_b - 2)).
MS_HD double ctc_nll(const float* alpha_last, int64_t Lb) {
  return -ctc_lse(alpha_last[Lb - 1], Lb > 1 ? static_cast<double>(alpha_last[Lb - 2]) : -INFINITY);
}

}  // namespace ms
