// index_cuda.cu — gather / scatter-add / cumsum / one-hot on the GPU.
//
// gather and one-hot: one thread per output element. scatter-add: one thread per (o, k) column
// summing its j range in order (no float atomics, so bitwise reproducible); when there are few
// columns and a long j range (embedding backward: 1 x D columns, N tokens) the j range is split
// into chunks with float32 partial sums in a scratch buffer, added in chunk order by a second
// kernel. cumsum: one thread per column with a double accumulator.
#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "index.h"

namespace ms {
namespace {

cudaStream_t stream() { return static_cast<cudaStream_t>(cuda::stream(0)); }
unsigned blocks(int64_t n, int threads = 256) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((n + threads - 1) / threads, 65535LL * 8)));
}

__device__ __forceinline__ float ldf(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ldf(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
__device__ __forceinline__ void stf(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void stf(uint16_t* p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

struct Geo {  // IndexSpec without the strings, passed by value to kernels
  int64_t O, Nx, Ni, I, s0, s1, s2, skip;
};
Geo geo(const IndexSpec& s) { return {s.O, s.Nx, s.Ni, s.I, s.s0, s.s1, s.s2, s.skip}; }

template <typename T>
__global__ void gather_kernel(const T* __restrict__ x, const int32_t* __restrict__ idx, T* __restrict__ out, Geo g) {
  const int64_t n = g.O * g.Ni * g.I;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = e % g.I, j = (e / g.I) % g.Ni, o = e / (g.I * g.Ni);
    const int64_t v = idx[o * g.s0 + j * g.s1 + k * g.s2];
    out[e] = (v >= 0 && v < g.Nx) ? x[(o * g.Nx + v) * g.I + k] : T(0);
  }
}

// Column (o, k) of chunk c sums src rows j in [c * len, (c + 1) * len) into acc + c * stride.
template <typename T, typename A>
__global__ void scatter_kernel(const int32_t* __restrict__ idx, const T* __restrict__ src, A* acc, Geo g,
                               int64_t chunks, int64_t len, int64_t stride) {
  const int64_t cols = g.O * g.I;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < cols * chunks;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = t / cols, col = t % cols, o = col / g.I, k = col % g.I;
    A* a = acc + c * stride;
    const int64_t j1 = min(g.Ni, (c + 1) * len);
    for (int64_t j = c * len; j < j1; ++j) {
      const int64_t v = idx[o * g.s0 + j * g.s1 + k * g.s2];
      if (v < 0 || v >= g.Nx || v == g.skip) continue;
      const int64_t at = (o * g.Nx + v) * g.I + k;
      stf(a, at, ldf(a, at) + ldf(src, (o * g.Ni + j) * g.I + k));
    }
  }
}

// out[e] += sum_c part[c][e], c in order.
template <typename T>
__global__ void add_partials_kernel(T* out, const float* __restrict__ part, int64_t n, int64_t chunks) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = ldf(out, e);
    for (int64_t c = 0; c < chunks; ++c) s += part[c * n + e];
    stf(out, e, s);
  }
}

template <typename T>
__global__ void cumsum_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t O, int64_t N, int64_t I, bool reverse) {
  for (int64_t col = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; col < O * I;
       col += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = col / I, k = col % I;
    double acc = 0;
    for (int64_t jj = 0; jj < N; ++jj) {
      const int64_t at = (o * N + (reverse ? N - 1 - jj : jj)) * I + k;
      acc += ldf(x, at);
      stf(out, at, static_cast<float>(acc));
    }
  }
}

__global__ void cumsum_int_kernel(const int32_t* __restrict__ x, int32_t* __restrict__ out, int64_t O, int64_t N, int64_t I,
                                  bool reverse) {
  for (int64_t col = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; col < O * I;
       col += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = col / I, k = col % I;
    uint32_t acc = 0;  // wraps like int32
    for (int64_t jj = 0; jj < N; ++jj) {
      const int64_t at = (o * N + (reverse ? N - 1 - jj : jj)) * I + k;
      acc += static_cast<uint32_t>(x[at]);
      out[at] = static_cast<int32_t>(acc);
    }
  }
}

__global__ void one_hot_kernel(const int32_t* __restrict__ labels, float* __restrict__ out, int64_t n, int64_t C) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n * C;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[e] = labels[e / C] == e % C ? 1.0f : 0.0f;
}

__global__ void first_bad_kernel(const int32_t* __restrict__ idx, int64_t n, int64_t size, int64_t skip,
                                 unsigned long long* first) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t v = idx[i];
    if ((v < 0 || v >= size) && v != skip) atomicMin(first, static_cast<unsigned long long>(i));
  }
}

}  // namespace

