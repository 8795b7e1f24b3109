// scan_binding.cc — selective scan and causal conv1d: JS arguments -> ScanInputs / ConvInputs.
// Options arrive as one plain object from lib/ops (tensors or null/undefined, booleans);
// several results come back as an array with null where a result was not asked for.
#include "../core/error.h"
#include "../ops/causal_conv1d/causal_conv1d.h"
#include "../ops/selective_scan/selective_scan.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

Napi::Object options(const char* op, const Napi::Value& v) {
  if (!v.IsObject()) ms::fail(op, "options must be an object, got ", js_type_name(v));
  return v.As<Napi::Object>();
}

bool flag(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : false;
}

// An optional tensor option: absent when undefined or null.
bool opt_tensor(const char* op, const Napi::Object& o, const char* key, ms::Tensor* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return false;
  *out = tensor_arg(op, key, v);
  return true;
}

bool opt_arg(const char* op, const char* what, const Napi::Value& v, ms::Tensor* out) {
  if (v.IsUndefined() || v.IsNull()) return false;
  *out = tensor_arg(op, what, v);
  return true;
}

ms::ScanInputs scan_inputs(const char* op, const Napi::CallbackInfo& info, Napi::Object* opts) {
  ms::ScanInputs in;
  in.u = tensor_arg(op, "u", info[0]);
  in.delta = tensor_arg(op, "delta", info[1]);
  in.A = tensor_arg(op, "A", info[2]);
  in.Bm = tensor_arg(op, "B", info[3]);
  in.Cm = tensor_arg(op, "C", info[4]);
  Napi::Object o = options(op, info[5]);
  in.has_D = opt_tensor(op, o, "D", &in.Dskip);
  in.has_z = opt_tensor(op, o, "z", &in.z);
  in.has_bias = opt_tensor(op, o, "deltaBias", &in.delta_bias);
  in.has_init = opt_tensor(op, o, "initialState", &in.init);
  in.has_lengths = opt_tensor(op, o, "lengths", &in.lengths);
  in.softplus = flag(o, "deltaSoftplus");
  in.reverse = flag(o, "reverse");
  *opts = o;
  return in;
}

Napi::Value wrap_or_null(Napi::Env env, bool has, ms::Tensor t) {
  if (!has) return env.Null();
  return addon(env).wrap(env, std::move(t), env.Undefined());
}

// selectiveScanFwd(u, delta, A, B, C, opts) -> [out, lastState | null, saved | null]
Napi::Value SelectiveScanFwd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o;
  ms::ScanInputs in = scan_inputs("selectiveScan", info, &o);
  Addon& a = addon(env);
  ms::ScanForward f = ms::selective_scan_fwd(in, flag(o, "returnLastState"), flag(o, "save"), a.acct);
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, a.wrap(env, std::move(f.out), env.Undefined()));
  r.Set(1u, wrap_or_null(env, f.has_last, std::move(f.last)));
  r.Set(2u, wrap_or_null(env, f.has_saved, std::move(f.saved)));
  return r;
}

// selectiveScanBwd(u, delta, A, B, C, opts, saved?, dout?, dlast?)
//   -> [du, ddelta, dA, dB, dC, dD | null, dz | null, ddeltaBias | null, dinitialState | null]
Napi::Value SelectiveScanBwd(const Napi::CallbackInfo& info) {
  const char* op = "selectiveScan.backward";
  Napi::Env env = info.Env();
  Napi::Object o;
  ms::ScanInputs in = scan_inputs(op, info, &o);
  ms::Tensor saved, dout, dlast;
  const bool hs = opt_arg(op, "saved", info[6], &saved);
  const bool ho = opt_arg(op, "grad of out", info[7], &dout);
  const bool hl = opt_arg(op, "grad of lastState", info[8], &dlast);
  Addon& a = addon(env);
  ms::ScanGrads g = ms::selective_scan_bwd(in, saved, hs, dout, ho, dlast, hl, flag(o, "deterministic"), a.acct);
  Napi::Array r = Napi::Array::New(env, 9);
  r.Set(0u, a.wrap(env, std::move(g.du), env.Undefined()));
  r.Set(1u, a.wrap(env, std::move(g.ddelta), env.Undefined()));
  r.Set(2u, a.wrap(env, std::move(g.dA), env.Undefined()));
  r.Set(3u, a.wrap(env, std::move(g.dB), env.Undefined()));
  r.Set(4u, a.wrap(env, std::move(g.dC), env.Undefined()));
  r.Set(5u, wrap_or_null(env, in.has_D, std::move(g.dD)));
  r.Set(6u, wrap_or_null(env, in.has_z, std::move(g.dz)));
  r.Set(7u, wrap_or_null(env, in.has_bias, std::move(g.dbias)));
  r.Set(8u, wrap_or_null(env, in.has_init, std::move(g.dinit)));
  return r;
}

