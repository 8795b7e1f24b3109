#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "../../core/philox.h"
#include "creation.h"

namespace ms {
namespace {

template <typename T> __device__ __forceinline__ void put(T* p, double v) { *p = static_cast<T>(v); }
template <> __device__ __forceinline__ void put<uint16_t>(uint16_t* p, double v) {
  *p = f32_to_bf16(static_cast<float>(v));
}

// kind: 0 fill, 1 arange, 2 uniform, 3 normal
template <typename T>
__global__ void create_kernel(T* out, int64_t n, int kind, double a, double b, uint64_t seed, uint64_t offset) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    double v;
    if (kind == 0) v = a;
    else if (kind == 1) v = a + static_cast<double>(i) * b;
    else if (kind == 2) v = philox_uniform(seed, offset, i);
    else v = philox_normal(seed, offset, i);
    put<T>(out + i, v);
  }
}

void launch(Tensor& out, int kind, double a, double b, uint64_t seed, uint64_t offset) {
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  const int64_t n = out.numel();
  int64_t blocks = std::min<int64_t>((n + 255) / 256, 132 * 16);
  switch (out.dtype) {
    case DType::F32: create_kernel<float><<<blocks, 256, 0, s>>>(out.ptr<float>(), n, kind, a, b, seed, offset); break;
    case DType::BF16: create_kernel<uint16_t><<<blocks, 256, 0, s>>>(out.ptr<uint16_t>(), n, kind, a, b, seed, offset); break;
    case DType::I32: create_kernel<int32_t><<<blocks, 256, 0, s>>>(out.ptr<int32_t>(), n, kind, a, b, seed, offset); break;
  }
  cuda::check_launch("create");
}

}  // namespace

void fill_cuda(Tensor& out, double value) { launch(out, 0, value, 0, 0, 0); }
void arange_cuda(Tensor& out, double start, double step) { launch(out, 1, start, step, 0, 0); }
void random_cuda(Tensor& out, RandKind kind, uint64_t seed, uint64_t offset) {
  launch(out, kind == RandKind::Uniform ? 2 : 3, 0, 0, seed, offset);
}

}  // namespace ms
