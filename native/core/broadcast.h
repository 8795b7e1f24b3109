// broadcast.h — NumPy broadcasting of two shapes into a compact iteration plan.
//
// The plan merges adjacent dims that are contiguous in the output and in both inputs, so the
// common cases reduce to 1-2 dims: same shape -> 1 dim; (B, L, C) + (C) -> 2 dims.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace ms {

constexpr int kMaxDims = 8;

struct BroadcastPlan {
  std::vector<int64_t> out_shape;  // the full broadcast shape (for the result tensor)
  int ndim = 0;                    // collapsed dims used for iteration
  int64_t shape[kMaxDims];
  int64_t stride_a[kMaxDims];      // element strides, 0 where broadcast
  int64_t stride_b[kMaxDims];
  int64_t numel = 0;
  bool contiguous_same = false;    // a and b both contiguous with the output's shape
};

BroadcastPlan broadcast_plan(const char* op, const Tensor& a, const Tensor& b);

}  // namespace ms
