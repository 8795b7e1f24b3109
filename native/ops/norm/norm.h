// norm.h — fused normalisation layers, forward and backward (CPU + CUDA): layer, RMS, group and
// batch norm. The forward saves the statistics (mean, rstd) that the backward reads.
//
// Glossary: every norm sees x as (N, C, S) contiguous, params indexed by channel c in [0, C).
//   layer: N rows (all leading dims), C = prod(normalizedShape), S = 1, G = 1
//   rms:   as layer, without the mean
//   group: x (N, C, *spatial), S = prod(spatial), G groups of Cg = C / G channels
//   batch: x (N, C, *spatial), statistics per channel over (N, S)
// Statistics are float32, one per "row": (N * G) for layer/rms/group (rows of M = Cg * S
// elements), (C) for batch. mean = 0 for rms. rstd = 1 / sqrt(var + eps), var biased (/ M).
//   xhat = (x - mean) * rstd;  y = xhat * weight[c] + bias[c]           (N, C, S)
// Backward, per row of M elements, with dxhat = dy * weight[c]:
//   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))      (rms: without mean(dxhat))
//   dweight[c] = sum dy * xhat,  dbias[c] = sum dy   over the (n, s) of channel c
// Batch norm, training: running = (1 - momentum) * running + momentum * batch stat, with the
// unbiased variance (M / (M - 1)) as PyTorch does; eval: mean, rstd from the running stats and
// dx = dy * weight * rstd. dtypes: x float32 or bfloat16 (float32 arithmetic; a bfloat16 x on the
// CPU is widened); weight/bias float32 or x's dtype, their grads in their own dtype.
#pragma once
#include <memory>

#include "../../core/tensor.h"

namespace ms {

enum class NormKind : int32_t { Layer = 0, RMS = 1, Group = 2, Batch = 3 };
const char* norm_name(NormKind k);

struct NormInputs {
  NormKind kind = NormKind::Layer;
  Tensor x, weight, bias, running_mean, running_var;
  bool has_weight = false, has_bias = false, has_running = false;
  int64_t N = 0, C = 0, S = 1, G = 1;
  double eps = 1e-5, momentum = 0.1;
  bool training = true;  // batch norm only
  // Which statistic a (row n, channel c) element uses: n * G + c / Cg, or c for batch norm.
  int64_t stat_rows() const { return kind == NormKind::Batch ? C : N * G; }
};

struct NormForward {
  Tensor y, mean, rstd;  // mean, rstd float32 (stat_rows())
};

struct NormGrads {
  Tensor dx, dweight, dbias;  // dweight/dbias only when weight/bias were given
};

NormForward norm_fwd(const NormInputs& in, const std::shared_ptr<Accounting>& acct);
NormGrads norm_bwd(const NormInputs& in, const Tensor& mean, const Tensor& rstd, const Tensor& dy, bool need_dx,
                   const std::shared_ptr<Accounting>& acct);

// Device kernels on checked, contiguous tensors (x float32 on the CPU; weight/bias float32).
// Batch norm forward fills mean/rstd (from the batch or the running stats) and updates the
// running stats when training.
void norm_fwd_cpu(const NormInputs& in, NormForward& f);
void norm_bwd_cpu(const NormInputs& in, const Tensor& mean, const Tensor& rstd, const Tensor& dy, NormGrads& g,
                  bool need_dx);
void norm_fwd_cuda(const NormInputs& in, NormForward& f, const std::shared_ptr<Accounting>& acct);
void norm_bwd_cuda(const NormInputs& in, const Tensor& mean, const Tensor& rstd, const Tensor& dy, NormGrads& g,
                   bool need_dx, const std::shared_ptr<Accounting>& acct);

}  // namespace ms
