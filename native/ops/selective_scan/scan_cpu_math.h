// scan_cpu_math.h — float math for the CPU scan kernels written to vectorize: no calls, no tables,
// no data-dependent branches, so a loop over them compiles to SIMD code for whichever ISA the
// caller is compiled for (selective_scan_cpu_kernels.cpp builds one copy per ISA).
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
namespace scan_cpu {

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

// log(1 + t) for t in [0, 1] as 2 atanh(s) = 2s + 2s s^2 (1/3 + s^2/5 + ...), s = t / (2 + t) <= 1/3,
// the series to s^15 (truncation below 2e-9 relative). 2 + t = d + d_err exactly (Fast2Sum), and s
// is corrected for the rounding of d.
MS_INLINE float log1p_unit(float t) {
  const float d = 2.f + t, d_err = (2.f - d) + t;
  float s = t / d;
  s -= s * d_err / d;
  const float s2 = s * s;
  float p = 1.f / 15;
  p = p * s2 + 1.f / 13;
  p = p * s2 + 1.f / 11;
  p = p * s2 + 1.f / 9;
  p = p * s2 + 1.f / 7;
  p = p * s2 + 1.f / 5;
  p = p * s2 + 1.f / 3;
  return (2.f * s) * (p * s2) + 2.f * s;
}

// scan_softplus (x above 20 returned as is) as max(x, 0) + log1p(e^-|x|), which cannot overflow.
// Max error 2.4 ulp (every 7th float checked; log1pf(expf(x)) with glibc: 1.5 ulp).
MS_INLINE float softplus_fast(float x) {
  const float ax = float_of(bits_of(x) & 0x7fffffffu);
  const float sp = 0.5f * (x + ax) + log1p_unit(exp_fast(-ax));  // 0.5 (x + |x|) = max(x, 0), exactly
  return blend(mask_of(x > 20.f), x, sp);
}
// Max error 2.5 ulp (every 5th float checked), as 1 / (1 + expf(-x)) with glibc; both give 0 where
// the result would be subnormal.
MS_INLINE float sigmoid_fast(float x) { return 1.f / (1.f + exp_fast(-x)); }

// out[i] = sum over the 16 lanes j of p[16 i + j], for rows i < m, by adding adjacent pairs: four
// rounds of out[e] = in[2e] + in[2e + 1], which vectorize across rows (a running sum would not, as
// float addition is not associative). The fixed order keeps results reproducible. Clobbers p.
MS_INLINE void lane_sums(float* __restrict p, float* __restrict tmp, int64_t m, float* __restrict out) {
  for (int64_t e = 0; e < m * 8; ++e) tmp[e] = p[2 * e] + p[2 * e + 1];
  for (int64_t e = 0; e < m * 4; ++e) p[e] = tmp[2 * e] + tmp[2 * e + 1];
  for (int64_t e = 0; e < m * 2; ++e) tmp[e] = p[2 * e] + p[2 * e + 1];
  for (int64_t e = 0; e < m; ++e) out[e] = tmp[2 * e] + tmp[2 * e + 1];
}

}  // namespace scan_cpu
}  // namespace ms
