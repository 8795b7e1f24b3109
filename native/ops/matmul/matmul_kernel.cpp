// matmul_kernel.cpp — micro-kernels. Each keeps an mr x nr tile of C in registers and, per k,
// loads one row of the B strip (nr floats) and broadcasts mr values of the A strip:
//   AVX-512: 12 x 32 -> 24 zmm accumulators + 2 B vectors + 1 broadcast = 27 of 32 registers;
//            24 FMAs per 14 loads, so the two FMA ports, not the loads, bound it (~90% of peak).
//   AVX2:     6 x 16 -> 12 ymm accumulators (the classic Haswell kernel).
// Compiled with per-function target attributes, so one binary runs everywhere and picks at
// run time; on non-x86 only the portable kernel exists.
#include "matmul_kernel.h"

#include <cstring>

#include "../../core/cpu_isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define MS_X86 1
#endif

namespace ms {
namespace {

template <int MR, int NR>
void portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc) {
  float t[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) t[i][j] += a[k * MR + i] * b[k * NR + j];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i * ldc + j] = (acc ? c[i * ldc + j] : 0.f) + t[i][j];
}

#ifdef MS_X86
__attribute__((target("avx512f"))) void avx512_12x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                                     bool acc) {
  __m512 c0[12], c1[12];
  for (int i = 0; i < 12; ++i) {
    c0[i] = c1[i] = _mm512_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b + k * 32);
    const __m512 b1 = _mm512_load_ps(b + k * 32 + 16);
    const float* ak = a + k * 12;
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) {
      const __m512 ai = _mm512_set1_ps(ak[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
  }
  for (int i = 0; i < 12; ++i) {
    float* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm512_add_ps(c0[i], _mm512_loadu_ps(ci));
      c1[i] = _mm512_add_ps(c1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, c0[i]);
    _mm512_storeu_ps(ci + 16, c1[i]);
  }
}

__attribute__((target("avx2,fma"))) void avx2_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                                   bool acc) {
  __m256 c0[6], c1[6];
  for (int i = 0; i < 6; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b + k * 16);
    const __m256 b1 = _mm256_load_ps(b + k * 16 + 8);
    const float* ak = a + k * 6;
#pragma GCC unroll 6
    for (int i = 0; i < 6; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ak + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
  }
  for (int i = 0; i < 6; ++i) {
    float* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm256_add_ps(c0[i], _mm256_loadu_ps(ci));
      c1[i] = _mm256_add_ps(c1[i], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, c0[i]);
    _mm256_storeu_ps(ci + 8, c1[i]);
  }
}
#endif

// The best kernel this CPU runs (cpu_isa(): MAMBA_SPEECH_CPU_KERNEL=avx2|portable picks a
// narrower one, so tests run every kernel's packing and edges on one machine).
MicroKernel choose() {
#ifdef MS_X86
  if (cpu_isa() == CpuIsa::Avx512) return {"avx512", 12, 32, &avx512_12x32};
  if (cpu_isa() == CpuIsa::Avx2) return {"avx2", 6, 16, &avx2_6x16};
#endif
  return {"portable", 4, 16, &portable<4, 16>};
}

}  // namespace

const MicroKernel& micro_kernel() {
  static const MicroKernel k = choose();
  return k;
}

}  // namespace ms
