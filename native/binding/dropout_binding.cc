// dropout_binding.cc — dropout(x, p, seed, offset, recycle?) -> x * keep / (1 - p)
// (ops/dropout/dropout.h); the same call on the gradient is the backward.
#include "../core/error.h"
#include "../ops/dropout/dropout.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg("dropout", "x", info[0]);
  double p = number_arg("dropout", "p", info[1]);
  uint64_t seed = u64_arg("dropout", "seed", info[2]);
  uint64_t offset = u64_arg("dropout", "offset", info[3]);
  return a.wrap(info.Env(), ms::dropout_apply(x, p, seed, offset, a.acct), info[4]);
}

}  // namespace

void register_dropout(Napi::Env env, Napi::Object exports) {
  exports.Set("dropout", Napi::Function::New<Dropout>(env, "dropout"));
}

}  // namespace msb
