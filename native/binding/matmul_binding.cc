// matmul_binding.cc — matmul(a (Bt, M, K), b (Bt, K, N), allowTF32, recycle?) and the kernel info.
#include "../core/error.h"
#include "../ops/matmul/matmul.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Addon& a = addon(info.Env());
  const ms::Tensor& x = tensor_arg("matmul", "a", info[0]);
  const ms::Tensor& y = tensor_arg("matmul", "b", info[1]);
  ms::MatmulOptions opts;
  opts.allow_tf32 = info[2].ToBoolean();
  return a.wrap(info.Env(), ms::matmul(x, y, opts, a.acct), info[3]);
}

// matmulKernels(forceOwnCuda?) -> { cpu: 'avx512' | 'avx2' | 'portable', ownCuda: bool }
Napi::Value MatmulKernels(const Napi::CallbackInfo& info) {
  if (info[0].IsBoolean()) ms::matmul_set_force_own_kernel(info[0].As<Napi::Boolean>().Value());
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("cpu", ms::matmul_cpu_kernel_name());
  o.Set("ownCuda", Napi::Boolean::New(info.Env(), ms::matmul_force_own_kernel()));
  return o;
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New<Matmul>(env, "matmul"));
  exports.Set("matmulKernels", Napi::Function::New<MatmulKernels>(env, "matmulKernels"));
}

}  // namespace msb
