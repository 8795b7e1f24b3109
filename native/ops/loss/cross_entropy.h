// cross_entropy.h — fused log-softmax + NLL over rows, with class weights, ignore_index and label
// smoothing (PyTorch's F.cross_entropy per element, before reduction), and its backward.
//
// Glossary: z = logits (M, C) (M = N * d1 * ... rows, C classes), t_i = target[i] (int32),
// w = class weights (C) (1 when absent), W = sum_c w_c, eps = label smoothing,
// lse_i = logsumexp_c z_ic (0 when log_input: z already holds log-probabilities, nll_loss),
// p_ic = exp(z_ic - lse_i).
//
//   forward:  t_i == ignore_index -> loss_i = 0, wrow_i = 0; else
//             loss_i = (1 - eps) w_t (lse_i - z_it) + (eps / C) sum_c w_c (lse_i - z_ic)
//             wrow_i = w_t  (the 'mean' reduction divides sum(loss) by sum(wrow), as PyTorch)
//   backward: dz_ic = g_i [(1 - eps) w_t (p_ic - [c == t]) + (eps / C) (W p_ic - w_c)]
//             (log_input: the p terms vanish) and 0 for ignored rows.
// Accumulation in double. A target outside [0, C) other than ignore_index is an error on the CPU;
// on CUDA its loss is NaN (visible, not silently wrong) and the exact error comes with validate.
#pragma once
#include "../../core/tensor.h"

namespace ms {

struct CrossEntropyArgs {
  int64_t ignore_index = -100;
  double smoothing = 0;
  bool log_input = false;  // nllLoss
  bool validate = false;
  const char* op = "crossEntropy";
};

struct CrossEntropyForward {
  Tensor loss, lse, wrow;  // (M) float32 each
};

CrossEntropyForward cross_entropy_fwd(const Tensor& logits, const Tensor& target, const Tensor* weight,
                                      const CrossEntropyArgs& a, const std::shared_ptr<Accounting>& acct);
Tensor cross_entropy_bwd(const Tensor& logits, const Tensor& target, const Tensor* weight, const Tensor& lse,
                         const Tensor& g, const CrossEntropyArgs& a, const std::shared_ptr<Accounting>& acct);

// Contiguous float32 inputs; weight may be null.
void cross_entropy_fwd_cpu(const Tensor& z, const Tensor& t, const float* w, const CrossEntropyArgs& a, CrossEntropyForward& f);
void cross_entropy_fwd_cuda(const Tensor& z, const Tensor& t, const float* w, const CrossEntropyArgs& a, CrossEntropyForward& f);
void cross_entropy_bwd_cpu(const Tensor& z, const Tensor& t, const float* w, const Tensor& lse, const Tensor& g,
                           const CrossEntropyArgs& a, Tensor& dz);
void cross_entropy_bwd_cuda(const Tensor& z, const Tensor& t, const float* w, const Tensor& lse, const Tensor& g,
                            const CrossEntropyArgs& a, Tensor& dz);

}  // namespace ms
