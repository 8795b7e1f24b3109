// dropout_cpu.cpp — x * keep / (1 - p), one Philox block (4 elements) per step.
#include <algorithm>
#include <type_traits>

#include "../../core/philox.h"
#include "../../core/thread_pool.h"
#include "dropout.h"

namespace ms {
namespace {

template <typename T>
void run(const T* x, T* out, int64_t n, float p, uint64_t seed, uint64_t offset) {
  const float inv_keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  // Ranges start on multiples of 4 so each Philox block is generated once.
  const int64_t nblk = (n + 3) / 4;
  parallel_for(nblk, 4096, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const Philox4 r = philox4x32_10(offset + static_cast<uint64_t>(b), seed);
      for (int l = 0; l < 4 && b * 4 + l < n; ++l) {
        const int64_t i = b * 4 + l;
        const float u = static_cast<float>(r.v[l] >> 8) * (1.0f / 16777216.0f);  // as philox_uniform
        const float s = dropout_scale(u, p, inv_keep);
        if constexpr (std::is_same<T, float>::value) out[i] = x[i] * s;
        else out[i] = f32_to_bf16(bf16_to_f32(x[i]) * s);
      }
    }
  });
}

}  // namespace

void dropout_apply_cpu(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& out) {
  if (x.dtype == DType::BF16) run(x.ptr<uint16_t>(), out.ptr<uint16_t>(), x.numel(), p, seed, offset);
  else run(x.ptr<float>(), out.ptr<float>(), x.numel(), p, seed, offset);
}

}  // namespace ms
