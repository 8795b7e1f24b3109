// philox_cpu.cpp — see philox_cpu.h. Each version runs the 10 rounds of philox.h on 16 counters:
//   (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)),  k += W
#include "philox_cpu.h"

#include "cpu_isa.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MS_PHILOX_X86 1
#endif

namespace ms {
namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

void x16_portable(uint64_t ctr0, uint64_t key, uint32_t (&w)[4][16]) {
  uint32_t c0[16], c1[16], c2[16], c3[16];
  for (int l = 0; l < 16; ++l) {
    const uint64_t c = ctr0 + static_cast<uint64_t>(l);
    c0[l] = static_cast<uint32_t>(c), c1[l] = static_cast<uint32_t>(c >> 32), c2[l] = 0, c3[l] = 0;
  }
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r, k0 += kW0, k1 += kW1)
    for (int l = 0; l < 16; ++l) {
      const uint64_t p0 = static_cast<uint64_t>(kM0) * c0[l], p1 = static_cast<uint64_t>(kM1) * c2[l];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[l] ^ k0, n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = static_cast<uint32_t>(p1), c3[l] = static_cast<uint32_t>(p0), c0[l] = n0, c2[l] = n2;
    }
  for (int l = 0; l < 16; ++l) w[0][l] = c0[l], w[1][l] = c1[l], w[2][l] = c2[l], w[3][l] = c3[l];
}

#ifdef MS_PHILOX_X86
// The high 32 bits of a * m for 32-bit lanes: even lanes' 64-bit products shifted down, odd
// lanes' taken from their upper halves.
// (Zero-masked forms with a full mask: GCC 12 warns about the unmasked ones' undefined source.)
__attribute__((target("avx512f"))) inline __m512i mulhi_avx512(__m512i a, __m512i m) {
  const __m512i even = _mm512_maskz_srli_epi64(0xFF, _mm512_maskz_mul_epu32(0xFF, a, m), 32);
  const __m512i odd = _mm512_maskz_mul_epu32(0xFF, _mm512_maskz_srli_epi64(0xFF, a, 32), m);
  return _mm512_mask_blend_epi32(0xAAAA, even, odd);
}

__attribute__((target("avx512f"))) void x16_avx512(uint64_t ctr0, uint64_t key, uint32_t (&w)[4][16]) {
  alignas(64) uint32_t lo[16], hi[16];
  for (int l = 0; l < 16; ++l) {
    const uint64_t c = ctr0 + static_cast<uint64_t>(l);
    lo[l] = static_cast<uint32_t>(c), hi[l] = static_cast<uint32_t>(c >> 32);
  }
  __m512i c0 = _mm512_load_si512(lo), c1 = _mm512_load_si512(hi), c2 = _mm512_setzero_si512(), c3 = c2;
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kM0)), m1 = _mm512_set1_epi32(static_cast<int>(kM1));
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r, k0 += kW0, k1 += kW1) {
    const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(mulhi_avx512(c2, m1), c1), _mm512_set1_epi32(static_cast<int>(k0)));
    const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(mulhi_avx512(c0, m0), c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c1 = _mm512_mullo_epi32(c2, m1);
    c3 = _mm512_mullo_epi32(c0, m0);
    c0 = n0;
    c2 = n2;
  }
  _mm512_storeu_si512(w[0], c0);
  _mm512_storeu_si512(w[1], c1);
  _mm512_storeu_si512(w[2], c2);
  _mm512_storeu_si512(w[3], c3);
}

__attribute__((target("avx2"))) inline __m256i mulhi_avx2(__m256i a, __m256i m) {
  const __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(a, m), 32);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  return _mm256_blend_epi32(even, odd, 0xAA);
}

__attribute__((target("avx2"))) void x16_avx2(uint64_t ctr0, uint64_t key, uint32_t (&w)[4][16]) {
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kM0)), m1 = _mm256_set1_epi32(static_cast<int>(kM1));
  for (int half = 0; half < 2; ++half) {
    alignas(32) uint32_t lo[8], hi[8];
    for (int l = 0; l < 8; ++l) {
      const uint64_t c = ctr0 + static_cast<uint64_t>(8 * half + l);
      lo[l] = static_cast<uint32_t>(c), hi[l] = static_cast<uint32_t>(c >> 32);
    }
    __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo)), c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
    __m256i c2 = _mm256_setzero_si256(), c3 = c2;
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int r = 0; r < 10; ++r, k0 += kW0, k1 += kW1) {
      const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(mulhi_avx2(c2, m1), c1), _mm256_set1_epi32(static_cast<int>(k0)));
      const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(mulhi_avx2(c0, m0), c3), _mm256_set1_epi32(static_cast<int>(k1)));
      c1 = _mm256_mullo_epi32(c2, m1);
      c3 = _mm256_mullo_epi32(c0, m0);
      c0 = n0;
      c2 = n2;
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[0] + 8 * half), c0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[1] + 8 * half), c1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[2] + 8 * half), c2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[3] + 8 * half), c3);
  }
}
#endif

using X16 = void (*)(uint64_t, uint64_t, uint32_t (&)[4][16]);
X16 choose() {
#ifdef MS_PHILOX_X86
  if (cpu_isa() == CpuIsa::Avx512) return x16_avx512;
  if (cpu_isa() == CpuIsa::Avx2) return x16_avx2;
#endif
  return x16_portable;
}

}  // namespace

void philox4x32_10_x16(uint64_t ctr0, uint64_t key, uint32_t (&w)[4][16]) {
  static const X16 impl = choose();
  impl(ctr0, key, w);
}

}  // namespace ms
