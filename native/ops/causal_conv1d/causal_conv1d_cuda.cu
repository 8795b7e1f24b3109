// causal_conv1d_cuda.cu — causal depthwise conv1d on CUDA, forward and backward.
//
// Memory-bound (W <= 8 FMAs per element): one thread per output element, consecutive threads on
// consecutive steps so loads coalesce; the W-wide window is served by L1. The backward writes
// dpre = dout * silu'(pre) once (f32), then dx gathers it; weight/bias gradients are a per-row
// block reduction followed by a sum over the batch in fixed order (no atomics: deterministic).
#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../selective_scan/scan_math.h"
#include "causal_conv1d.h"

namespace ms {
namespace {

struct ConvParams {
  const void* x;
  const float *w, *bias, *init;
  const int32_t* lengths;
  int64_t batch, dim, len;
  int W;
  bool silu;
};

__device__ __forceinline__ float ldx(const float* p, int64_t i) { return __ldg(p + i); }
__device__ __forceinline__ float ldx(const uint16_t* p, int64_t i) { return bf16_to_f32(__ldg(p + i)); }
__device__ __forceinline__ void stx(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void stx(uint16_t* p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

__device__ __forceinline__ int64_t row_len(const ConvParams& p, int64_t row) {
  if (!p.lengths) return p.len;
  return min64(max64(p.lengths[row / p.dim], 0), p.len);
}

// Input at time t of a row (t >= -(W-1)): x_t, or the initial state before t = 0.
template <typename T>
__device__ __forceinline__ float input_at(const ConvParams& p, int64_t row, int64_t t) {
  if (t >= 0) return ldx(static_cast<const T*>(p.x), row * p.len + t);
  return p.init ? p.init[row * (p.W - 1) + (p.W - 1) + t] : 0.f;
}

template <typename T>
__device__ __forceinline__ float pre_at(const ConvParams& p, int64_t row, int64_t t) {
  const int64_t d = row % p.dim;
  float s = p.bias ? p.bias[d] : 0.f;
  for (int k = 0; k < p.W; ++k) s = fmaf(p.w[d * p.W + k], input_at<T>(p, row, t - (p.W - 1) + k), s);
  return s;
}

template <typename T>
__global__ void conv_fwd_kernel(ConvParams p, T* out) {
  const int64_t n = p.batch * p.dim * p.len;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / p.len, t = i % p.len;
    float v = 0.f;
    if (t < row_len(p, row)) {
      v = pre_at<T>(p, row, t);
      if (p.silu) v = scan_silu(v);
    }
    stx(out, i, v);
  }
}

// final (B, D, W-1): the W-1 inputs before the row's end.
template <typename T>
__global__ void conv_final_kernel(ConvParams p, float* fin) {
  const int64_t n = p.batch * p.dim * (p.W - 1);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / (p.W - 1), j = i % (p.W - 1);
    fin[i] = input_at<T>(p, row, row_len(p, row) - (p.W - 1) + j);
  }
}

template <typename T>
__global__ void conv_dpre_kernel(ConvParams p, const T* dout, float* dpre) {
  const int64_t n = p.batch * p.dim * p.len;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / p.len, t = i % p.len;
    float v = 0.f;
    if (dout && t < row_len(p, row)) {
      v = ldx(dout, i);
      if (p.silu) v *= scan_dsilu(pre_at<T>(p, row, t));
    }
    dpre[i] = v;
  }
}

// Gradient of the input at time s >= -(W-1) of a row: the taps that read it plus the final state.
__device__ __forceinline__ float dinput(const ConvParams& p, const float* dpre, const float* dfin, int64_t row,
                                        int64_t len, int64_t s) {
  const int64_t d = row % p.dim;
  float acc = 0.f;
  for (int k = 0; k < p.W; ++k) {
    const int64_t t = s + (p.W - 1) - k;
    if (t >= 0 && t < len) acc = fmaf(p.w[d * p.W + k], dpre[row * p.len + t], acc);
  }
  const int64_t j = s - len + (p.W - 1);
  if (dfin && j >= 0 && j < p.W - 1) acc += dfin[row * (p.W - 1) + j];
  return acc;
}

template <typename T>
__global__ void conv_dx_kernel(ConvParams p, const float* dpre, const float* dfin, T* dx, float* dinit) {
  const int64_t n = p.batch * p.dim * p.len;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / p.len, s = i % p.len, len = row_len(p, row);
    stx(dx, i, s < len ? dinput(p, dpre, dfin, row, len, s) : 0.f);
    if (dinit && s == 0)
      for (int j = 0; j < p.W - 1; ++j) dinit[row * (p.W - 1) + j] = dinput(p, dpre, dfin, row, len, j - (p.W - 1));
  }
}

// rows[row][k] = sum_t dpre_t x_{t-(W-1)+k} (k < W), rows[row][W] = sum_t dpre_t. One block per row.
template <typename T>
__global__ void conv_wgrad_rows_kernel(ConvParams p, const float* dpre, float* rows) {
  __shared__ float red[256];
  const int64_t row = blockIdx.x;
  const int64_t len = row_len(p, row);
  float acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t t = threadIdx.x; t < len; t += blockDim.x) {
    const float g = dpre[row * p.len + t];
    for (int k = 0; k < p.W; ++k) acc[k] = fmaf(g, input_at<T>(p, row, t - (p.W - 1) + k), acc[k]);
    acc[p.W] += g;
  }
  for (int k = 0; k <= p.W; ++k) {
    red[threadIdx.x] = acc[k];
    __syncthreads();
    for (int off = blockDim.x / 2; off > 0; off /= 2) {
      if (threadIdx.x < off) red[threadIdx.x] += red[threadIdx.x + off];
      __syncthreads();
    }
    if (threadIdx.x == 0) rows[row * (p.W + 1) + k] = red[0];
    __syncthreads();
  }
}

