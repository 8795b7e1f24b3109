// norm_binding.cc — normFwd / normBwd (see ops/norm/norm.h): JS arguments -> NormInputs.
// The layout (N, C, S, G) comes from lib/ops/norm.ts, which checks the user's shapes first.
#include <cmath>

#include "../core/error.h"
#include "../ops/norm/norm.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

bool opt_tensor(const char* op, const Napi::Object& o, const char* key, ms::Tensor* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return false;
  *out = tensor_arg(op, key, v);
  return true;
}

int64_t size_opt(const char* op, const Napi::Object& o, const char* key) {
  double x = number_arg(op, key, o.Get(key));
  if (!(x >= 0) || x != std::floor(x) || x > 9007199254740991.0) ms::fail(op, key, " must be an integer >= 0, got ", x);
  return static_cast<int64_t>(x);
}

ms::NormInputs norm_inputs(const Napi::CallbackInfo& info, int xi, int oi) {
  double k = number_arg("norm", "kind", info[0]);
  if (!(k >= 0 && k <= 3) || k != std::floor(k)) ms::fail("norm", "unknown norm kind ", k);
  ms::NormInputs in;
  in.kind = static_cast<ms::NormKind>(static_cast<int>(k));
  const char* op = ms::norm_name(in.kind);
  in.x = tensor_arg(op, "x", info[xi]);
  if (!info[oi].IsObject()) ms::fail(op, "options must be an object, got ", js_type_name(info[oi]));
  Napi::Object o = info[oi].As<Napi::Object>();
  in.has_weight = opt_tensor(op, o, "weight", &in.weight);
  in.has_bias = opt_tensor(op, o, "bias", &in.bias);
  const bool hm = opt_tensor(op, o, "runningMean", &in.running_mean);
  const bool hv = opt_tensor(op, o, "runningVar", &in.running_var);
  if (hm != hv) ms::fail(op, "pass both runningMean and runningVar, or neither");
  in.has_running = hm;
  in.N = size_opt(op, o, "N");
  in.C = size_opt(op, o, "C");
  in.S = size_opt(op, o, "S");
  in.G = size_opt(op, o, "G");
  in.eps = number_arg(op, "eps", o.Get("eps"));
  Napi::Value m = o.Get("momentum");
  in.momentum = m.IsNumber() ? m.As<Napi::Number>().DoubleValue() : 0.1;
  Napi::Value t = o.Get("training");
  in.training = t.IsBoolean() ? t.As<Napi::Boolean>().Value() : true;
  return in;
}

Napi::Value or_null(Napi::Env env, bool has, ms::Tensor t) {
  return has ? addon(env).wrap(env, std::move(t), env.Undefined()) : env.Null();
}

// normFwd(kind, x, opts) -> [y, mean, rstd]
Napi::Value NormFwd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& a = addon(env);
  ms::NormForward f = ms::norm_fwd(norm_inputs(info, 1, 2), a.acct);
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, a.wrap(env, std::move(f.y), env.Undefined()));
  r.Set(1u, a.wrap(env, std::move(f.mean), env.Undefined()));
  r.Set(2u, a.wrap(env, std::move(f.rstd), env.Undefined()));
  return r;
}

// normBwd(kind, x, mean, rstd, dy, opts, needDx) -> [dx | null, dweight | null, dbias | null]
Napi::Value NormBwd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Addon& a = addon(env);
  ms::NormInputs in = norm_inputs(info, 1, 5);
  const char* op = ms::norm_name(in.kind);
  const ms::Tensor& mean = tensor_arg(op, "mean", info[2]);
  const ms::Tensor& rstd = tensor_arg(op, "rstd", info[3]);
  const ms::Tensor& dy = tensor_arg(op, "grad", info[4]);
  const bool need_dx = info[6].ToBoolean();
  ms::NormGrads g = ms::norm_bwd(in, mean, rstd, dy, need_dx, a.acct);
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, or_null(env, need_dx, std::move(g.dx)));
  r.Set(1u, or_null(env, in.has_weight, std::move(g.dweight)));
  r.Set(2u, or_null(env, in.has_bias, std::move(g.dbias)));
  return r;
}

}  // namespace

void register_norm(Napi::Env env, Napi::Object exports) {
  exports.Set("normFwd", Napi::Function::New<NormFwd>(env, "normFwd"));
  exports.Set("normBwd", Napi::Function::New<NormBwd>(env, "normBwd"));
}

}  // namespace msb
