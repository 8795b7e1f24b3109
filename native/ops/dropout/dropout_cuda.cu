// dropout_cuda.cu — one thread per Philox block of 4 elements (memory-bound: 8 B per element).
#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "../../core/philox.h"
#include "dropout.h"

namespace ms {
namespace {

__device__ __forceinline__ float ldf(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float ldf(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
__device__ __forceinline__ void stf(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void stf(uint16_t* p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

template <typename T>
__global__ void dropout_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t n, float p, float inv_keep,
                               uint64_t seed, uint64_t offset) {
  const int64_t nblk = (n + 3) / 4;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < nblk;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const Philox4 r = philox4x32_10(offset + static_cast<uint64_t>(b), seed);
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const int64_t i = b * 4 + l;
      if (i >= n) break;
      const float u = static_cast<float>(r.v[l] >> 8) * (1.0f / 16777216.0f);
      stf(out, i, ldf(x, i) * dropout_scale(u, p, inv_keep));
    }
  }
}

}  // namespace

void dropout_apply_cuda(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& out) {
  const int64_t n = x.numel(), nblk = (n + 3) / 4;
  const unsigned grid = static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((nblk + 255) / 256, 132 * 32)));
  const float inv_keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  if (x.dtype == DType::BF16) dropout_kernel<uint16_t><<<grid, 256, 0, s>>>(x.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p, inv_keep, seed, offset);
  else dropout_kernel<float><<<grid, 256, 0, s>>>(x.ptr<float>(), out.ptr<float>(), n, p, inv_keep, seed, offset);
  cuda::check_launch("dropout");
}

}  // namespace ms
