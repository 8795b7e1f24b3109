#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "cast.h"
#include "cast_convert.h"

namespace ms {
namespace {
template <typename S, typename D>
__global__ void convert_kernel(const S* __restrict__ s, D* __restrict__ d, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    store_from<D>(d + i, load_as_float<S>(s + i));
}
template <typename S, typename D>
void launch(const Tensor& src, Tensor& dst) {
  cudaStream_t st = static_cast<cudaStream_t>(cuda::stream(0));
  int64_t n = src.numel();
  int64_t blocks = std::min<int64_t>((n + 255) / 256, 132 * 16);
  convert_kernel<S, D><<<blocks, 256, 0, st>>>(src.ptr<S>(), dst.ptr<D>(), n);
  cuda::check_launch("to");
}
template <typename S>
void launch_to(const Tensor& src, Tensor& dst) {
  switch (dst.dtype) {
    case DType::F32: launch<S, float>(src, dst); break;
    case DType::BF16: launch<S, uint16_t>(src, dst); break;
    case DType::I32: launch<S, int32_t>(src, dst); break;
  }
}
}  // namespace

void convert_cuda(const Tensor& src, Tensor& dst) {
  switch (src.dtype) {
    case DType::F32: launch_to<float>(src, dst); break;
    case DType::BF16: launch_to<uint16_t>(src, dst); break;
    case DType::I32: launch_to<int32_t>(src, dst); break;
  }
}

}  // namespace ms
