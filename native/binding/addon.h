// addon.h — per-environment state of the addon. Each JS environment (the main thread and every
// worker_thread) gets its own instance through napi_set_instance_data (Napi::Addon), so the
// addon holds no mutable statics and loads in workers.
#pragma once
#include <napi.h>

#include <memory>

#include "../core/tensor.h"

namespace msb {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  std::shared_ptr<ms::Accounting> acct = std::make_shared<ms::Accounting>();
  Napi::FunctionReference handle_ctor;

  // Wraps a tensor in a native handle (JS object) and reports memory to V8 in chunks.
  // `recycle` may be a disposed handle to reuse: creating a wrapped object costs ~1 us, more
  // than a small op, so the TS side keeps disposed handles in a small pool and passes one in.
  Napi::Object wrap(Napi::Env env, ms::Tensor t, const Napi::Value& recycle);
  // Tells V8 about native bytes once at least 1 MiB has accumulated (either sign): calling
  // AdjustExternalMemory per 4-byte tensor would cost more than the op.
  void flush_external(Napi::Env env);

  // Methods exported to JS, one per op; defined in the *_binding.cc file of their family.
#define MS_DECL(name) Napi::Value name(const Napi::CallbackInfo& info);
  MS_DECL(FromTypedArray) MS_DECL(Fill) MS_DECL(Arange) MS_DECL(Random)
  MS_DECL(BuildInfo) MS_DECL(Memory) MS_DECL(EmptyCache) MS_DECL(SetNumThreads) MS_DECL(Synchronize)
  MS_DECL(TimeCopy) MS_DECL(EventRecord) MS_DECL(EventElapsed)
#undef MS_DECL
};

Addon& addon(Napi::Env env);

}  // namespace msb
