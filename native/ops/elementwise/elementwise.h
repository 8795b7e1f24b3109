// elementwise.h — binary elementwise ops with NumPy broadcasting: out = a (op) b.
//
// Shapes: a (..., ), b (..., ) broadcast to out. dtypes: both float32, both bfloat16 (computed
// in float32, rounded once), or both int32 (wrapping arithmetic). A scalar operand is a
// 0-dim tensor. CPU is the reference; CUDA queues on the device stream and returns at once.
#pragma once
#include "../../core/broadcast.h"
#include "../../core/tensor.h"

namespace ms {

enum class BinaryOp : int32_t { Add = 0, Mul = 1 };

inline const char* binary_op_name(BinaryOp op) { return op == BinaryOp::Add ? "add" : "mul"; }

// Checks dtypes and devices, allocates the result and runs the kernel for the device.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const std::shared_ptr<Accounting>& acct);

void binary_cpu(BinaryOp op, const BroadcastPlan& plan, const Tensor& a, const Tensor& b, Tensor& out);
void binary_cuda(BinaryOp op, const BroadcastPlan& plan, const Tensor& a, const Tensor& b, Tensor& out);

}  // namespace ms
