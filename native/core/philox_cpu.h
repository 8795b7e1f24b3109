// philox_cpu.h — Philox4x32-10 (philox.h) for 16 consecutive counters at once on the CPU: one call
// replaces 16 scalar calls of philox4x32_10 and gives bit-identical words. AVX-512 and AVX2 run
// the 16 lanes in vector registers (the 32 x 32 -> 64-bit products as vpmuludq on even and odd
// lanes); elsewhere a plain loop. Dropout masks on the CPU (dropout, attention) are drawn with it.
#pragma once
#include <cstdint>

namespace ms {

// w[k][l] = word k of philox4x32_10(ctr0 + l, key), l < 16.
void philox4x32_10_x16(uint64_t ctr0, uint64_t key, uint32_t (&w)[4][16]);

// The uniform of a word, as philox_uniform: top 24 bits, [0, 1) in steps of 2^-24.
inline float philox_word_uniform(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }

}  // namespace ms
