// elementwise_binding.cc — add, mul: (Tensor, Tensor | number, recycle?) -> Tensor.
#include <cmath>

#include "../core/error.h"
#include "../ops/creation/creation.h"
#include "../ops/elementwise/elementwise.h"
#include "addon.h"
#include "convert.h"
#include "tensor_wrap.h"

namespace msb {

namespace {
Napi::Value binary_call(Addon& a, ms::BinaryOp op, const Napi::CallbackInfo& info) {
  const char* name = ms::binary_op_name(op);
  const ms::Tensor& x = tensor_arg(name, "a", info[0]);
  if (info[1].IsNumber()) {
    // A number operand becomes a 0-dim tensor of x's dtype on x's device.
    double v = info[1].As<Napi::Number>().DoubleValue();
    if (x.dtype == ms::DType::I32 && (v != std::floor(v) || std::fabs(v) > 2147483647.0))
      ms::fail(name, "cannot combine an int32 tensor with the non-int32 number ", v);
    ms::Tensor s = ms::fill(name, {}, v, x.dtype, x.device, a.acct);
    return a.wrap(info.Env(), ms::binary(op, x, s, a.acct), info[2]);
  }
  const ms::Tensor& y = tensor_arg(name, "b", info[1]);
  return a.wrap(info.Env(), ms::binary(op, x, y, a.acct), info[2]);
}
}  // namespace

Napi::Value Addon::Add(const Napi::CallbackInfo& info) { return binary_call(*this, ms::BinaryOp::Add, info); }
Napi::Value Addon::Mul(const Napi::CallbackInfo& info) { return binary_call(*this, ms::BinaryOp::Mul, info); }

}  // namespace msb
