// creation_binding.cc — fromTypedArray, fill, arange, rand/randn.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "../core/cuda_api.h"
#include "../core/error.h"
#include "../core/thread_pool.h"
#include "../ops/cast/cast.h"
#include "../ops/creation/creation.h"
#include "addon.h"
#include "convert.h"

namespace msb {

namespace {

template <typename S>
void convert_into(const char* op, const S* src, int64_t n, ms::Tensor& dst) {
  switch (dst.dtype) {
    // dst is fresh memory: large conversions run on the pool, which takes its page faults in
    // parallel (int32 below stays serial so a bad value is reported at its first index).
    case ms::DType::F32: {
      float* d = dst.ptr<float>();
      if constexpr (std::is_same_v<S, float>) {
        ms::parallel_memcpy(d, src, static_cast<size_t>(n) * sizeof(float));
      } else {
        ms::parallel_for(n, 1 << 18, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) d[i] = static_cast<float>(src[i]);
        });
      }
      break;
    }
    case ms::DType::BF16: {
      uint16_t* d = dst.ptr<uint16_t>();
      ms::parallel_for(n, 1 << 18, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) d[i] = ms::f32_to_bf16(static_cast<float>(src[i]));
      });
      break;
    }
    case ms::DType::I32: {
      int32_t* d = dst.ptr<int32_t>();
      if constexpr (std::is_same_v<S, int32_t>) {  // every value fits: nothing to check
        ms::parallel_memcpy(d, src, static_cast<size_t>(n) * sizeof(int32_t));
        break;
      }
      for (int64_t i = 0; i < n; ++i) {
        double x = static_cast<double>(src[i]);
        if (x != std::floor(x) || x < -2147483648.0 || x > 2147483647.0)
          ms::fail(op, "int32 data must be integers in the int32 range, got ", x, " at index ", i);
        d[i] = static_cast<int32_t>(x);
      }
      break;
    }
  }
}

}  // namespace

// fromTypedArray(data, shape, dtype, device, copy, recycle?) — shares `data`'s memory when it can (CPU,
// same element type, copy == false); otherwise converts and copies.
Napi::Value Addon::FromTypedArray(const Napi::CallbackInfo& info) {
  const char* op = "tensor";
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray())
    ms::fail(op, "data must be a typed array or an array of numbers, got ", js_type_name(info[0]));
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  std::vector<int64_t> shape = shape_arg(op, info[1]);
  ms::DType dtype = dtype_arg(op, info[2]);
  ms::Device device = device_arg(op, info[3]);
  bool copy = info[4].ToBoolean();
  const int64_t n = ms::shape_numel(shape);
  if (static_cast<int64_t>(ta.ElementLength()) != n)
    ms::fail(op, "data has ", ta.ElementLength(), " elements but shape ", ms::shape_str(shape),
             " needs ", n);
  napi_typedarray_type kind = ta.TypedArrayType();
  const bool same_type = (kind == napi_float32_array && dtype == ms::DType::F32) ||
                         (kind == napi_int32_array && dtype == ms::DType::I32);
  // N-API (version 8) cannot reach the memory of a SharedArrayBuffer through its ArrayBuffer
  // calls: say so under this op's name (lib/tensor/creation.ts copies such views first).
  Napi::ArrayBuffer ab;
  char* src = nullptr;
  try {
    ab = ta.ArrayBuffer();
    src = static_cast<char*>(ab.Data()) + ta.ByteOffset();
  } catch (const Napi::Error&) {
    ms::fail(op, "data must be a view of an ArrayBuffer; a SharedArrayBuffer cannot be read here (copy it into a plain typed array)");
  }

  if (!copy && same_type && device == ms::Device::CPU) {
    // A resizable ArrayBuffer can shrink under the tensor after this check: resize(0) would
    // leave it pointing at freed pages. Only fixed-size buffers are borrowed. (A growable
    // SharedArrayBuffer never shrinks: the n elements checked above stay valid.)
    if (ta.Get("buffer").As<Napi::Object>().Get("resizable").ToBoolean())
      ms::fail(op, "data is a view of a resizable ArrayBuffer, which may shrink under a tensor "
                   "sharing its memory; pass { copy: true } (or use a fixed-size buffer)");
    // Borrow: keep the ArrayBuffer alive through a reference, and check it is still attached
    // whenever the tensor is used (a transfer to another thread would free it under us).
    auto s = std::make_shared<ms::Storage>();
    s->data = src;
    s->bytes = n * 4;
    s->device = ms::Device::CPU;
    auto* ref = new Napi::Reference<Napi::ArrayBuffer>(Napi::Persistent(ab));
    napi_env raw_env = env;
    s->release = [ref]() { delete ref; };
    s->still_valid = [ref, raw_env]() {
      bool detached = false;
      napi_is_detached_arraybuffer(raw_env, ref->Value(), &detached);
      return !detached;
    };
    ms::Tensor t;
    t.shape = shape;
    t.strides = ms::contiguous_strides(shape);
    t.dtype = dtype;
    t.device = device;
    t.storage = s;
    return wrap(env, std::move(t), info[5]);
  }

  if (same_type && device == ms::Device::CUDA) {
    // Straight from the typed array's memory to the device: no host tensor in between (that
    // path converted into fresh host memory first and ran at ~1.5 GB/s for 256 MB on an H200).
    ms::Tensor t = ms::empty(op, shape, dtype, device, acct);
    ms::cuda::memcpy_h2d(t.data(), src, static_cast<size_t>(n) * 4, 0);
    return wrap(env, std::move(t), info[5]);
  }

  ms::Tensor host = ms::empty(op, shape, dtype, ms::Device::CPU, acct);
  switch (kind) {
    case napi_float32_array: convert_into(op, reinterpret_cast<const float*>(src), n, host); break;
    case napi_float64_array: convert_into(op, reinterpret_cast<const double*>(src), n, host); break;
    case napi_int32_array: convert_into(op, reinterpret_cast<const int32_t*>(src), n, host); break;
    case napi_int16_array: convert_into(op, reinterpret_cast<const int16_t*>(src), n, host); break;
    case napi_int8_array: convert_into(op, reinterpret_cast<const int8_t*>(src), n, host); break;
    case napi_uint8_array:
    case napi_uint8_clamped_array: convert_into(op, reinterpret_cast<const uint8_t*>(src), n, host); break;
    case napi_uint16_array: convert_into(op, reinterpret_cast<const uint16_t*>(src), n, host); break;
    case napi_uint32_array: convert_into(op, reinterpret_cast<const uint32_t*>(src), n, host); break;
    default: ms::fail(op, "unsupported typed array type (BigInt arrays are not supported)");
  }
  if (device == ms::Device::CPU) return wrap(env, std::move(host), info[5]);
  return wrap(env, ms::to(host, dtype, device, acct), info[5]);
}

