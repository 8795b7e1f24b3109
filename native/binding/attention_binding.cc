// attention_binding.cc — attentionForward / attentionBackward (native/ops/attention).
//
//   attentionForward(q, k, v, keyLengths|null, queryLengths|null, causal, scale, dropout, seed,
//                    offset, allowTF32) -> [out, lse]
//   attentionBackward(dout, q, k, v, out, lse, keyLengths|null, queryLengths|null, causal, scale,
//                     dropout, seed, offset, deterministic, allowTF32) -> [dq, dk, dv]
#include "../core/error.h"
#include "../ops/attention/attention.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

constexpr const char* kOp = "attention";

const ms::Tensor* optional_tensor(const char* what, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  return &tensor_arg(kOp, what, v);
}

// Options start at info[first]: causal, scale, dropout, seed, offset, then the flags in `rest`.
ms::AttentionOptions options_arg(const Napi::CallbackInfo& info, size_t first, bool with_deterministic) {
  ms::AttentionOptions o;
  o.causal = info[first].ToBoolean();
  o.scale = number_arg(kOp, "scale", info[first + 1]);
  o.dropout = number_arg(kOp, "dropout", info[first + 2]);
  o.seed = u64_arg(kOp, "seed", info[first + 3]);
  o.offset = u64_arg(kOp, "offset", info[first + 4]);
  size_t i = first + 5;
  if (with_deterministic) o.deterministic = info[i++].ToBoolean();
  o.allow_tf32 = info[i].ToBoolean();
  return o;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& a = addon(env);
  const ms::Tensor& q = tensor_arg(kOp, "q", info[0]);
  const ms::Tensor& k = tensor_arg(kOp, "k", info[1]);
  const ms::Tensor& v = tensor_arg(kOp, "v", info[2]);
  const ms::Tensor* kl = optional_tensor("keyLengths", info[3]);
  const ms::Tensor* ql = optional_tensor("queryLengths", info[4]);
  ms::AttentionOptions o = options_arg(info, 5, false);
  ms::AttentionForward r = ms::attention_forward(q, k, v, kl, ql, o, a.acct);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, a.wrap(env, std::move(r.out), env.Undefined()));
  out.Set(1u, a.wrap(env, std::move(r.lse), env.Undefined()));
  return out;
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& a = addon(env);
  const ms::Tensor& dout = tensor_arg(kOp, "dout", info[0]);
  const ms::Tensor& q = tensor_arg(kOp, "q", info[1]);
  const ms::Tensor& k = tensor_arg(kOp, "k", info[2]);
  const ms::Tensor& v = tensor_arg(kOp, "v", info[3]);
  const ms::Tensor& o = tensor_arg(kOp, "out", info[4]);
  const ms::Tensor& lse = tensor_arg(kOp, "lse", info[5]);
  const ms::Tensor* kl = optional_tensor("keyLengths", info[6]);
  const ms::Tensor* ql = optional_tensor("queryLengths", info[7]);
  ms::AttentionOptions opts = options_arg(info, 8, true);
  ms::AttentionGrads g = ms::attention_backward(dout, q, k, v, o, lse, kl, ql, opts, a.acct);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, a.wrap(env, std::move(g.dq), env.Undefined()));
  out.Set(1u, a.wrap(env, std::move(g.dk), env.Undefined()));
  out.Set(2u, a.wrap(env, std::move(g.dv), env.Undefined()));
  return out;
}

}  // namespace

void register_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New<AttentionForward>(env, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New<AttentionBackward>(env, "attentionBackward"));
}

}  // namespace msb