void gather_dim_cuda(const Tensor& x, const Tensor& idx, const IndexSpec& s, Tensor& out) {
  if (dtype_size(x.dtype) == 2)
    gather_kernel<uint16_t><<<blocks(out.numel()), 256, 0, stream()>>>(x.ptr<uint16_t>(), idx.ptr<int32_t>(), out.ptr<uint16_t>(), geo(s));
  else
    gather_kernel<uint32_t><<<blocks(out.numel()), 256, 0, stream()>>>(x.ptr<uint32_t>(), idx.ptr<int32_t>(), out.ptr<uint32_t>(), geo(s));
  cuda::check_launch(s.op.c_str());
}

void scatter_add_dim_cuda(const Tensor& idx, const Tensor& src, const IndexSpec& s, Tensor& out,
                          const std::shared_ptr<Accounting>& acct) {
  const Geo g = geo(s);
  const int64_t cols = s.O * s.I, n = out.numel();
  // Split j when there are fewer than ~64K columns to keep the GPU busy, at >= 256 rows per chunk,
  // with the float32 scratch (chunks x out) capped at 64 Mi elements (256 MiB).
  int64_t chunks = 1;
  if (cols < 65536 && s.Ni > 256)
    chunks = std::min<int64_t>({(s.Ni + 255) / 256, (65536 + cols - 1) / cols, 64,
                                std::max<int64_t>(1, (int64_t(1) << 26) / std::max<int64_t>(n, 1))});
  const bool direct = chunks == 1 && src.dtype == DType::F32;
  const int64_t len = (s.Ni + chunks - 1) / chunks;
  if (direct) {
    scatter_kernel<float, float><<<blocks(cols), 256, 0, stream()>>>(idx.ptr<int32_t>(), src.ptr<float>(), out.ptr<float>(), g, 1, len, 0);
  } else {
    Tensor part = empty(s.op.c_str(), {chunks, n}, DType::F32, out.device, acct);
    cudaMemsetAsync(part.data(), 0, static_cast<size_t>(part.nbytes()), stream());
    if (src.dtype == DType::F32) {
      scatter_kernel<float, float><<<blocks(cols * chunks), 256, 0, stream()>>>(idx.ptr<int32_t>(), src.ptr<float>(), part.ptr<float>(), g, chunks, len, n);
      add_partials_kernel<float><<<blocks(n), 256, 0, stream()>>>(out.ptr<float>(), part.ptr<float>(), n, chunks);
    } else {
      scatter_kernel<uint16_t, float><<<blocks(cols * chunks), 256, 0, stream()>>>(idx.ptr<int32_t>(), src.ptr<uint16_t>(), part.ptr<float>(), g, chunks, len, n);
      add_partials_kernel<uint16_t><<<blocks(n), 256, 0, stream()>>>(out.ptr<uint16_t>(), part.ptr<float>(), n, chunks);
    }
  }
  cuda::check_launch(s.op.c_str());
}

void cumsum_dim_cuda(const Tensor& x, int64_t O, int64_t N, int64_t I, bool reverse, Tensor& out) {
  const unsigned b = blocks(O * I, 128);
  switch (x.dtype) {
    case DType::F32: cumsum_kernel<float><<<b, 128, 0, stream()>>>(x.ptr<float>(), out.ptr<float>(), O, N, I, reverse); break;
    case DType::BF16: cumsum_kernel<uint16_t><<<b, 128, 0, stream()>>>(x.ptr<uint16_t>(), out.ptr<uint16_t>(), O, N, I, reverse); break;
    case DType::I32: cumsum_int_kernel<<<b, 128, 0, stream()>>>(x.ptr<int32_t>(), out.ptr<int32_t>(), O, N, I, reverse); break;
  }
  cuda::check_launch("cumsum");
}

void one_hot_cuda(const Tensor& labels, int64_t C, Tensor& out) {
  one_hot_kernel<<<blocks(out.numel()), 256, 0, stream()>>>(labels.ptr<int32_t>(), out.ptr<float>(), labels.numel(), C);
  cuda::check_launch("oneHot");
}

bool first_bad_index_cuda(const Tensor& idx, int64_t size, int64_t skip, int32_t* value) {
  const int64_t n = idx.numel();
  if (n == 0) return false;
  auto* first = static_cast<unsigned long long*>(cuda::alloc("index check", sizeof(unsigned long long), 0));
  cudaMemsetAsync(first, 0xff, sizeof(unsigned long long), stream());
  first_bad_kernel<<<blocks(n), 256, 0, stream()>>>(idx.ptr<int32_t>(), n, size, skip, first);
  unsigned long long at = 0;
  cuda::memcpy_d2h(&at, first, sizeof(at), 0);
  cuda::free(first, sizeof(unsigned long long), 0);
  cuda::check_launch("index check");
  if (at >= static_cast<unsigned long long>(n)) return false;
  cuda::memcpy_d2h(value, idx.ptr<int32_t>() + at, sizeof(int32_t), 0);
  return true;
}

}  // namespace ms
