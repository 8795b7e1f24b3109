// families.h — op families registered as free functions, one binding file each. Each
// register_* adds its functions to `exports`; addon.cc calls them all. A family function gets
// the per-environment state with addon(info.Env()) and wraps results with Addon::wrap.
#pragma once
#include <napi.h>

namespace msb {

void register_copy(Napi::Env env, Napi::Object exports);         // copy_binding.cc
void register_elementwise(Napi::Env env, Napi::Object exports);  // elementwise_binding.cc
void register_reduce(Napi::Env env, Napi::Object exports);       // reduce_binding.cc
void register_matmul(Napi::Env env, Napi::Object exports);       // matmul_binding.cc
void register_attention(Napi::Env env, Napi::Object exports);    // attention_binding.cc

void register_scan(Napi::Env env, Napi::Object exports);  // scan_binding.cc
void register_optim(Napi::Env env, Napi::Object exports);  // optim_binding.cc
void register_norm(Napi::Env env, Napi::Object exports);   // norm_binding.cc
void register_conv(Napi::Env env, Napi::Object exports);   // conv_binding.cc
void register_index(Napi::Env env, Napi::Object exports);    // index_binding.cc
void register_dropout(Napi::Env env, Napi::Object exports);  // dropout_binding.cc
void register_loss(Napi::Env env, Napi::Object exports);     // loss_binding.cc

}  // namespace msb
