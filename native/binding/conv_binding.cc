// conv_binding.cc — the conv primitives (see ops/conv/conv.h). lib/ops/conv.ts checks the user's
// shapes and options and computes the geometry; it arrives here as 17 integers.
#include <cmath>
#include <cstring>

#include "../core/error.h"
#include "../ops/conv/conv.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

// The op name for errors, from a fixed list (the pointer must outlive the call).
const char* op_arg(const Napi::Value& v) {
  static const char* names[] = {"conv1d", "conv2d", "convTranspose1d"};
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    for (const char* n : names)
      if (s == n) return n;
  }
  return "conv";
}

// [N, Cin, Cout, G, ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, spatial]
ms::ConvGeom geom_arg(const char* op, const Napi::Value& v) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 17) ms::fail(op, "geometry must be an array of 17 integers");
  Napi::Array a = v.As<Napi::Array>();
  int64_t f[17];
  for (uint32_t i = 0; i < 17; ++i) {
    const double x = number_arg(op, "geometry entry", a.Get(i));
    if (x != std::floor(x) || std::fabs(x) > 9007199254740991.0) ms::fail(op, "geometry entries must be integers, got ", x);
    f[i] = static_cast<int64_t>(x);
  }
  ms::ConvGeom g;
  g.N = f[0], g.Cin = f[1], g.Cout = f[2], g.G = f[3], g.ih = f[4], g.iw = f[5], g.oh = f[6], g.ow = f[7];
  g.kh = f[8], g.kw = f[9], g.sh = f[10], g.sw = f[11], g.ph = f[12], g.pw = f[13], g.dh = f[14], g.dw = f[15];
  g.spatial = static_cast<int>(f[16]);
  return g;
}

bool opt_arg(const char* op, const char* what, const Napi::Value& v, ms::Tensor* out) {
  if (v.IsUndefined() || v.IsNull()) return false;
  *out = tensor_arg(op, what, v);
  return true;
}

// convForward(op, x, w, bias | null, geom) -> y
Napi::Value ConvForward(const Napi::CallbackInfo& info) {
  const char* op = op_arg(info[0]);
  Addon& a = addon(info.Env());
  ms::Tensor bias;
  const bool hb = opt_arg(op, "bias", info[3], &bias);
  ms::Tensor y = ms::conv_forward(op, geom_arg(op, info[4]), tensor_arg(op, "x", info[1]), tensor_arg(op, "weight", info[2]),
                                  hb ? &bias : nullptr, a.acct);
  return a.wrap(info.Env(), std::move(y), info.Env().Undefined());
}

// convBackwardInput(op, dy, w, bias | null, geom) -> dx (+ bias: a transposed conv's forward)
Napi::Value ConvBackwardInput(const Napi::CallbackInfo& info) {
  const char* op = op_arg(info[0]);
  Addon& a = addon(info.Env());
  ms::Tensor bias;
  const bool hb = opt_arg(op, "bias", info[3], &bias);
  ms::Tensor dx = ms::conv_backward_input(op, geom_arg(op, info[4]), tensor_arg(op, "grad", info[1]),
                                          tensor_arg(op, "weight", info[2]), hb ? &bias : nullptr, a.acct);
  return a.wrap(info.Env(), std::move(dx), info.Env().Undefined());
}

// convBackwardWeight(op, x, dy, wdtype, geom) -> dw
Napi::Value ConvBackwardWeight(const Napi::CallbackInfo& info) {
  const char* op = op_arg(info[0]);
  Addon& a = addon(info.Env());
  ms::Tensor dw = ms::conv_backward_weight(op, geom_arg(op, info[4]), tensor_arg(op, "x", info[1]),
                                           tensor_arg(op, "grad", info[2]), dtype_arg(op, info[3]), a.acct);
  return a.wrap(info.Env(), std::move(dw), info.Env().Undefined());
}

// convBiasGrad(op, dy, dtype) -> (C): dy summed over every dim but 1
Napi::Value ConvBiasGrad(const Napi::CallbackInfo& info) {
  const char* op = op_arg(info[0]);
  Addon& a = addon(info.Env());
  ms::Tensor db = ms::channel_sum(op, tensor_arg(op, "grad", info[1]), dtype_arg(op, info[2]), a.acct);
  return a.wrap(info.Env(), std::move(db), info.Env().Undefined());
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("convForward", Napi::Function::New<ConvForward>(env, "convForward"));
  exports.Set("convBackwardInput", Napi::Function::New<ConvBackwardInput>(env, "convBackwardInput"));
  exports.Set("convBackwardWeight", Napi::Function::New<ConvBackwardWeight>(env, "convBackwardWeight"));
  exports.Set("convBiasGrad", Napi::Function::New<ConvBiasGrad>(env, "convBiasGrad"));
}

}  // namespace msb
