#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "copy.h"

namespace ms {
namespace {
constexpr int kDims = 16;
struct Layout {
  int ndim;
  int64_t shape[kDims], strides[kDims];
};
template <typename T>
__global__ void strided_copy_kernel(const T* __restrict__ src, T* __restrict__ dst, int64_t n, Layout l) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int d = l.ndim - 1; d >= 0; --d) {
      off += (rem % l.shape[d]) * l.strides[d];
      rem /= l.shape[d];
    }
    dst[i] = src[off];
  }
}
template <typename T>
__global__ void copy_into_kernel(T* __restrict__ dst, const T* __restrict__ src, int64_t n, Layout d, Layout s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, od = 0, os = 0;
    for (int k = d.ndim - 1; k >= 0; --k) {
      int64_t idx = rem % d.shape[k];
      rem /= d.shape[k];
      od += idx * d.strides[k];
      os += idx * s.strides[k];
    }
    dst[od] = src[os];
  }
}
}  // namespace

void copy_into_cuda(const Tensor& dst, const Tensor& src) {
  Layout d, s;
  d.ndim = s.ndim = static_cast<int>(dst.ndim());
  for (int k = 0; k < d.ndim; ++k) {
    d.shape[k] = dst.shape[k];
    d.strides[k] = dst.strides[k];
    int i = k - (d.ndim - static_cast<int>(src.ndim()));
    s.shape[k] = d.shape[k];
    s.strides[k] = (i >= 0 && src.shape[i] != 1) ? src.strides[i] : 0;
  }
  const int64_t n = dst.numel();
  int64_t blocks = std::min<int64_t>((n + 255) / 256, 132 * 16);
  cudaStream_t st = static_cast<cudaStream_t>(cuda::stream(0));
  if (dtype_size(dst.dtype) == 2)
    copy_into_kernel<uint16_t><<<blocks, 256, 0, st>>>(dst.ptr<uint16_t>(), src.ptr<uint16_t>(), n, d, s);
  else
    copy_into_kernel<uint32_t><<<blocks, 256, 0, st>>>(dst.ptr<uint32_t>(), src.ptr<uint32_t>(), n, d, s);
  cuda::check_launch("copy");
}

void strided_copy_cuda(const Tensor& x, Tensor& out) {
  Layout l;
  l.ndim = static_cast<int>(x.ndim());
  for (int d = 0; d < l.ndim; ++d) {
    l.shape[d] = x.shape[d];
    l.strides[d] = x.strides[d];
  }
  const int64_t n = x.numel();
  int64_t blocks = std::min<int64_t>((n + 255) / 256, 132 * 16);
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  if (dtype_size(x.dtype) == 2)
    strided_copy_kernel<uint16_t><<<blocks, 256, 0, s>>>(x.ptr<uint16_t>(), out.ptr<uint16_t>(), n, l);
  else
    strided_copy_kernel<uint32_t><<<blocks, 256, 0, s>>>(x.ptr<uint32_t>(), out.ptr<uint32_t>(), n, l);
  cuda::check_launch("contiguous");
}

}  // namespace ms
