// scan_math.h — scalar pieces shared by the CPU and CUDA scan and conv kernels (host + device).
#pragma once
#include <cmath>
#include <cstdint>

#include "../../core/dtype.h"

namespace ms {

MS_HD int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
MS_HD int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// softplus as mamba-ssm computes it: x above 20 is returned as is (log1p(e^20) = 20 + 2e-9).
MS_HD float scan_softplus(float x) { return x <= 20.f ? log1pf(expf(x)) : x; }
MS_HD float scan_dt(float x, bool softplus) { return softplus ? scan_softplus(x) : x; }
MS_HD float scan_sigmoid(float x) { return 1.f / (1.f + expf(-x)); }
MS_HD float scan_silu(float x) { return x * scan_sigmoid(x); }
// d silu(x) / dx = s (1 + x (1 - s)), s = sigmoid(x)
MS_HD float scan_dsilu(float x) {
  const float s = scan_sigmoid(x);
  return s * (1.f + x * (1.f - s));
}

}  // namespace ms
