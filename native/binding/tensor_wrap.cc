#include "tensor_wrap.h"

#include <cstring>
#include <vector>

#include "../core/cuda_api.h"
#include "../core/error.h"
#include "../core/thread_pool.h"
#include "../ops/cast/cast.h"
#include "../ops/copy/copy.h"
#include "addon.h"
#include "convert.h"

namespace msb {

Napi::Function TensorHandle::Init(Napi::Env env) {
  return DefineClass(env, "TensorHandle",
                     {
                         InstanceMethod<&TensorHandle::Shape>("shape"),
                         InstanceMethod<&TensorHandle::Meta>("meta"),
                         InstanceMethod<&TensorHandle::DataSync>("dataSync"),
                         InstanceMethod<&TensorHandle::Data>("data"),
                         InstanceMethod<&TensorHandle::Dispose>("dispose"),
                         InstanceMethod<&TensorHandle::IsDisposed>("isDisposed"),
                         InstanceMethod<&TensorHandle::To>("to"),
                         InstanceMethod<&TensorHandle::SharesMemoryWith>("sharesMemoryWith"),
                     });
}

// Marks our handles so that an object wrapped by another addon is never mistaken for one
// (napi_unwrap alone would hand back its pointer as ours). Cheaper than an instanceof check.
static const napi_type_tag kHandleTag = {0x6d616d6261737065ULL, 0x6563682d74656e73ULL};

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  napi_type_tag_object(info.Env(), info.This(), &kHandleTag);
}

TensorHandle* TensorHandle::from(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  bool ours = false;
  if (napi_check_object_type_tag(v.Env(), v, &kHandleTag, &ours) != napi_ok || !ours) return nullptr;
  return TensorHandle::Unwrap(v.As<Napi::Object>());
}

TensorHandle::~TensorHandle() {
  // Collected without dispose(): the environment may be shutting down, so touch only the
  // shared counters; the storage's destructor returns the memory.
  if (attached_ && !disposed_) acct_->handles--;
}

void TensorHandle::attach(ms::Tensor t) {
  t_ = std::move(t);
  attached_ = true;
  disposed_ = false;
  acct_ = addon(Env()).acct;
  acct_->handles++;
}

void TensorHandle::release(Napi::Env env) {
  if (!attached_ || disposed_) return;
  disposed_ = true;
  t_.storage.reset();
  acct_->handles--;
  addon(env).flush_external(env);
}

const ms::Tensor& TensorHandle::get(const char* op) const {
  if (!attached_) ms::fail(op, "tensor handle is empty (made outside the library?)");
  if (disposed_) ms::fail(op, "tensor was disposed; it cannot be used after dispose()");
  if (t_.storage->still_valid && !t_.storage->still_valid())
    ms::fail(op, "the ArrayBuffer this tensor shares (fromTypedArray without copy) was detached "
                 "or transferred; the tensor's memory is gone");
  return t_;
}

const ms::Tensor& tensor_arg(const char* op, const char* what, const Napi::Value& v) {
  TensorHandle* h = TensorHandle::from(v);
  if (!h) {
    if (!v.IsObject()) ms::fail(op, what, " must be a Tensor, got ", js_type_name(v));
    ms::fail(op, what, " must be a Tensor, got another object");
  }
  return h->get(op);
}

Napi::Value TensorHandle::Shape(const Napi::CallbackInfo& info) {
  const ms::Tensor& t = get("shape");
  Napi::Array a = Napi::Array::New(info.Env(), t.shape.size());
  for (size_t i = 0; i < t.shape.size(); ++i) a.Set(i, Napi::Number::New(info.Env(), double(t.shape[i])));
  return a;
}

// meta(op?) -> [shape, dtype, device] in one call: the TS Tensor reads its metadata once. `op`
// names the caller in errors (a detached shared buffer).
Napi::Value TensorHandle::Meta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "meta";
  const ms::Tensor& t = get(op.c_str());
  Napi::Array a = Napi::Array::New(env, 3);
  Napi::Array s = Napi::Array::New(env, t.shape.size());
  for (size_t i = 0; i < t.shape.size(); ++i) s.Set(i, Napi::Number::New(env, double(t.shape[i])));
  a.Set(0u, s);
  a.Set(1u, Napi::String::New(env, ms::dtype_name(t.dtype)));
  a.Set(2u, Napi::String::New(env, ms::device_name(t.device)));
  return a;
}

