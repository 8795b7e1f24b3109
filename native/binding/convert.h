// convert.h — JS argument -> C++ value conversions shared by the *_binding.cc files. Each
// throws ms::Error naming the op and what came, so a bad call never reaches a kernel.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "../core/tensor.h"

namespace msb {

std::string js_type_name(const Napi::Value& v);
ms::DType dtype_arg(const char* op, const Napi::Value& v);
ms::Device device_arg(const char* op, const Napi::Value& v);
// A shape: an array of integers >= 0 whose product fits in 2^53 (exact in a JS number).
std::vector<int64_t> shape_arg(const char* op, const Napi::Value& v);
double number_arg(const char* op, const char* what, const Napi::Value& v);
uint64_t u64_arg(const char* op, const char* what, const Napi::Value& v);  // Number or BigInt

}  // namespace msb
