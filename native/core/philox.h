// philox.h — Philox4x32-10 counter-based RNG (Salmon et al., SC'11), the generator cuRAND and
// PyTorch use. Element i of a call with (seed, offset) is a pure function of (seed, offset, i),
// so the CPU and every CUDA thread produce the same numbers in any order: same seed, same
// tensor on cpu and cuda.
//
// Layout: block c = offset + i / 4 gives 4 words; element i takes word i % 4. Uniform floats use
// the top 24 bits: [0, 1) with step 2^-24. Normals use Box-Muller on word pairs (0,1) and (2,3)
// computed in double so that CPU and GPU results round to the same float32.
#pragma once
#include <cmath>
#include <cstdint>

#include "dtype.h"

namespace ms {

struct Philox4 {
  uint32_t v[4];
};

MS_HD Philox4 philox4x32_10(uint64_t counter, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = static_cast<uint32_t>(p1);
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = static_cast<uint32_t>(p0);
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

MS_HD float philox_uniform(uint64_t seed, uint64_t offset, int64_t i) {
  Philox4 r = philox4x32_10(offset + static_cast<uint64_t>(i) / 4, seed);
  return static_cast<float>(r.v[i & 3] >> 8) * (1.0f / 16777216.0f);
}

MS_HD float philox_normal(uint64_t seed, uint64_t offset, int64_t i) {
  Philox4 r = philox4x32_10(offset + static_cast<uint64_t>(i) / 4, seed);
  int lane = static_cast<int>(i & 3);
  int pair = lane >> 1;
  // u1 in (0, 1] so log(u1) is finite; 2^-32 resolution keeps tails out to about 6.7 sigma.
  double u1 = (static_cast<double>(r.v[2 * pair]) + 1.0) * (1.0 / 4294967296.0);
  double u2 = static_cast<double>(r.v[2 * pair + 1]) * (1.0 / 4294967296.0);
  double rad = sqrt(-2.0 * log(u1));
  double theta = 6.283185307179586 * u2;
  return static_cast<float>((lane & 1) ? rad * sin(theta) : rad * cos(theta));
}

}  // namespace ms
