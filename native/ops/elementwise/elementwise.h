// elementwise.h — elementwise ops with NumPy broadcasting.
//
//   binary(op, a, b)          out = a (op) b           shapes broadcast
//   where(cond, a, b)         out = cond != 0 ? a : b  shapes broadcast; cond any dtype
//   unary(op, x, p0, p1)      out = f(x; p0, p1)       same shape, contiguous result
//   unary_backward(op, x, y, g, p0, p1)   dx = g * f'(x) (y = f(x), used where cheaper)
//
// dtypes: float32; bfloat16 (computed in float32, rounded once); int32 (wrapping) for the ops
// that make sense on integers (add, sub, mul, minimum, maximum, comparisons, neg, abs, sign,
// square). Comparisons give 1/0 in the inputs' dtype, so a mask multiplies straight in.
#pragma once
#include "../../core/broadcast.h"
#include "../../core/tensor.h"

namespace ms {

enum class BinaryOp : int32_t {
  Add, Sub, Mul, Div, Pow, Minimum, Maximum, Eq, Ne, Lt, Le, Gt, Ge, Count
};

enum class UnaryOp : int32_t {
  Neg, Abs, Sign, Square, Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Reciprocal, Sin, Cos, Tanh,
  Sigmoid, Relu, LeakyRelu,  // p0 = negative slope
  Gelu, GeluTanh, Silu,
  Softplus,                  // p0 = beta, p1 = threshold (PyTorch: 1, 20)
  Clamp,                     // p0 = min, p1 = max (NaN bound = none)
  PowScalar,                 // p0 = exponent
  Count
};

const char* binary_op_name(BinaryOp op);
const char* unary_op_name(UnaryOp op);
bool binary_allows_int(BinaryOp op);
bool unary_allows_int(UnaryOp op);

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const std::shared_ptr<Accounting>& acct);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, const std::shared_ptr<Accounting>& acct);
Tensor unary(UnaryOp op, const Tensor& x, double p0, double p1, const std::shared_ptr<Accounting>& acct);
Tensor unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g, double p0, double p1,
                      const std::shared_ptr<Accounting>& acct);

// Kernels (plan-based for binary/where; contiguous for unary).
void binary_cpu(BinaryOp op, const BroadcastPlan& plan, const Tensor& a, const Tensor& b, Tensor& out);
void binary_cuda(BinaryOp op, const BroadcastPlan& plan, const Tensor& a, const Tensor& b, Tensor& out);
void where_cpu(const BroadcastPlan& plan, const Tensor& c, const Tensor& a, const Tensor& b, Tensor& out);
void where_cuda(const BroadcastPlan& plan, const Tensor& c, const Tensor& a, const Tensor& b, Tensor& out);
void unary_cpu(UnaryOp op, const Tensor& x, float p0, float p1, Tensor& out);
void unary_cuda(UnaryOp op, const Tensor& x, float p0, float p1, Tensor& out);
void unary_backward_cpu(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g, float p0, float p1, Tensor& out);
void unary_backward_cuda(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g, float p0, float p1, Tensor& out);

}  // namespace ms