// dweight (D, W) and dbias (D) from the per-row sums, in batch order.
__global__ void conv_wgrad_sum_kernel(const float* rows, int64_t batch, int64_t dim, int W, float* dw, float* db) {
  const int64_t n = dim * (W + 1);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int64_t b = 0; b < batch; ++b) s += rows[b * n + i];
    const int64_t d = i / (W + 1), k = i % (W + 1);
    if (k < W) dw[d * W + k] = s;
    else if (db) db[d] = s;
  }
}

unsigned grid_for(int64_t n) { return static_cast<unsigned>(max64(1, min64((n + 255) / 256, 132 * 16))); }

ConvParams params_of(const ConvInputs& in) {
  ConvParams p;
  p.x = in.x.data();
  p.w = in.weight.ptr<float>();
  p.bias = in.has_bias ? in.bias.ptr<float>() : nullptr;
  p.init = in.has_init ? in.init.ptr<float>() : nullptr;
  p.lengths = in.has_lengths ? in.lengths.ptr<int32_t>() : nullptr;
  p.batch = in.x.shape[0];
  p.dim = in.x.shape[1];
  p.len = in.x.shape[2];
  p.W = static_cast<int>(in.weight.shape[1]);
  p.silu = in.silu;
  return p;
}

}  // namespace

void causal_conv1d_fwd_cuda(const ConvInputs& in, ConvForward& f) {
  const ConvParams p = params_of(in);
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  const int64_t n = in.x.numel();
  const bool bf16 = in.x.dtype == DType::BF16;
  if (n > 0) {
    if (bf16) conv_fwd_kernel<uint16_t><<<grid_for(n), 256, 0, s>>>(p, f.out.ptr<uint16_t>());
    else conv_fwd_kernel<float><<<grid_for(n), 256, 0, s>>>(p, f.out.ptr<float>());
  }
  const int64_t nf = p.batch * p.dim * (p.W - 1);
  if (f.has_final && nf > 0) {
    if (bf16) conv_final_kernel<uint16_t><<<grid_for(nf), 256, 0, s>>>(p, f.final_state.ptr<float>());
    else conv_final_kernel<float><<<grid_for(nf), 256, 0, s>>>(p, f.final_state.ptr<float>());
  }
  cuda::check_launch("causalConv1d");
}

void causal_conv1d_bwd_cuda(const ConvInputs& in, const Tensor* dout, const Tensor* dfinal, ConvGrads& g,
                            const std::shared_ptr<Accounting>& acct) {
  const char* op = "causalConv1d.backward";
  const ConvParams p = params_of(in);
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  const int64_t n = in.x.numel(), rows = p.batch * p.dim;
  const bool bf16 = in.x.dtype == DType::BF16;
  Tensor dpre = empty(op, in.x.shape, DType::F32, Device::CUDA, acct);
  Tensor wrows = empty(op, {rows, p.W + 1}, DType::F32, Device::CUDA, acct);
  const float* dfin = dfinal ? dfinal->ptr<float>() : nullptr;
  float* dinit = in.has_init ? g.dinit.ptr<float>() : nullptr;
  if (n > 0) {
    if (bf16) {
      conv_dpre_kernel<uint16_t><<<grid_for(n), 256, 0, s>>>(p, dout ? dout->ptr<uint16_t>() : nullptr, dpre.ptr<float>());
      conv_dx_kernel<uint16_t><<<grid_for(n), 256, 0, s>>>(p, dpre.ptr<float>(), dfin, g.dx.ptr<uint16_t>(), dinit);
      conv_wgrad_rows_kernel<uint16_t><<<static_cast<unsigned>(rows), 256, 0, s>>>(p, dpre.ptr<float>(), wrows.ptr<float>());
    } else {
      conv_dpre_kernel<float><<<grid_for(n), 256, 0, s>>>(p, dout ? dout->ptr<float>() : nullptr, dpre.ptr<float>());
      conv_dx_kernel<float><<<grid_for(n), 256, 0, s>>>(p, dpre.ptr<float>(), dfin, g.dx.ptr<float>(), dinit);
      conv_wgrad_rows_kernel<float><<<static_cast<unsigned>(rows), 256, 0, s>>>(p, dpre.ptr<float>(), wrows.ptr<float>());
    }
  } else {
    if (wrows.numel() > 0) cudaMemsetAsync(wrows.data(), 0, static_cast<size_t>(wrows.nbytes()), s);
    // L = 0: the final state is the initial state, so its gradient passes straight through.
    if (dinit) {
      if (dfin) cudaMemcpyAsync(dinit, dfin, static_cast<size_t>(g.dinit.nbytes()), cudaMemcpyDeviceToDevice, s);
      else cudaMemsetAsync(dinit, 0, static_cast<size_t>(g.dinit.nbytes()), s);
    }
  }
  if (p.dim > 0)
    conv_wgrad_sum_kernel<<<grid_for(p.dim * (p.W + 1)), 256, 0, s>>>(wrows.ptr<float>(), p.batch, p.dim, p.W,
                                                                      g.dweight.ptr<float>(),
                                                                      in.has_bias ? g.dbias.ptr<float>() : nullptr);
  cuda::check_launch(op);
}

}  // namespace ms
