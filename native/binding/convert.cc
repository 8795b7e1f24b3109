#include "convert.h"

#include <cmath>

#include "../core/cuda_api.h"
#include "../core/error.h"

namespace msb {

std::string js_type_name(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "number " + v.ToString().Utf8Value();
  if (v.IsString()) return "string '" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsBoolean()) return "boolean";
  if (v.IsArray()) return "array";
  if (v.IsTypedArray()) return "typed array";
  if (v.IsFunction()) return "function";
  return "object";
}

ms::DType dtype_arg(const char* op, const Napi::Value& v) {
  ms::DType d;
  if (!v.IsString() || !ms::parse_dtype(v.As<Napi::String>().Utf8Value(), &d))
    ms::fail(op, "unknown dtype ", js_type_name(v), "; expected 'float32', 'bfloat16' or 'int32'");
  return d;
}

ms::Device device_arg(const char* op, const Napi::Value& v) {
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s == "cpu") return ms::Device::CPU;
    if (s == "cuda" || s == "cuda:0") {
      ms::cuda::require(op, 0);
      return ms::Device::CUDA;
    }
  }
  ms::fail(op, "unknown device ", js_type_name(v), "; expected 'cpu' or 'cuda'");
}

std::vector<int64_t> shape_arg(const char* op, const Napi::Value& v) {
  if (!v.IsArray()) ms::fail(op, "shape must be an array of integers, got ", js_type_name(v));
  Napi::Array a = v.As<Napi::Array>();
  const uint32_t n = a.Length();
  if (n > 16) ms::fail(op, "shape has ", n, " dims; at most 16 are supported");
  std::vector<int64_t> shape(n);
  double total = 1;
  for (uint32_t i = 0; i < n; ++i) {
    Napi::Value d = a.Get(i);
    double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : NAN;
    if (!(x >= 0) || x != std::floor(x) || x > 9007199254740991.0)
      ms::fail(op, "shape dims must be integers >= 0, got ", js_type_name(d), " at dim ", i);
    shape[i] = static_cast<int64_t>(x);
    total *= x;
  }
  if (total > 9007199254740991.0) ms::fail(op, "shape ", ms::shape_str(shape), " has more than 2^53 elements");
  return shape;
}

double number_arg(const char* op, const char* what, const Napi::Value& v) {
  if (!v.IsNumber()) ms::fail(op, what, " must be a number, got ", js_type_name(v));
  return v.As<Napi::Number>().DoubleValue();
}

uint64_t u64_arg(const char* op, const char* what, const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) ms::fail(op, what, " must fit in 64 bits");
    return x;
  }
  double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(x >= 0) || x != std::floor(x) || x > 9007199254740991.0)
    ms::fail(op, what, " must be an integer >= 0 (or a BigInt), got ", js_type_name(v));
  return static_cast<uint64_t>(x);
}

}  // namespace msb
