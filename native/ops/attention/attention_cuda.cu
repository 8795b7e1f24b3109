// attention_cuda.cu — CUDA entry points: picks the kernel family by dtype (bfloat16 -> tensor
// cores; float32 -> exact CUDA-core kernels, attention_f32.cu) and runs the backward's
// preprocessing D = rowsum(dO * O). bfloat16: attention_{fwd,bwd}_bf16_v2.cu, dQ by float atomics
// unless deterministic (then attention_bwd_bf16.cu's separate dQ pass); the backward at Dh > 128,
// which kernel 2 does not cover, runs attention_bwd_bf16.cu (the first-generation backward).
// ptxas -v (sm_90), no dropout: forward 231 / 255 registers at Dh 64 / 128, backward see
// attention_bwd_bf16_v2.cu.
#include "attention_cuda.cuh"
#include "../../core/cuda_api.h"

namespace ms {
namespace {

template <typename T> __device__ __forceinline__ float load_f(const T* p);
template <> __device__ __forceinline__ float load_f<float>(const float* p) { return *p; }
template <> __device__ __forceinline__ float load_f<uint16_t>(const uint16_t* p) { return bf16_to_f32(*p); }

// D_i = sum_d dO_id O_id, one warp per row (rows = B H Lq).
template <typename T>
__global__ void delta_kernel(const T* __restrict__ o, const T* __restrict__ dout, float* __restrict__ D,
                             int64_t rows, int Dh) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * 4 + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float acc = 0.0f;
  for (int d = lane; d < Dh; d += 32) acc += load_f(o + row * Dh + d) * load_f(dout + row * Dh + d);
#pragma unroll
  for (int s = 16; s > 0; s /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, s);
  if (lane == 0) D[row] = acc;
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

void attention_forward_cuda(const AttentionParams& p, DType dtype) {
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  if (dtype == DType::BF16) {
    const bool vec = p.Dh % 8 == 0 && aligned16(p.q) && aligned16(p.k) && aligned16(p.v) && aligned16(p.o);
    attn::forward_bf16_v2(p, vec, s);
  } else {
    attn::forward_f32(p, s);
  }
}

void attention_backward_cuda(const AttentionParams& p, DType dtype) {
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  const int64_t rows = p.B * p.H * p.Lq;
  if (rows > 0) {
    const unsigned blocks = static_cast<unsigned>((rows + 3) / 4);
    const int Dh = static_cast<int>(p.Dh);
    if (dtype == DType::BF16)
      delta_kernel<<<blocks, 128, 0, s>>>(static_cast<const uint16_t*>(p.out), static_cast<const uint16_t*>(p.dout), p.delta, rows, Dh);
    else
      delta_kernel<<<blocks, 128, 0, s>>>(static_cast<const float*>(p.out), static_cast<const float*>(p.dout), p.delta, rows, Dh);
    cuda::check_launch("attention");
  }
  if (dtype == DType::BF16) {
    const bool vec = p.Dh % 8 == 0 && aligned16(p.q) && aligned16(p.k) && aligned16(p.v) && aligned16(p.dout) &&
                     aligned16(p.dq) && aligned16(p.dk) && aligned16(p.dv);
    if (!attn::backward_bf16_v2(p, vec, s)) attn::backward_bf16_dh256(p, vec, s);  // Dh > 128
  } else {
    attn::backward_f32(p, s);
  }
}

}  // namespace ms