ms::ConvInputs conv_inputs(const char* op, const Napi::CallbackInfo& info, Napi::Object* opts) {
  ms::ConvInputs in;
  in.x = tensor_arg(op, "x", info[0]);
  in.weight = tensor_arg(op, "weight", info[1]);
  Napi::Object o = options(op, info[2]);
  in.has_bias = opt_tensor(op, o, "bias", &in.bias);
  in.has_init = opt_tensor(op, o, "initialState", &in.init);
  in.has_lengths = opt_tensor(op, o, "lengths", &in.lengths);
  in.silu = flag(o, "silu");
  *opts = o;
  return in;
}

// causalConv1dFwd(x, weight, opts) -> [out, finalState | null]
Napi::Value CausalConv1dFwd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o;
  ms::ConvInputs in = conv_inputs("causalConv1d", info, &o);
  Addon& a = addon(env);
  ms::ConvForward f = ms::causal_conv1d_fwd(in, flag(o, "returnFinalState"), a.acct);
  Napi::Array r = Napi::Array::New(env, 2);
  r.Set(0u, a.wrap(env, std::move(f.out), env.Undefined()));
  r.Set(1u, wrap_or_null(env, f.has_final, std::move(f.final_state)));
  return r;
}

// causalConv1dBwd(x, weight, opts, dout?, dfinal?) -> [dx, dweight, dbias | null, dinitialState | null]
Napi::Value CausalConv1dBwd(const Napi::CallbackInfo& info) {
  const char* op = "causalConv1d.backward";
  Napi::Env env = info.Env();
  Napi::Object o;
  ms::ConvInputs in = conv_inputs(op, info, &o);
  ms::Tensor dout, dfinal;
  const bool ho = opt_arg(op, "grad of out", info[3], &dout);
  const bool hf = opt_arg(op, "grad of finalState", info[4], &dfinal);
  Addon& a = addon(env);
  ms::ConvGrads g = ms::causal_conv1d_bwd(in, dout, ho, dfinal, hf, a.acct);
  Napi::Array r = Napi::Array::New(env, 4);
  r.Set(0u, a.wrap(env, std::move(g.dx), env.Undefined()));
  r.Set(1u, a.wrap(env, std::move(g.dweight), env.Undefined()));
  r.Set(2u, wrap_or_null(env, in.has_bias, std::move(g.dbias)));
  r.Set(3u, wrap_or_null(env, in.has_init, std::move(g.dinit)));
  return r;
}

}  // namespace

void register_scan(Napi::Env env, Napi::Object exports) {
  exports.Set("selectiveScanFwd", Napi::Function::New<SelectiveScanFwd>(env, "selectiveScanFwd"));
  exports.Set("selectiveScanBwd", Napi::Function::New<SelectiveScanBwd>(env, "selectiveScanBwd"));
  exports.Set("causalConv1dFwd", Napi::Function::New<CausalConv1dFwd>(env, "causalConv1dFwd"));
  exports.Set("causalConv1dBwd", Napi::Function::New<CausalConv1dBwd>(env, "causalConv1dBwd"));
}

}  // namespace msb
