// dropout.h — inverted dropout with a counter-based mask (nothing stored for backward).
//
// Glossary: p = drop probability; u_i = philox_uniform(seed, offset, i) (native/core/philox.h),
// i = the flat row-major element index. keep_i = u_i >= p, so P(keep) = 1 - p (to 2^-24).
//
//   dropout_apply(x (...), p, seed, offset) -> x * keep / (1 - p)    (0 everywhere when p = 1)
//
// The mask is a pure function of (seed, offset, i): the same call on cpu and cuda gives the same
// mask, and backward is the same function applied to the incoming gradient.
#pragma once
#include "../../core/tensor.h"

namespace ms {

Tensor dropout_apply(const Tensor& x, double p, uint64_t seed, uint64_t offset, const std::shared_ptr<Accounting>& acct);

void dropout_apply_cpu(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& out);
void dropout_apply_cuda(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& out);

// keep_i, shared by both backends so they cannot drift.
MS_HD float dropout_scale(float u, float p, float inv_keep) { return u >= p ? inv_keep : 0.0f; }

}  // namespace ms
