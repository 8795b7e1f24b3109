// copy_binding.cc — views and copies: view (new shape/strides/offset over the same storage),
// contiguous, and layout (strides, offset, storage size) for the TS view functions.
#include "../core/error.h"
#include "../ops/copy/copy.h"
#include "addon.h"
#include "convert.h"
#include "families.h"
#include "tensor_wrap.h"

namespace msb {
namespace {

// view(h, shape, strides, offset, recycle?) -> a handle sharing h's storage. Every element the
// view can address must lie inside the storage; this check is what makes views memory-safe.
Napi::Value View(const Napi::CallbackInfo& info) {
  const char* op = "view";
  const ms::Tensor& x = tensor_arg(op, "x", info[0]);
  ms::Tensor v;
  v.shape = shape_arg(op, info[1]);
  if (!info[2].IsArray()) ms::fail(op, "strides must be an array");
  Napi::Array st = info[2].As<Napi::Array>();
  if (st.Length() != v.shape.size())
    ms::fail(op, "strides have ", st.Length(), " entries for ", v.shape.size(), " dims");
  v.strides.resize(v.shape.size());
  for (uint32_t i = 0; i < st.Length(); ++i) {
    double s = number_arg(op, "stride", st.Get(i));
    if (s != static_cast<double>(static_cast<int64_t>(s))) ms::fail(op, "strides must be integers");
    v.strides[i] = static_cast<int64_t>(s);
  }
  double off = number_arg(op, "offset", info[3]);
  if (!(off >= 0) || off != static_cast<double>(static_cast<int64_t>(off))) ms::fail(op, "offset must be an integer >= 0");
  v.offset = static_cast<int64_t>(off);
  v.dtype = x.dtype;
  v.device = x.device;
  v.storage = x.storage;
  const int64_t capacity = x.storage->bytes / ms::dtype_size(x.dtype);
  if (ms::shape_numel(v.shape) > 0) {
    int64_t lo = v.offset, hi = v.offset;
    for (size_t d = 0; d < v.shape.size(); ++d) {
      int64_t span = (v.shape[d] - 1) * v.strides[d];
      if (span < 0) lo += span;
      else hi += span;
    }
    if (lo < 0 || hi >= capacity)
      ms::fail(op, "view ", ms::shape_str(v.shape), " with strides ", ms::shape_str(v.strides), " at offset ",
               v.offset, " reaches elements [", lo, ", ", hi, "] outside the storage of ", capacity);
  }
  return addon(info.Env()).wrap(info.Env(), std::move(v), info[4]);
}

// contiguous(x, recycle?) -> x's own handle when it is already contiguous (the TS side relies on
// identity to skip recording a no-op), else a new handle on a row-major copy.
Napi::Value Contiguous(const Napi::CallbackInfo& info) {
  const ms::Tensor& x = tensor_arg("contiguous", "x", info[0]);
  if (x.is_contiguous()) return info[0];
  Addon& a = addon(info.Env());
  return a.wrap(info.Env(), ms::contiguous("contiguous", x, a.acct), info[1]);
}

// layout(h) -> [strides, offset, storage elements]
Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ms::Tensor& x = tensor_arg("layout", "x", info[0]);
  Napi::Array out = Napi::Array::New(env, 3);
  Napi::Array st = Napi::Array::New(env, x.strides.size());
  for (size_t i = 0; i < x.strides.size(); ++i) st.Set(i, Napi::Number::New(env, double(x.strides[i])));
  out.Set(0u, st);
  out.Set(1u, Napi::Number::New(env, double(x.offset)));
  out.Set(2u, Napi::Number::New(env, double(x.storage->bytes / ms::dtype_size(x.dtype))));
  return out;
}

// copyInto(dst, src): writes src (broadcast) into the view dst. Returns undefined.
Napi::Value CopyInto(const Napi::CallbackInfo& info) {
  const ms::Tensor& dst = tensor_arg("copy", "destination", info[0]);
  const ms::Tensor& src = tensor_arg("copy", "source", info[1]);
  ms::copy_into("copy", dst, src);
  return info.Env().Undefined();
}

}  // namespace

void register_copy(Napi::Env env, Napi::Object exports) {
  exports.Set("view", Napi::Function::New<View>(env, "view"));
  exports.Set("contiguous", Napi::Function::New<Contiguous>(env, "contiguous"));
  exports.Set("layout", Napi::Function::New<Layout>(env, "layout"));
  exports.Set("copyInto", Napi::Function::New<CopyInto>(env, "copyInto"));
}

}  // namespace msb
