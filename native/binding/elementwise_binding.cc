// elementwise_binding.cc — binary (incl. add/mul fast names), where, unary, unaryBackward.
// Op codes are the enum values of native/ops/elementwise/elementwise.h (lib/ops/codes.ts).
#include <cmath>

#include "../core/error.h"
#include "../ops/creation/creation.h"
#include "../ops/elementwise/elementwise.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

template <typename E>
E code_arg(const Napi::Value& v, E count, const char* what) {
  double c = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(c >= 0 && c < static_cast<double>(count)) || c != std::floor(c)) ms::fail(what, "unknown op code");
  return static_cast<E>(static_cast<int>(c));
}

// (a, b: Tensor | number, recycle) with b a number -> 0-dim tensor of a's dtype on a's device.
Napi::Value binary_call(ms::BinaryOp op, const Napi::CallbackInfo& info, int first) {
  const char* name = ms::binary_op_name(op);
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg(name, "a", info[first]);
  if (info[first + 1].IsNumber()) {
    double v = info[first + 1].As<Napi::Number>().DoubleValue();
    if (x.dtype == ms::DType::I32 && (v != std::floor(v) || std::fabs(v) > 2147483647.0))
      ms::fail(name, "cannot combine an int32 tensor with the non-int32 number ", v);
    ms::Tensor s = ms::fill(name, {}, v, x.dtype, x.device, a.acct);
    return a.wrap(info.Env(), ms::binary(op, x, s, a.acct), info[first + 2]);
  }
  const ms::Tensor& y = tensor_arg(name, "b", info[first + 1]);
  return a.wrap(info.Env(), ms::binary(op, x, y, a.acct), info[first + 2]);
}

Napi::Value Add(const Napi::CallbackInfo& info) { return binary_call(ms::BinaryOp::Add, info, 0); }
Napi::Value Mul(const Napi::CallbackInfo& info) { return binary_call(ms::BinaryOp::Mul, info, 0); }
// binary(code, a, b, recycle?)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  return binary_call(code_arg(info[0], ms::BinaryOp::Count, "binary"), info, 1);
}

// where(cond, a, b, recycle?)
Napi::Value Where(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const ms::Tensor& c = tensor_arg("where", "condition", info[0]);
  const ms::Tensor& x = tensor_arg("where", "a", info[1]);
  const ms::Tensor& y = tensor_arg("where", "b", info[2]);
  return a.wrap(info.Env(), ms::where(c, x, y, a.acct), info[3]);
}

// unary(code, x, p0, p1, recycle?)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  ms::UnaryOp op = code_arg(info[0], ms::UnaryOp::Count, "unary");
  const char* name = ms::unary_op_name(op);
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg(name, "x", info[1]);
  double p0 = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 0;
  double p1 = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : 0;
  return a.wrap(info.Env(), ms::unary(op, x, p0, p1, a.acct), info[4]);
}

// unaryBackward(code, x, y, g, p0, p1, recycle?) -> g * f'(x)
Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  ms::UnaryOp op = code_arg(info[0], ms::UnaryOp::Count, "unary");
  const char* name = ms::unary_op_name(op);
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg(name, "x", info[1]);
  const ms::Tensor& y = tensor_arg(name, "y", info[2]);
  const ms::Tensor& g = tensor_arg(name, "grad", info[3]);
  double p0 = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
  double p1 = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : 0;
  return a.wrap(info.Env(), ms::unary_backward(op, x, y, g, p0, p1, a.acct), info[6]);
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("add", Napi::Function::New<Add>(env, "add"));
  exports.Set("mul", Napi::Function::New<Mul>(env, "mul"));
  exports.Set("binary", Napi::Function::New<Binary>(env, "binary"));
  exports.Set("where", Napi::Function::New<Where>(env, "where"));
  exports.Set("unary", Napi::Function::New<Unary>(env, "unary"));
  exports.Set("unaryBackward", Napi::Function::New<UnaryBackward>(env, "unaryBackward"));
}

}  // namespace msb
