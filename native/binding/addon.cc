// addon.cc — registration only: each family adds its methods; no math here.
#include "addon.h"

#include "families.h"
#include "tensor_wrap.h"

namespace msb {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  DefineAddon(exports, {
      // creation_binding.cc
      InstanceMethod<&Addon::FromTypedArray>("fromTypedArray"),
      InstanceMethod<&Addon::Fill>("fill"),
      InstanceMethod<&Addon::Arange>("arange"),
      InstanceMethod<&Addon::Random>("random"),
      // info_binding.cc
      InstanceMethod<&Addon::BuildInfo>("buildInfo"),
      InstanceMethod<&Addon::Memory>("memory"),
      InstanceMethod<&Addon::EmptyCache>("emptyCache"),
      InstanceMethod<&Addon::SetNumThreads>("setNumThreads"),
      InstanceMethod<&Addon::Synchronize>("synchronize"),
      InstanceMethod<&Addon::TimeCopy>("timeCopy"),
      InstanceMethod<&Addon::EventRecord>("eventRecord"),
      InstanceMethod<&Addon::EventElapsed>("eventElapsed"),
  });
  Napi::Function ctor = TensorHandle::Init(env);
  handle_ctor = Napi::Persistent(ctor);
  exports.Set("TensorHandle", ctor);
  // Families registered as free functions (families.h), one line each.
  register_copy(env, exports);
  register_scan(env, exports);
  register_elementwise(env, exports);
  register_reduce(env, exports);
  register_matmul(env, exports);
  register_attention(env, exports);
  register_optim(env, exports);
  register_norm(env, exports);
  register_conv(env, exports);
  register_index(env, exports);
  register_dropout(env, exports);
  register_loss(env, exports);
}

Addon& addon(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

Napi::Object Addon::wrap(Napi::Env env, ms::Tensor t, const Napi::Value& recycle) {
  if (!recycle.IsUndefined()) {
    TensorHandle* h = TensorHandle::from(recycle);
    if (h && h->disposed()) {
      h->attach(std::move(t));
      flush_external(env);
      return recycle.As<Napi::Object>();
    }
  }
  Napi::Object obj = handle_ctor.New({});
  TensorHandle::Unwrap(obj)->attach(std::move(t));
  flush_external(env);
  return obj;
}

void Addon::flush_external(Napi::Env env) {
  int64_t pending = acct->pending_external.load();
  if (pending >= (1 << 20) || pending <= -(1 << 20)) {
    acct->pending_external -= pending;
    Napi::MemoryManagement::AdjustExternalMemory(env, pending);
  }
}


}  // namespace msb

using MambaSpeechAddon = msb::Addon;
NODE_API_ADDON(MambaSpeechAddon)
