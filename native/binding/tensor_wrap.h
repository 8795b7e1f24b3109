// tensor_wrap.h — TensorHandle: the JS object that owns one native tensor. The TypeScript Tensor
// class (lib/tensor) holds one of these; dispose() frees the memory at once, the destructor (run
// when V8 collects a forgotten handle) frees it otherwise.
#pragma once
#include <napi.h>

#include "../core/tensor.h"

namespace msb {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  // The handle behind `v`, or nullptr when `v` is not one of ours (checked by type tag).
  static TensorHandle* from(const Napi::Value& v);
  void attach(ms::Tensor t);
  bool disposed() const { return disposed_; }
  // The tensor, after checking it is usable by `op` (not disposed, buffer not detached).
  const ms::Tensor& get(const char* op) const;

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Meta(const Napi::CallbackInfo& info);
  Napi::Value DataSync(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value SharesMemoryWith(const Napi::CallbackInfo& info);
  void release(Napi::Env env);

  ms::Tensor t_;
  std::shared_ptr<ms::Accounting> acct_;  // counts this handle while it is live
  bool attached_ = false;
  bool disposed_ = false;
};

// Unwraps argument `v` (a TensorHandle) for `op`, throwing "[op] <what> must be a Tensor".
const ms::Tensor& tensor_arg(const char* op, const char* what, const Napi::Value& v);

}  // namespace msb
