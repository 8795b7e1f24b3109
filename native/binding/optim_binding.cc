// optim_binding.cc — optimStep, optimNormParts, optimScale (see ops/optim/optim.h). Every handle
// is unwrapped (disposed ones throw here) before the op runs, and the op checks everything
// before its first write, so a bad call leaves every parameter unchanged.
#include <cmath>
#include <string>
#include <vector>

#include "../core/error.h"
#include "../ops/optim/optim.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

// Per-parameter hyper-parameters, packed by lib/optim/fused.ts in this order.
enum HyperField { kLr, kWd, kMomentum, kDampening, kNesterov, kFirst, kBeta1, kBeta2, kEps, kStep, kAmsgrad, kDecoupled, kFields };

Napi::Array array_arg(const char* op, const char* what, const Napi::Value& v, uint32_t n) {
  if (!v.IsArray()) ms::fail(op, what, " must be an array, got ", js_type_name(v));
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != n) ms::fail(op, what, " has ", a.Length(), " entries for ", n, " params");
  return a;
}

std::vector<ms::Tensor> tensors_arg(const char* op, const char* what, const Napi::Value& v) {
  if (!v.IsArray()) ms::fail(op, what, " must be an array of tensors, got ", js_type_name(v));
  Napi::Array a = v.As<Napi::Array>();
  std::vector<ms::Tensor> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out[i] = tensor_arg(op, what, a.Get(i));
  return out;
}

// A state tensor, or an empty Tensor for null/undefined.
ms::Tensor optional_tensor(const char* op, const char* what, const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return ms::Tensor{};
  return tensor_arg(op, what, v);
}

// optimStep(algo, opName, params[], grads[], m[], v[], vmax[], hyper Float64Array (n * kFields))
Napi::Value OptimStep(const Napi::CallbackInfo& info) {
  const std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string("optimizer");
  const char* op = name.c_str();
  const double a = number_arg(op, "algorithm", info[0]);
  if (a != 0 && a != 1) ms::fail(op, "unknown algorithm code ", a);
  if (!info[2].IsArray()) ms::fail(op, "params must be an array of tensors, got ", js_type_name(info[2]));
  const uint32_t n = info[2].As<Napi::Array>().Length();
  Napi::Array params = info[2].As<Napi::Array>();
  Napi::Array grads = array_arg(op, "grads", info[3], n);
  Napi::Array ms_ = array_arg(op, "exp_avg / momentum buffers", info[4], n);
  Napi::Array vs = array_arg(op, "exp_avg_sq", info[5], n);
  Napi::Array vmaxs = array_arg(op, "max_exp_avg_sq", info[6], n);
  if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    ms::fail(op, "hyper-parameters must be a Float64Array");
  Napi::Float64Array hyper = info[7].As<Napi::Float64Array>();
  if (hyper.ElementLength() != static_cast<size_t>(n) * kFields)
    ms::fail(op, "hyper-parameters have ", hyper.ElementLength(), " values, expected ", n * kFields);
  std::vector<ms::OptimParam> ps(n);
  for (uint32_t i = 0; i < n; ++i) {
    ms::OptimParam& q = ps[i];
    q.param = tensor_arg(op, "param", params.Get(i));
    q.grad = tensor_arg(op, "grad", grads.Get(i));
    q.m = optional_tensor(op, "state", ms_.Get(i));
    q.v = optional_tensor(op, "state", vs.Get(i));
    q.vmax = optional_tensor(op, "state", vmaxs.Get(i));
    const double* h = hyper.Data() + static_cast<size_t>(i) * kFields;
    q.h.lr = h[kLr];
    q.h.weight_decay = h[kWd];
    q.h.momentum = h[kMomentum];
    q.h.dampening = h[kDampening];
    q.h.nesterov = h[kNesterov] != 0;
    q.h.first = h[kFirst] != 0;
    q.h.beta1 = h[kBeta1];
    q.h.beta2 = h[kBeta2];
    q.h.eps = h[kEps];
    q.h.step = static_cast<int64_t>(h[kStep]);
    q.h.amsgrad = h[kAmsgrad] != 0;
    q.h.decoupled = h[kDecoupled] != 0;
  }
  ms::optim_step(op, a == 0 ? ms::OptimAlgo::SGD : ms::OptimAlgo::Adam, ps, addon(info.Env()).acct);
  return info.Env().Undefined();
}

// optimNormParts(xs[], p, scalars[]?) -> Float64Array: per tensor sum |x|^p (max |x| for
// p = Infinity), then the value of each one-element tensor in `scalars`, read in one transfer.
Napi::Value OptimNormParts(const Napi::CallbackInfo& info) {
  const char* op = "clipGradNorm";
  std::vector<ms::Tensor> xs = tensors_arg(op, "grads", info[0]);
  const double p = number_arg(op, "norm type", info[1]);
  std::vector<ms::Tensor> scalars;
  if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) scalars = tensors_arg(op, "scalars", info[2]);
  std::vector<double> parts = ms::optim_norm_parts(op, xs, p, scalars);
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), parts.size());
  for (size_t i = 0; i < parts.size(); ++i) out[i] = parts[i];
  return out;
}

// optimScale(xs[], factor): x *= factor in place, each distinct buffer once.
Napi::Value OptimScale(const Napi::CallbackInfo& info) {
  const char* op = "clipGradNorm";
  std::vector<ms::Tensor> xs = tensors_arg(op, "grads", info[0]);
  const double f = number_arg(op, "factor", info[1]);
  ms::optim_scale(op, xs, f);
  return info.Env().Undefined();
}

}  // namespace

void register_optim(Napi::Env env, Napi::Object exports) {
  exports.Set("optimStep", Napi::Function::New<OptimStep>(env, "optimStep"));
  exports.Set("optimNormParts", Napi::Function::New<OptimNormParts>(env, "optimNormParts"));
  exports.Set("optimScale", Napi::Function::New<OptimScale>(env, "optimScale"));
}

}  // namespace msb
