// cpu_math.h — float math for CPU kernels written to vectorize: no calls, no tables, no
// data-dependent branches, so a loop over them compiles to SIMD code for whichever ISA the caller
// is compiled for (the selective scan and attention build one copy per ISA: AVX-512, AVX2 + FMA,
// baseline).
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__GNUC__) || defined(__clang__)
#define MS_INLINE inline __attribute__((always_inline))  // so each ISA's copy inlines its own
#else
#define MS_INLINE inline
#endif
// Before a loop whose iterations are independent, for compilers that cannot prove it.
#if defined(__clang__)
#define MS_INDEPENDENT _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define MS_INDEPENDENT _Pragma("GCC ivdep")
#else
#define MS_INDEPENDENT
#endif

namespace ms {
namespace cpu_math {

MS_INLINE uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
MS_INLINE float float_of(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
// cond ? a : b as a bit blend (mask: all ones or zero). A float `?:` can be turned into a branch
// around the computation of its operands, which then only vectorizes with AVX-512 masking.
MS_INLINE uint32_t mask_of(bool cond) { return 0u - static_cast<uint32_t>(cond); }
MS_INLINE float blend(uint32_t mask, float a, float b) {
  return float_of((bits_of(a) & mask) | (bits_of(b) & ~mask));
}

// e^x. x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite: ln2 in two parts), e^r by the Cephes expf
// polynomial, times 2^n built in the exponent bits as 2^(n/2) 2^(n - n/2) so that subnormal
// results come out right. Error against the exact e^x, checked over every float: at most
// 1.023 ulp with FMA contraction (AVX2, AVX-512 builds), 0.992 ulp without (std::exp: 0.50);
// subnormal results within 0.75 ulp; 0 below -103.97 and +inf above 88.72 as std::exp; NaN stays NaN.
MS_INLINE float exp_fast(float x) {
  // |x| clamped to 110 on the bits (an integer min; the result is 0 or inf there anyway, and
  // 2^n below stays in range). Signed: ab < 2^31, and SSE/AVX2 compare signed integers.
  const uint32_t xb = bits_of(x);
  const int32_t ab = static_cast<int32_t>(xb & 0x7fffffffu), lim = 0x42dc0000;  // 110.f
  const float xc = float_of(static_cast<uint32_t>(ab < lim ? ab : lim) | (xb & 0x80000000u));
  const float shift = 0x1.8p23f + 254.f;  // adding it rounds to an integer, kept + 254 in the low bits
  float fn = xc * 1.44269504088896341f + shift;
  const uint32_t m = bits_of(fn) - bits_of(0x1.8p23f);  // n + 254, in [95, 413]
  fn -= shift;
  const float r = (xc - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = (p * r * r + r) + 1.f;
  const uint32_t m1 = m >> 1, m2 = m - m1;  // 2^n = 2^(m1 - 127) 2^(m2 - 127), both normal
  const float e = p * float_of(m1 << 23) * float_of(m2 << 23);
  return blend(mask_of(ab > 0x7f800000), x, e);  // NaN in, NaN out
}

}  // namespace cpu_math
}  // namespace ms
