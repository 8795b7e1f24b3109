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
}  // namespace

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
