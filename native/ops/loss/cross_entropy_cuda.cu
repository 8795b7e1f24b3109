// cross_entropy_cuda.cu — one warp per row (8 rows per 256-thread block), lanes stride over the C
// classes; partial sums in double combined with shuffles. Memory-bound: one read of the logits
// forward, one read + one write backward.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "../../core/cuda_api.h"
#include "cross_entropy.h"

namespace ms {
namespace {

__device__ __forceinline__ double warp_sum(double v) {
  for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}
__device__ __forceinline__ double warp_max(double v) {
  for (int d = 16; d > 0; d >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, d));
  return v;
}

struct Args {
  int64_t M, C, ignore;
  double eps;
  bool log_input;
};

__global__ void ce_fwd_kernel(const float* __restrict__ z, const int32_t* __restrict__ t, const float* __restrict__ w,
                              float* loss, float* lse_out, float* wrow, Args a) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x / 32) + threadIdx.x / 32; i < a.M; i += warps) {
    const float* zr = z + i * a.C;
    double lse = 0;
    if (!a.log_input) {
      double m = -INFINITY;
      for (int64_t c = lane; c < a.C; c += 32) m = fmax(m, static_cast<double>(zr[c]));
      m = warp_max(m);
      double s = 0;
      if (m != -INFINITY && m != INFINITY)
        for (int64_t c = lane; c < a.C; c += 32) s += exp(zr[c] - m);
      s = warp_sum(s);
      lse = (m == -INFINITY || m == INFINITY) ? m : m + log(s);
    }
    double smooth = 0;
    if (a.eps > 0) {
      for (int64_t c = lane; c < a.C; c += 32) smooth += (w ? w[c] : 1.0) * (lse - zr[c]);
      smooth = warp_sum(smooth);
    }
    if (lane == 0) {
      lse_out[i] = static_cast<float>(lse);
      const int64_t ti = t[i];
      if (ti == a.ignore) {
        loss[i] = 0;
        wrow[i] = 0;
      } else if (ti < 0 || ti >= a.C) {
        loss[i] = NAN;  // bad target: visible; validate gives the exact error
        wrow[i] = 1;
      } else {
        const double wt = w ? w[ti] : 1.0;
        loss[i] = static_cast<float>((1 - a.eps) * wt * (lse - zr[ti]) + a.eps / a.C * smooth);
        wrow[i] = static_cast<float>(wt);
      }
    }
  }
}

__global__ void ce_bwd_kernel(const float* __restrict__ z, const int32_t* __restrict__ t, const float* __restrict__ w,
                              const float* __restrict__ lse, const float* __restrict__ g, float* __restrict__ dz, Args a) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  double W = static_cast<double>(a.C);
  if (w) {
    double s = 0;
    for (int64_t c = lane; c < a.C; c += 32) s += w[c];
    W = warp_sum(s);
  }
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x / 32) + threadIdx.x / 32; i < a.M; i += warps) {
    const int64_t ti = t[i];
    const double gi = g[i];
    float* dr = dz + i * a.C;
    const bool skip = ti == a.ignore || ti < 0 || ti >= a.C || gi == 0;
    const double wt = skip ? 0.0 : (w ? w[ti] : 1.0);
    const double l = lse[i];
    for (int64_t c = lane; c < a.C; c += 32) {
      if (skip) {
        dr[c] = 0;
        continue;
      }
      const double p = a.log_input ? 0.0 : exp(z[i * a.C + c] - l);
      const double wc = w ? w[c] : 1.0;
      dr[c] = static_cast<float>(gi * ((1 - a.eps) * wt * (p - (c == ti)) + a.eps / a.C * (W * p - wc)));
    }
  }
}

unsigned grid_for(int64_t M) { return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((M + 7) / 8, 132 * 16))); }

}  // namespace

void cross_entropy_fwd_cuda(const Tensor& z, const Tensor& t, const float* w, const CrossEntropyArgs& ca, CrossEntropyForward& f) {
  Args a{z.shape[0], z.shape[1], ca.ignore_index, ca.smoothing, ca.log_input};
  ce_fwd_kernel<<<grid_for(a.M), 256, 0, static_cast<cudaStream_t>(cuda::stream(0))>>>(
      z.ptr<float>(), t.ptr<int32_t>(), w, f.loss.ptr<float>(), f.lse.ptr<float>(), f.wrow.ptr<float>(), a);
  cuda::check_launch(ca.op);
}

void cross_entropy_bwd_cuda(const Tensor& z, const Tensor& t, const float* w, const Tensor& lse, const Tensor& g,
                            const CrossEntropyArgs& ca, Tensor& dz) {
  Args a{z.shape[0], z.shape[1], ca.ignore_index, ca.smoothing, ca.log_input};
  ce_bwd_kernel<<<grid_for(a.M), 256, 0, static_cast<cudaStream_t>(cuda::stream(0))>>>(
      z.ptr<float>(), t.ptr<int32_t>(), w, lse.ptr<float>(), g.ptr<float>(), dz.ptr<float>(), a);
  cuda::check_launch(ca.op);
}

}  // namespace ms
