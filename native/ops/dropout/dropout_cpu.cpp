// dropout_cpu.cpp — x * keep / (1 - p), 16 Philox blocks (64 elements) per step through the
// lane-parallel generator (core/philox_cpu.h); its words equal philox_uniform's, so the cpu and
// cuda masks match.
#include <algorithm>

#include "../../core/philox_cpu.h"
#include "../../core/thread_pool.h"
#include "dropout.h"

namespace ms {
namespace {

// Elements [64 g0, 64 g1) of the flat tensor (n elements).
template <typename T>
void groups(const T* x, T* out, int64_t n, float p, uint64_t seed, uint64_t offset, int64_t g0, int64_t g1) {
  const float inv_keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  for (int64_t g = g0; g < g1; ++g) {
    uint32_t w[4][16];
    philox4x32_10_x16(offset + static_cast<uint64_t>(g) * 16, seed, w);  // blocks 16 g .. 16 g + 15
    float s[64];
    for (int l = 0; l < 16; ++l)
      for (int k = 0; k < 4; ++k) s[4 * l + k] = dropout_scale(philox_word_uniform(w[k][l]), p, inv_keep);
    const int64_t i0 = g * 64, m = std::min<int64_t>(64, n - i0);
    for (int64_t j = 0; j < m; ++j) {
      if constexpr (sizeof(T) == 4) out[i0 + j] = x[i0 + j] * s[j];
      else out[i0 + j] = f32_to_bf16(bf16_to_f32(x[i0 + j]) * s[j]);
    }
  }
}

}  // namespace

void dropout_apply_cpu(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& out) {
  const int64_t n = x.numel(), ngroups = (n + 63) / 64;
  parallel_for(ngroups, 256, [&](int64_t g0, int64_t g1) {
    if (x.dtype == DType::BF16) groups(x.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p, seed, offset, g0, g1);
    else groups(x.ptr<float>(), out.ptr<float>(), n, p, seed, offset, g0, g1);
  });
}

}  // namespace ms
