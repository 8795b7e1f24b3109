// info_binding.cc — buildInfo, memory, emptyCache, thread count, synchronize, copy timing.
#include "../core/cuda_api.h"
#include "../core/error.h"
#include "../core/host_allocator.h"
#include "../core/thread_pool.h"
#include "addon.h"
#include "convert.h"

namespace msb {

Napi::Value Addon::BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  o.Set("cuda", Napi::Boolean::New(env, ms::cuda::built()));
  o.Set("cublas", Napi::Boolean::New(env, ms::cuda::cublas_linked()));
  o.Set("cudaStatus", Napi::String::New(env, ms::cuda::status()));
  o.Set("cudaRuntimeVersion", Napi::Number::New(env, ms::cuda::runtime_version()));
  o.Set("threads", Napi::Number::New(env, ms::num_threads()));
  Napi::Array gpus = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& g : ms::cuda::gpus()) {
    Napi::Object go = Napi::Object::New(env);
    go.Set("name", g.name);
    go.Set("memoryBytes", Napi::Number::New(env, double(g.memory_bytes)));
    go.Set("cc", std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor));
    go.Set("smCount", Napi::Number::New(env, g.sm_count));
    gpus.Set(i++, go);
  }
  o.Set("gpus", gpus);
  return o;
}

Napi::Value Addon::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("tensors", Napi::Number::New(env, double(acct->handles.load())));
  o.Set("storages", Napi::Number::New(env, double(acct->storages.load())));
  Napi::Object bytes = Napi::Object::New(env);
  bytes.Set("cpu", Napi::Number::New(env, double(acct->bytes[0].load())));
  bytes.Set("cuda", Napi::Number::New(env, double(acct->bytes[1].load())));
  o.Set("bytes", bytes);
  ms::cuda::CacheStats cs = ms::cuda::cache_stats();
  o.Set("cudaCached", Napi::Number::New(env, double(cs.cached_bytes)));
  o.Set("cudaReserved", Napi::Number::New(env, double(cs.reserved_bytes)));
  o.Set("cudaAllocCalls", Napi::Number::New(env, double(cs.alloc_calls)));
  o.Set("cudaCacheHits", Napi::Number::New(env, double(cs.cache_hits)));
  ms::host::CacheStats hs = ms::host::cache_stats();
  o.Set("cpuCached", Napi::Number::New(env, double(hs.cached_bytes)));
  o.Set("cpuReserved", Napi::Number::New(env, double(hs.reserved_bytes)));
  o.Set("cpuAllocCalls", Napi::Number::New(env, double(hs.alloc_calls)));
  o.Set("cpuCacheHits", Napi::Number::New(env, double(hs.cache_hits)));
  return o;
}

Napi::Value Addon::EmptyCache(const Napi::CallbackInfo& info) {
  ms::cuda::empty_cache();
  ms::host::empty_cache();
  return info.Env().Undefined();
}

Napi::Value Addon::SetNumThreads(const Napi::CallbackInfo& info) {
  double n = number_arg("setNumThreads", "n", info[0]);
  if (!(n >= 1) || n > 1024) ms::fail("setNumThreads", "n must be in [1, 1024], got ", n);
  ms::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value Addon::Synchronize(const Napi::CallbackInfo& info) {
  ms::cuda::synchronize(0);
  return info.Env().Undefined();
}

// timeCopy(kind, bytes, iters) -> median seconds (CUDA events); see cuda_api.h for kinds.
Napi::Value Addon::TimeCopy(const Napi::CallbackInfo& info) {
  int kind = static_cast<int>(number_arg("timeCopy", "kind", info[0]));
  double bytes = number_arg("timeCopy", "bytes", info[1]);
  int iters = static_cast<int>(number_arg("timeCopy", "iters", info[2]));
  if (kind < 0 || kind > 3 || !(bytes >= 1) || iters < 1) ms::fail("timeCopy", "bad arguments");
  return Napi::Number::New(info.Env(), ms::cuda::time_copy(kind, static_cast<size_t>(bytes), iters, 0));
}

// eventRecord() -> id; eventElapsed(a, b) -> milliseconds between two recorded events (waits for b).
Napi::Value Addon::EventRecord(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ms::cuda::event_record(0));
}

Napi::Value Addon::EventElapsed(const Napi::CallbackInfo& info) {
  const int a = static_cast<int>(number_arg("eventElapsed", "a", info[0]));
  const int b = static_cast<int>(number_arg("eventElapsed", "b", info[1]));
  return Napi::Number::New(info.Env(), ms::cuda::event_elapsed_ms(a, b));
}

}  // namespace msb
