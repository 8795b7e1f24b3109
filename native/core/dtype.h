// dtype.h — element types and the float32 <-> bfloat16 conversions shared by CPU and CUDA code.
//
// Glossary: f32 = IEEE float32; bf16 = bfloat16 (float32's top 16 bits: 8-bit exponent, 7-bit
// mantissa), stored as uint16_t; i32 = int32 (lengths, labels, indices).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__CUDACC__)
#define MS_HD __host__ __device__ __forceinline__
#else
#define MS_HD inline
#endif

namespace ms {

enum class DType : int32_t { F32 = 0, BF16 = 1, I32 = 2 };

inline int64_t dtype_size(DType t) { return t == DType::BF16 ? 2 : 4; }
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::BF16: return "bfloat16";
    case DType::I32: return "int32";
  }
  return "?";
}
inline bool dtype_is_float(DType t) { return t != DType::I32; }
// Returns false for an unknown name (the caller reports it with its op name).
inline bool parse_dtype(const std::string& s, DType* out) {
  if (s == "float32") { *out = DType::F32; return true; }
  if (s == "bfloat16") { *out = DType::BF16; return true; }
  if (s == "int32") { *out = DType::I32; return true; }
  return false;
}

// bf16 <-> f32. Round to nearest, ties to even, as PyTorch and the tensor cores do; NaN stays a
// quiet NaN (a plain rounding add could carry a NaN's payload into +-Inf).
MS_HD uint16_t f32_to_bf16(float f) {
  uint32_t x;
#if defined(__CUDA_ARCH__)
  x = __float_as_uint(f);
#else
  std::memcpy(&x, &f, 4);
#endif
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}
MS_HD float bf16_to_f32(uint16_t h) {
  uint32_t x = static_cast<uint32_t>(h) << 16;
#if defined(__CUDA_ARCH__)
  return __uint_as_float(x);
#else
  float f;
  std::memcpy(&f, &x, 4);
  return f;
#endif
}

}  // namespace ms
