// loss_binding.cc — the fused cross-entropy and CTC (ops/loss/cross_entropy.h, ops/loss/ctc.h).
//
//   crossEntropyFwd(op, logits (M, C), target (M), weight | null, ignoreIndex, smoothing, logInput,
//                   validate) -> [loss (M), lse (M), wrow (M)]
//   crossEntropyBwd(op, logits, target, weight | null, lse, g, ignoreIndex, smoothing, logInput,
//                   recycle?) -> dlogits (M, C)
//   ctcLossFwd(logProbs, targets, inputLengths, targetLengths, blank, zeroInfinity) -> [nll (B), alpha]
//   ctcLossBwd(logProbs, targets, inputLengths, targetLengths, alpha, g, blank, zeroInfinity,
//              recycle?) -> dlogProbs (B, T, C)
#include <cmath>

#include "../core/error.h"
#include "../ops/loss/cross_entropy.h"
#include "../ops/loss/ctc.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

int64_t int_arg(const char* op, const char* what, const Napi::Value& v) {
  double x = number_arg(op, what, v);
  if (x != std::floor(x) || std::fabs(x) > 2147483647.0) ms::fail(op, what, " must be an int32, got ", x);
  return static_cast<int64_t>(x);
}

Napi::Array pack(Napi::Env env, Addon& a, std::initializer_list<ms::Tensor*> ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  uint32_t i = 0;
  for (ms::Tensor* t : ts) out.Set(i++, a.wrap(env, std::move(*t), env.Undefined()));
  return out;
}

Napi::Value CrossEntropyFwd(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const std::string op = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "crossEntropy";
  const ms::Tensor& z = tensor_arg(op.c_str(), "input", info[1]);
  const ms::Tensor& t = tensor_arg(op.c_str(), "target", info[2]);
  const ms::Tensor* w = info[3].IsNull() || info[3].IsUndefined() ? nullptr : &tensor_arg(op.c_str(), "weight", info[3]);
  ms::CrossEntropyArgs args;
  args.op = op.c_str();
  args.ignore_index = int_arg(op.c_str(), "ignoreIndex", info[4]);
  args.smoothing = number_arg(op.c_str(), "labelSmoothing", info[5]);
  args.log_input = info[6].ToBoolean();
  args.validate = info[7].ToBoolean();
  ms::CrossEntropyForward f = ms::cross_entropy_fwd(z, t, w, args, a.acct);
  return pack(info.Env(), a, {&f.loss, &f.lse, &f.wrow});
}

Napi::Value CrossEntropyBwd(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const std::string op = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "crossEntropy";
  const ms::Tensor& z = tensor_arg(op.c_str(), "input", info[1]);
  const ms::Tensor& t = tensor_arg(op.c_str(), "target", info[2]);
  const ms::Tensor* w = info[3].IsNull() || info[3].IsUndefined() ? nullptr : &tensor_arg(op.c_str(), "weight", info[3]);
  const ms::Tensor& lse = tensor_arg(op.c_str(), "lse", info[4]);
  const ms::Tensor& g = tensor_arg(op.c_str(), "grad", info[5]);
  ms::CrossEntropyArgs args;
  args.op = op.c_str();
  args.ignore_index = int_arg(op.c_str(), "ignoreIndex", info[6]);
  args.smoothing = number_arg(op.c_str(), "labelSmoothing", info[7]);
  args.log_input = info[8].ToBoolean();
  return a.wrap(info.Env(), ms::cross_entropy_bwd(z, t, w, lse, g, args, a.acct), info[9]);
}

ms::CtcArgs ctc_args(const Napi::Value& blank, const Napi::Value& zero_inf) {
  ms::CtcArgs c;
  c.blank = int_arg("ctcLoss", "blank", blank);
  c.zero_infinity = zero_inf.ToBoolean();
  return c;
}

Napi::Value CtcLossFwd(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const char* op = "ctcLoss";
  ms::CtcForward f = ms::ctc_loss_fwd(tensor_arg(op, "logProbs", info[0]), tensor_arg(op, "targets", info[1]),
                                      tensor_arg(op, "inputLengths", info[2]), tensor_arg(op, "targetLengths", info[3]),
                                      ctc_args(info[4], info[5]), a.acct);
  return pack(info.Env(), a, {&f.nll, &f.alpha});
}

Napi::Value CtcLossBwd(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const char* op = "ctcLoss";
  ms::Tensor g = ms::ctc_loss_bwd(tensor_arg(op, "logProbs", info[0]), tensor_arg(op, "targets", info[1]),
                                  tensor_arg(op, "inputLengths", info[2]), tensor_arg(op, "targetLengths", info[3]),
                                  tensor_arg(op, "alpha", info[4]), tensor_arg(op, "grad", info[5]),
                                  ctc_args(info[6], info[7]), a.acct);
  return a.wrap(info.Env(), std::move(g), info[8]);
}

}  // namespace

void register_loss(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropyFwd", Napi::Function::New<CrossEntropyFwd>(env, "crossEntropyFwd"));
  exports.Set("crossEntropyBwd", Napi::Function::New<CrossEntropyBwd>(env, "crossEntropyBwd"));
  exports.Set("ctcLossFwd", Napi::Function::New<CtcLossFwd>(env, "ctcLossFwd"));
  exports.Set("ctcLossBwd", Napi::Function::New<CtcLossBwd>(env, "ctcLossBwd"));
}

}  // namespace msb
