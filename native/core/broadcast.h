// broadcast.h — NumPy broadcasting of up to three operands into a compact iteration plan.
//
// The plan drops size-1 dims and merges adjacent dims that every operand steps through
// contiguously, so common cases reduce to 1-2 dims: same shape -> 1 dim; (B, L, C) + (C) -> 2.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace ms {

constexpr int kMaxDims = 8;
constexpr int kMaxOperands = 3;

struct BroadcastPlan {
  std::vector<int64_t> out_shape;          // the full broadcast shape (for the result tensor)
  int ndim = 0;                            // collapsed dims used for iteration
  int nin = 0;                             // operands
  int64_t shape[kMaxDims];
  int64_t stride[kMaxOperands][kMaxDims];  // element strides per operand, 0 where broadcast
  int64_t numel = 0;
  bool contiguous_same = false;            // every operand contiguous with the output's shape
  // Backwards-compatible names for the two-operand case.
  const int64_t* stride_a() const { return stride[0]; }
  const int64_t* stride_b() const { return stride[1]; }
};

BroadcastPlan broadcast_plan(const char* op, const Tensor* const* operands, int n);
inline BroadcastPlan broadcast_plan(const char* op, const Tensor& a, const Tensor& b) {
  const Tensor* ops[2] = {&a, &b};
  return broadcast_plan(op, ops, 2);
}

// Offsets of flat output index `i` into each operand (used by the strided kernels).
struct PlanOffsets {
  int64_t off[kMaxOperands];
};

}  // namespace ms