// fill(shape, value, dtype, device, recycle?)
Napi::Value Addon::Fill(const Napi::CallbackInfo& info) {
  const char* op = "full";
  std::vector<int64_t> shape = shape_arg(op, info[0]);
  double v = number_arg(op, "value", info[1]);
  ms::DType dtype = dtype_arg(op, info[2]);
  ms::Device device = device_arg(op, info[3]);
  if (dtype == ms::DType::I32 && (v != std::floor(v) || v < -2147483648.0 || v > 2147483647.0))
    ms::fail(op, "value ", v, " is not an int32");
  return wrap(info.Env(), ms::fill(op, shape, v, dtype, device, acct), info[4]);
}

// arange(start, step, n, dtype, device, recycle?)
Napi::Value Addon::Arange(const Napi::CallbackInfo& info) {
  const char* op = "arange";
  double start = number_arg(op, "start", info[0]);
  double step = number_arg(op, "step", info[1]);
  double n = number_arg(op, "length", info[2]);
  // Checked before the cast to int64 (1e301 steps is undefined behaviour there, and came out as
  // a shape of -2^63).
  if (!(n >= 0) || n != std::floor(n) || n > static_cast<double>(ms::kMaxNumel))
    ms::fail(op, "length must be an integer in [0, 2^53), got ", n);
  ms::DType dtype = dtype_arg(op, info[3]);
  ms::Device device = device_arg(op, info[4]);
  if (dtype == ms::DType::I32) {
    double last = start + (n - 1) * step;
    if (start != std::floor(start) || step != std::floor(step) ||
        std::fabs(start) > 2147483647.0 || std::fabs(last) > 2147483647.0)
      ms::fail(op, "int32 arange needs integer start/step inside the int32 range");
  }
  return wrap(info.Env(), ms::arange(start, step, static_cast<int64_t>(n), dtype, device, acct), info[5]);
}

// random(kind 0 uniform | 1 normal, shape, seed, offset, dtype, device, recycle?)
Napi::Value Addon::Random(const Napi::CallbackInfo& info) {
  int kind = static_cast<int>(number_arg("random", "kind", info[0]));
  const char* op = kind == 0 ? "rand" : "randn";
  std::vector<int64_t> shape = shape_arg(op, info[1]);
  uint64_t seed = u64_arg(op, "seed", info[2]);
  uint64_t offset = u64_arg(op, "offset", info[3]);
  ms::DType dtype = dtype_arg(op, info[4]);
  ms::Device device = device_arg(op, info[5]);
  return wrap(info.Env(), ms::random(kind == 0 ? ms::RandKind::Uniform : ms::RandKind::Normal, shape,
                                     seed, offset, dtype, device, acct), info[6]);
}

}  // namespace msb
