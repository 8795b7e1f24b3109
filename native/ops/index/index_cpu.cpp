// index_cpu.cpp — the readable reference for gather / scatter-add / cumsum / one-hot.
//
// Loops run over (o, block of 64 k) tasks with j outermost inside a task, so a task streams
// whole rows of I contiguous values (a 1-D index over (1, V, D) embedding rows copies D floats
// per j) instead of striding through one column. Indices were checked by index.cpp.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../../core/thread_pool.h"
#include "index.h"

namespace ms {
namespace {

constexpr int64_t kBlock = 64;  // k values per task: 256 B of float32, four cache lines

inline float ldf(const float* p, int64_t i) { return p[i]; }
inline float ldf(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }

// Runs fn(o, k0, k1) over every (o, k-block) in parallel.
template <typename F>
void for_blocks(int64_t O, int64_t I, int64_t work_per_block, F fn) {
  const int64_t nkb = (I + kBlock - 1) / kBlock;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(work_per_block, 1));
  parallel_for(O * nkb, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / nkb, k0 = (t % nkb) * kBlock;
      fn(o, k0, std::min(I, k0 + kBlock));
    }
  });
}

template <typename T>
void gather_run(const Tensor& x, const Tensor& idx, const IndexSpec& s, Tensor& out) {
  const T* px = x.ptr<T>();
  const int32_t* pi = idx.ptr<int32_t>();
  T* po = out.ptr<T>();
  const int64_t Nx = s.Nx, Ni = s.Ni, I = s.I;
  for_blocks(s.O, I, Ni * kBlock, [&](int64_t o, int64_t k0, int64_t k1) {
    for (int64_t j = 0; j < Ni; ++j) {
      const int32_t* irow = pi + o * s.s0 + j * s.s1;
      T* orow = po + (o * Ni + j) * I;
      if (s.s2 == 0) {  // one index for the whole row: a copy
        std::memcpy(orow + k0, px + (o * Nx + irow[0]) * I + k0, (k1 - k0) * sizeof(T));
      } else {
        for (int64_t k = k0; k < k1; ++k) orow[k] = px[(o * Nx + irow[k * s.s2]) * I + k];
      }
    }
  });
}

// out[o, idx, k] += src[o, j, k] in float32; j ascending, so the sum order is fixed.
template <typename T>
void scatter_run(const int32_t* pi, const T* ps, const IndexSpec& s, float* acc) {
  const int64_t Nx = s.Nx, Ni = s.Ni, I = s.I;
  for_blocks(s.O, I, Ni * kBlock, [&](int64_t o, int64_t k0, int64_t k1) {
    for (int64_t j = 0; j < Ni; ++j) {
      const int32_t* irow = pi + o * s.s0 + j * s.s1;
      const int64_t srow = (o * Ni + j) * I;
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t v = irow[k * s.s2];
        if (v == s.skip) continue;
        acc[(o * Nx + v) * I + k] += ldf(ps, srow + k);
      }
    }
  });
}

template <typename T>
void cumsum_run(const Tensor& x, int64_t O, int64_t N, int64_t I, bool reverse, Tensor& out) {
  const T* px = x.ptr<T>();
  T* po = out.ptr<T>();
  for_blocks(O, I, N * kBlock, [&](int64_t o, int64_t k0, int64_t k1) {
    double acc[kBlock] = {0};
    int64_t iacc[kBlock] = {0};
    for (int64_t jj = 0; jj < N; ++jj) {
      const int64_t j = reverse ? N - 1 - jj : jj;
      const int64_t row = (o * N + j) * I;
      for (int64_t k = k0; k < k1; ++k) {
        if constexpr (std::is_same<T, int32_t>::value) {
          iacc[k - k0] += px[row + k];
          po[row + k] = static_cast<int32_t>(static_cast<uint32_t>(iacc[k - k0]));  // wraps as int32
        } else if constexpr (std::is_same<T, uint16_t>::value) {
          acc[k - k0] += bf16_to_f32(px[row + k]);
          po[row + k] = f32_to_bf16(static_cast<float>(acc[k - k0]));
        } else {
          acc[k - k0] += px[row + k];
          po[row + k] = static_cast<float>(acc[k - k0]);
        }
      }
    }
  });
}

}  // namespace

void gather_dim_cpu(const Tensor& x, const Tensor& idx, const IndexSpec& s, Tensor& out) {
  if (dtype_size(x.dtype) == 2) gather_run<uint16_t>(x, idx, s, out);
  else gather_run<uint32_t>(x, idx, s, out);
}

void scatter_add_dim_cpu(const Tensor& idx, const Tensor& src, const IndexSpec& s, Tensor& out) {
  const int32_t* pi = idx.ptr<int32_t>();
  if (src.dtype == DType::F32) {
    scatter_run(pi, src.ptr<float>(), s, out.ptr<float>());
    return;
  }
  // bfloat16: accumulate in a float32 copy (repeated bf16 adds would lose 8 bits per add).
  const int64_t n = out.numel();
  std::vector<float> acc(n);
  uint16_t* po = out.ptr<uint16_t>();
  for (int64_t i = 0; i < n; ++i) acc[i] = bf16_to_f32(po[i]);
  scatter_run(pi, src.ptr<uint16_t>(), s, acc.data());
  for (int64_t i = 0; i < n; ++i) po[i] = f32_to_bf16(acc[i]);
}

void cumsum_dim_cpu(const Tensor& x, int64_t O, int64_t N, int64_t I, bool reverse, Tensor& out) {
  switch (x.dtype) {
    case DType::F32: cumsum_run<float>(x, O, N, I, reverse, out); break;
    case DType::BF16: cumsum_run<uint16_t>(x, O, N, I, reverse, out); break;
    case DType::I32: cumsum_run<int32_t>(x, O, N, I, reverse, out); break;
  }
}

void one_hot_cpu(const Tensor& labels, int64_t C, Tensor& out) {
  const int32_t* pl = labels.ptr<int32_t>();
  float* po = out.ptr<float>();
  parallel_for(labels.numel(), std::max<int64_t>(1, 32768 / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    std::memset(po + r0 * C, 0, (r1 - r0) * C * sizeof(float));
    for (int64_t r = r0; r < r1; ++r) po[r * C + pl[r]] = 1.0f;
  });
}

}  // namespace ms
