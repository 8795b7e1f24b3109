// index_binding.cc — gatherDim, scatterAddDim, cumsumDim, oneHot (see ops/index/index.h).
//
//   gatherDim(op, x, index, geo, validate, recycle?)                 -> (O, Ni, I)
//   scatterAddDim(op, base | null, index, src, geo, skip, validate, recycle?) -> (O, Nx, I)
//   cumsumDim(x, O, N, I, reverse, recycle?)                          -> (O, N, I)
//   oneHot(labels, numClasses, validate, recycle?)                    -> (..., C) float32
// geo = [O, Nx, Ni, I, s0, s1, s2, dim]; op names the caller in messages.
#include <cmath>

#include "../core/error.h"
#include "../ops/index/index.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

int64_t int_arg(const char* op, const char* what, const Napi::Value& v) {
  double x = number_arg(op, what, v);
  if (x != std::floor(x) || std::fabs(x) > 9007199254740991.0) ms::fail(op, what, " must be an integer, got ", x);
  return static_cast<int64_t>(x);
}

std::string op_arg(const Napi::Value& v) {
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string("gather");
}

ms::IndexSpec spec_arg(const std::string& op, const Napi::Value& v, bool validate) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 8) ms::fail(op, "geometry must be an array of 8 integers");
  Napi::Array a = v.As<Napi::Array>();
  int64_t g[8];
  for (uint32_t i = 0; i < 8; ++i) g[i] = int_arg(op.c_str(), "geometry", a.Get(i));
  ms::IndexSpec s;
  s.op = op;
  s.O = g[0], s.Nx = g[1], s.Ni = g[2], s.I = g[3], s.s0 = g[4], s.s1 = g[5], s.s2 = g[6], s.dim = g[7];
  s.validate = validate;
  return s;
}

Napi::Value GatherDim(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const std::string op = op_arg(info[0]);
  const ms::Tensor& x = tensor_arg(op.c_str(), "x", info[1]);
  const ms::Tensor& idx = tensor_arg(op.c_str(), "index", info[2]);
  ms::IndexSpec s = spec_arg(op, info[3], info[4].ToBoolean());
  return a.wrap(info.Env(), ms::gather_dim(x, idx, s, a.acct), info[5]);
}

Napi::Value ScatterAddDim(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const std::string op = op_arg(info[0]);
  const ms::Tensor* base = info[1].IsNull() || info[1].IsUndefined() ? nullptr : &tensor_arg(op.c_str(), "x", info[1]);
  const ms::Tensor& idx = tensor_arg(op.c_str(), "index", info[2]);
  const ms::Tensor& src = tensor_arg(op.c_str(), "src", info[3]);
  ms::IndexSpec s = spec_arg(op, info[4], info[6].ToBoolean());
  if (!info[5].IsNull() && !info[5].IsUndefined()) s.skip = int_arg(op.c_str(), "skip", info[5]);
  return a.wrap(info.Env(), ms::scatter_add_dim(base, idx, src, s, a.acct), info[7]);
}

Napi::Value CumsumDim(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg("cumsum", "x", info[0]);
  int64_t O = int_arg("cumsum", "O", info[1]), N = int_arg("cumsum", "N", info[2]), I = int_arg("cumsum", "I", info[3]);
  return a.wrap(info.Env(), ms::cumsum_dim(x, O, N, I, info[4].ToBoolean(), a.acct), info[5]);
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const ms::Tensor& labels = tensor_arg("oneHot", "labels", info[0]);
  int64_t C = int_arg("oneHot", "numClasses", info[1]);
  return a.wrap(info.Env(), ms::one_hot(labels, C, info[2].ToBoolean(), a.acct), info[3]);
}

}  // namespace

void register_index(Napi::Env env, Napi::Object exports) {
  exports.Set("gatherDim", Napi::Function::New<GatherDim>(env, "gatherDim"));
  exports.Set("scatterAddDim", Napi::Function::New<ScatterAddDim>(env, "scatterAddDim"));
  exports.Set("cumsumDim", Napi::Function::New<CumsumDim>(env, "cumsumDim"));
  exports.Set("oneHot", Napi::Function::New<OneHot>(env, "oneHot"));
}

}  // namespace msb