namespace {
// The ArrayBuffer values are read into: `dst` when the caller passed one (lib/tensor/tensor.ts
// allocates it in JS, where a failed allocation is a catchable RangeError; V8 aborts the process
// when an ArrayBuffer made here cannot be allocated), else a new one. Its size must be 4 bytes
// per element (float32, bfloat16 widened, int32).
Napi::ArrayBuffer out_buffer(Napi::Env env, const char* op, const ms::Tensor& t, const Napi::Value& dst) {
  const size_t bytes = static_cast<size_t>(t.numel()) * 4;
  if (dst.IsUndefined()) return Napi::ArrayBuffer::New(env, bytes);
  if (!dst.IsArrayBuffer()) ms::fail(op, "destination must be an ArrayBuffer, got ", js_type_name(dst));
  Napi::ArrayBuffer ab = dst.As<Napi::ArrayBuffer>();
  if (ab.ByteLength() != bytes)
    ms::fail(op, "destination has ", ab.ByteLength(), " bytes; ", ms::shape_str(t.shape), " needs ", bytes);
  return ab;
}

Napi::Value typed_view(Napi::Env env, const ms::Tensor& t, Napi::ArrayBuffer ab) {
  const size_t n = static_cast<size_t>(t.numel());
  if (t.dtype == ms::DType::I32) return Napi::Int32Array::New(env, n, ab, 0);
  return Napi::Float32Array::New(env, n, ab, 0);
}

// Host values of a tensor as the typed array dataSync() returns: Float32Array for float32 and
// bfloat16 (widened), Int32Array for int32.
Napi::Value host_array(Napi::Env env, const ms::Tensor& t, const void* host_src, Napi::ArrayBuffer ab) {
  const int64_t n = t.numel();
  // The new ArrayBuffer's pages are untouched: the copy runs on the pool (ms::parallel_memcpy).
  if (t.dtype != ms::DType::BF16) {
    ms::parallel_memcpy(ab.Data(), host_src, static_cast<size_t>(n) * 4);
  } else {
    float* dst = static_cast<float*>(ab.Data());
    const uint16_t* s = static_cast<const uint16_t*>(host_src);
    ms::parallel_for(n, 1 << 18, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = ms::bf16_to_f32(s[i]);
    });
  }
  return typed_view(env, t, ab);
}

class ReadWorker : public Napi::AsyncWorker {
 public:
  // float32 and int32 are copied straight into the ArrayBuffer the promise resolves with (made
  // on the JS thread; written by the worker before JS can see it); bfloat16 is widened from a
  // staging vector.
  ReadWorker(Napi::Env env, ms::Tensor t, Napi::ArrayBuffer ab)
      : Napi::AsyncWorker(env, "mamba-speech:data"), t_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {
    dst_ = ab.Data();
    ab_ = Napi::Persistent(ab);
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      if (t_.dtype != ms::DType::BF16) {
        ms::prefault(dst_, static_cast<size_t>(t_.nbytes()));
        ms::cuda::memcpy_d2h(dst_, t_.data(), static_cast<size_t>(t_.nbytes()), 0);
      } else {
        host_.resize(static_cast<size_t>(t_.nbytes()));
        ms::cuda::memcpy_d2h(host_.data(), t_.data(), host_.size(), 0);
      }
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (t_.dtype == ms::DType::BF16) {
      deferred_.Resolve(host_array(env, t_, host_.data(), ab_.Value()));
      return;
    }
    deferred_.Resolve(typed_view(env, t_, ab_.Value()));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  ms::Tensor t_;  // holds the storage alive while the copy runs
  std::vector<char> host_;
  void* dst_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> ab_;
  Napi::Promise::Deferred deferred_;
};
}  // namespace

// dataSync(dst?) -> Float32Array | Int32Array over `dst` (an ArrayBuffer of 4 bytes per element)
// or over a new ArrayBuffer.
Napi::Value TensorHandle::DataSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "dataSync";
  const ms::Tensor& src = get(op);
  Napi::ArrayBuffer ab = out_buffer(env, op, src, info[0]);
  ms::Tensor t = ms::contiguous(op, src, addon(env).acct);
  if (t.device == ms::Device::CPU) return host_array(env, t, t.data(), ab);
  if (t.dtype != ms::DType::BF16) {
    // Straight into the returned ArrayBuffer (the staging vector plus a second copy ran at
    // ~0.8 GB/s for 256 MB on an H200).
    const size_t bytes = static_cast<size_t>(t.numel()) * 4;
    ms::prefault(ab.Data(), bytes);  // the DMA from the driver's staging cannot fault in parallel
    ms::cuda::memcpy_d2h(ab.Data(), t.data(), bytes, 0);
    return typed_view(env, t, ab);
  }
  std::vector<char> host(static_cast<size_t>(t.nbytes()));
  ms::cuda::memcpy_d2h(host.data(), t.data(), host.size(), 0);
  return host_array(env, t, host.data(), ab);
}

// data(dst?) -> a Promise of what dataSync(dst?) returns; a CUDA read runs off the JS thread.
Napi::Value TensorHandle::Data(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "data";
  const ms::Tensor& src = get(op);
  Napi::ArrayBuffer ab = out_buffer(env, op, src, info[0]);
  ms::Tensor t = ms::contiguous(op, src, addon(env).acct);
  if (t.device == ms::Device::CPU) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(host_array(env, t, t.data(), ab));
    return d.Promise();
  }
  auto* w = new ReadWorker(env, t, ab);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

// to(dtype, device, recycle?) -> a new handle (the TS side returns `this` when nothing changes).
Napi::Value TensorHandle::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ms::Tensor& t = get("to");
  ms::DType dtype = dtype_arg("to", info[0]);
  ms::Device device = device_arg("to", info[1]);
  Addon& a = addon(env);
  return a.wrap(env, ms::to(t, dtype, device, a.acct), info[2]);
}

Napi::Value TensorHandle::SharesMemoryWith(const Napi::CallbackInfo& info) {
  const ms::Tensor& t = get("sharesMemoryWith");
  Napi::Value v = info[0];
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    const char* p = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    return Napi::Boolean::New(info.Env(), p == static_cast<const char*>(t.data()));
  }
  const ms::Tensor& o = tensor_arg("sharesMemoryWith", "other", v);
  return Napi::Boolean::New(info.Env(), o.storage == t.storage);
}

}  // namespace msb
