// scan_cpu_math.h — float math for the CPU scan kernels written to vectorize (the shared pieces,
// exp_fast and the bit helpers, are in core/cpu_math.h): no calls, no tables, no data-dependent
// branches, so a loop over them compiles to SIMD code for whichever ISA the caller is compiled for
// (selective_scan_cpu_kernels.cpp builds one copy per ISA).
#pragma once
#include <cstdint>
#include <cstring>

#include "../../core/cpu_math.h"

namespace ms {
namespace scan_cpu {

using cpu_math::bits_of;
using cpu_math::blend;
using cpu_math::exp_fast;
using cpu_math::float_of;
using cpu_math::mask_of;

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
