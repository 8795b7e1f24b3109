#include "elementwise.h"

#include "../../core/cuda_api.h"
#include "../../core/dispatch.h"
#include "../../core/error.h"
#include "../copy/copy.h"

namespace ms {

const char* binary_op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "minimum", "maximum",
                                "eq", "ne", "lt", "le", "gt", "ge"};
  int i = static_cast<int>(op);
  return i >= 0 && i < static_cast<int>(BinaryOp::Count) ? names[i] : "binary";
}
const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"neg", "abs", "sign", "square", "exp", "log", "log1p", "expm1", "sqrt",
                                "rsqrt", "reciprocal", "sin", "cos", "tanh", "sigmoid", "relu",
                                "leakyRelu", "gelu", "gelu", "silu", "softplus", "clamp", "pow"};
  int i = static_cast<int>(op);
  return i >= 0 && i < static_cast<int>(UnaryOp::Count) ? names[i] : "unary";
}
bool binary_allows_int(BinaryOp op) { return op != BinaryOp::Div && op != BinaryOp::Pow; }
bool unary_allows_int(UnaryOp op) {
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Sign || op == UnaryOp::Square;
}

namespace {
void same_device(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device != b.device)
    fail(op, "inputs are on different devices: ", device_name(a.device), " and ", device_name(b.device),
         "; move one with .to()");
}
void same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype != b.dtype)
    fail(op, "inputs have different dtypes: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype),
         "; convert one with .to(dtype)");
}
}  // namespace


Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const std::shared_ptr<Accounting>& acct) {
  const char* name = binary_op_name(op);
  same_device(name, a, b);
  same_dtype(name, a, b);
  if (a.dtype == DType::I32 && !binary_allows_int(op))
    fail(name, "needs float32 or bfloat16 inputs, got int32; convert with .to('float32')");
  BroadcastPlan plan = broadcast_plan(name, a, b);
  Tensor out = empty(name, plan.out_shape, a.dtype, a.device, acct);
  if (plan.numel == 0) return out;
  MS_RUN(a.device, name, binary_cpu(op, plan, a, b, out), binary_cuda(op, plan, a, b, out));
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b, const std::shared_ptr<Accounting>& acct) {
  const char* name = "where";
  same_device(name, cond, a);
  same_device(name, a, b);
  same_dtype(name, a, b);
  const Tensor* ops[3] = {&cond, &a, &b};
  BroadcastPlan plan = broadcast_plan(name, ops, 3);
  Tensor out = empty(name, plan.out_shape, a.dtype, a.device, acct);
  if (plan.numel == 0) return out;
  MS_RUN(a.device, name, where_cpu(plan, cond, a, b, out), where_cuda(plan, cond, a, b, out));
  return out;
}

Tensor unary(UnaryOp op, const Tensor& x_in, double p0, double p1, const std::shared_ptr<Accounting>& acct) {
  const char* name = unary_op_name(op);
  if (x_in.dtype == DType::I32 && !unary_allows_int(op))
    fail(name, "needs float32 or bfloat16 input, got int32; convert with .to('float32')");
  Tensor x = contiguous(name, x_in, acct);
  Tensor out = empty(name, x.shape, x.dtype, x.device, acct);
  if (out.numel() == 0) return out;
  MS_RUN(x.device, name, unary_cpu(op, x, float(p0), float(p1), out), unary_cuda(op, x, float(p0), float(p1), out));
  return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& x_in, const Tensor& y_in, const Tensor& g_in, double p0, double p1,
                      const std::shared_ptr<Accounting>& acct) {
  const char* name = unary_op_name(op);
  same_device(name, x_in, g_in);
  same_device(name, y_in, g_in);
  if (x_in.shape != g_in.shape || y_in.shape != g_in.shape)
    fail(name, "backward: grad shape ", shape_str(g_in.shape), " does not match input ", shape_str(x_in.shape));
  if (!dtype_is_float(g_in.dtype)) fail(name, "backward needs a float gradient");
  Tensor x = contiguous(name, x_in, acct), y = contiguous(name, y_in, acct), g = contiguous(name, g_in, acct);
  if (x.dtype != g.dtype || y.dtype != g.dtype) fail(name, "backward: input, output and grad dtypes differ");
  Tensor out = empty(name, x.shape, g.dtype, x.device, acct);
  if (out.numel() == 0) return out;
  MS_RUN(x.device, name, unary_backward_cpu(op, x, y, g, float(p0), float(p1), out),
         unary_backward_cuda(op, x, y, g, float(p0), float(p1), out));
  return out;
}

}  // namespace ms
