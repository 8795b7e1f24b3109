// norm_cuda.cu — the fused norms on the GPU. float32 or bfloat16 data, float32 statistics,
// double per-thread sums (memory-bound kernels: the FP64 adds cost nothing measurable on H100).
//
//   rows_fwd / rows_bwd_dx  one statistic row (n, g) of M elements per warp (M <= 1024) or per
//                           256-thread block; two reads of x (the second from L1/L2), one write
//   chan_partial + finish   per-channel sums over (n, s): the parameter grads, and batch-norm's
//                           statistics. The (n, s) range is cut into chunks so that C * chunks
//                           blocks fill the GPU (batch norm with C = 64 would use 64 of 132 SMs);
//                           chunk partials are summed in a fixed order: results are deterministic.
//   batch_apply / batch_dx  elementwise with per-channel constants
#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "norm.h"

namespace ms {
namespace {

template <typename T> __device__ __forceinline__ float ldf(const T* p, int64_t i) { return p[i]; }
template <> __device__ __forceinline__ float ldf<uint16_t>(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
template <typename T> __device__ __forceinline__ void stf(T* p, int64_t i, float v) { p[i] = v; }
template <> __device__ __forceinline__ void stf<uint16_t>(uint16_t* p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

cudaStream_t stream() { return static_cast<cudaStream_t>(cuda::stream(0)); }

struct RowGeom {
  int64_t rows, M, S, G, Cg;
  float eps;
  bool rms;
};

// Sums a and b over the row group (tpr = 32: one warp; 256: the block); every thread gets the sums.
__device__ __forceinline__ void group_sum2(double& a, double& b, int tpr) {
  for (int d = 16; d > 0; d >>= 1) {
    a += __shfl_xor_sync(0xffffffffu, a, d);
    b += __shfl_xor_sync(0xffffffffu, b, d);
  }
  if (tpr == 32) return;
  __shared__ double sa[8], sb[8];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) { sa[warp] = a; sb[warp] = b; }
  __syncthreads();
  a = 0, b = 0;
  for (int w = 0; w < 8; ++w) { a += sa[w]; b += sb[w]; }
  __syncthreads();  // sa/sb are reused by the next row
}

template <typename T>
__global__ void rows_fwd_kernel(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b,
                                T* __restrict__ y, float* mean, float* rstd, RowGeom g, int tpr) {
  const int rpb = blockDim.x / tpr, t = threadIdx.x % tpr;
  for (int64_t r0 = static_cast<int64_t>(blockIdx.x) * rpb; r0 < g.rows; r0 += static_cast<int64_t>(gridDim.x) * rpb) {
    const int64_t r = r0 + threadIdx.x / tpr;  // rows past the end still join the reductions
    const bool live = r < g.rows;
    const T* xr = x + (live ? r : 0) * g.M;
    double s = 0, ss = 0;
    for (int64_t j = t; live && j < g.M; j += tpr) {
      const double v = ldf(xr, j);
      s += v;
      ss += v * v;
    }
    group_sum2(s, ss, tpr);
    // One pass of sum and sum of squares in double: cancellation costs |mean|^2 / var * 1e-16,
    // negligible next to float32 data.
    const double mu = g.rms ? 0.0 : s / g.M;
    const double var = fmax(ss / g.M - mu * mu, 0.0);
    const float m = static_cast<float>(mu), rs = static_cast<float>(rsqrt(var + g.eps));
    if (live && t == 0) { mean[r] = m; rstd[r] = rs; }
    const int64_t c0 = (live ? r % g.G : 0) * g.Cg;
    for (int64_t j = t; live && j < g.M; j += tpr) {
      const int64_t c = g.S == 1 ? c0 + j : c0 + j / g.S;  // a 64-bit divide costs ~40 instructions
      float o = (ldf(xr, j) - m) * rs;
      if (w) o *= w[c];
      if (b) o += b[c];
      stf(y + r * g.M, j, o);
    }
  }
}

template <typename T>
__global__ void rows_bwd_dx_kernel(const T* __restrict__ x, const T* __restrict__ dy, const float* __restrict__ w,
                                   const float* __restrict__ mean, const float* __restrict__ rstd, T* __restrict__ dx,
                                   RowGeom g, int tpr) {
  const int rpb = blockDim.x / tpr, t = threadIdx.x % tpr;
  for (int64_t r0 = static_cast<int64_t>(blockIdx.x) * rpb; r0 < g.rows; r0 += static_cast<int64_t>(gridDim.x) * rpb) {
    const int64_t r = r0 + threadIdx.x / tpr;
    const bool live = r < g.rows;
    const int64_t o = (live ? r : 0) * g.M, c0 = (live ? r % g.G : 0) * g.Cg;
    const float m = live ? mean[r] : 0.f, rs = live ? rstd[r] : 0.f;
    double a = 0, bb = 0;  // sum dxhat, sum dxhat * xhat
    for (int64_t j = t; live && j < g.M; j += tpr) {
      const float gv = w ? ldf(dy, o + j) * w[g.S == 1 ? c0 + j : c0 + j / g.S] : ldf(dy, o + j);
      a += gv;
      bb += gv * ((ldf(x, o + j) - m) * rs);
    }
    group_sum2(a, bb, tpr);
    const float am = g.rms ? 0.f : static_cast<float>(a / g.M), bm = static_cast<float>(bb / g.M);
    for (int64_t j = t; live && j < g.M; j += tpr) {
      const float gv = w ? ldf(dy, o + j) * w[g.S == 1 ? c0 + j : c0 + j / g.S] : ldf(dy, o + j);
      stf(dx, o + j, rs * (gv - am - (ldf(x, o + j) - m) * rs * bm));
    }
  }
}

// Per-channel partial sums over a chunk of the (n, s) pairs of channel c; statistic of (n, c) at
// n * sn + c / Cg. stats: (x, x^2) for batch-norm statistics; else (dy * xhat, dy).
struct ChanGeom {
  int64_t N, C, S, Cg, sn, chunks;
  bool stats;
};

template <typename T>
__device__ __forceinline__ void chan_terms(const T* x, const T* dy, const float* mean, const float* rstd,
                                           const ChanGeom& g, int64_t n, int64_t c, int64_t s, double& a, double& b) {
  const int64_t i = (n * g.C + c) * g.S + s;
  const double xv = ldf(x, i);
  if (g.stats) { a += xv; b += xv * xv; return; }
  const int64_t st = n * g.sn + c / g.Cg;
  const double gv = ldf(dy, i);
  a += gv * ((static_cast<float>(xv) - mean[st]) * rstd[st]);
  b += gv;
}

// S == 1 (layer/rms norm, batch norm of (N, C)): 32 channels x 8 row lanes per block, coalesced along c.
template <typename T>
__global__ void cols_partial_kernel(const T* x, const T* dy, const float* mean, const float* rstd, ChanGeom g,
                                    float* pa, float* pb) {
  __shared__ double sa[8][33], sb[8][33];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  const int64_t per = (g.N + g.chunks - 1) / g.chunks, n0 = blockIdx.y * per, n1 = min(g.N, n0 + per);
  double a = 0, b = 0;
  for (int64_t n = n0 + threadIdx.y; c < g.C && n < n1; n += 8) chan_terms(x, dy, mean, rstd, g, n, c, 0, a, b);
  sa[threadIdx.y][threadIdx.x] = a;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && c < g.C) {
    for (int k = 1; k < 8; ++k) { a += sa[k][threadIdx.x]; b += sb[k][threadIdx.x]; }
    pa[blockIdx.y * g.C + c] = static_cast<float>(a);
    pb[blockIdx.y * g.C + c] = static_cast<float>(b);
  }
}

// S > 1 (group/batch norm over time or space): one channel per block, threads along s.
template <typename T>
__global__ void chan_partial_kernel(const T* x, const T* dy, const float* mean, const float* rstd, ChanGeom g,
                                    float* pa, float* pb) {
  const int64_t c = blockIdx.x, total = g.N * g.S;
  const int64_t per = (total + g.chunks - 1) / g.chunks, i0 = blockIdx.y * per, i1 = min(total, i0 + per);
  double a = 0, b = 0;
  for (int64_t i = i0 + threadIdx.x; i < i1; i += blockDim.x) chan_terms(x, dy, mean, rstd, g, i / g.S, c, i % g.S, a, b);
  group_sum2(a, b, 256);
  if (threadIdx.x == 0) {
    pa[blockIdx.y * g.C + c] = static_cast<float>(a);
    pb[blockIdx.y * g.C + c] = static_cast<float>(b);
  }
}

// Sums the chunk partials of each channel in order. Param grads: (dw, db). Batch statistics:
// mean, rstd (from the batch, or the running stats in eval) and the running-stat update.
__global__ void finish_kernel(const float* pa, const float* pb, int64_t C, int64_t chunks, float* outa, float* outb,
                              bool stats, double cnt, double eps, double momentum, float* rm, float* rv, bool training) {
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
    if (stats && !training) {
      outa[c] = rm[c];
      outb[c] = static_cast<float>(rsqrt(static_cast<double>(rv[c]) + eps));
      continue;
    }
    double a = 0, b = 0;
    for (int64_t k = 0; k < chunks; ++k) { a += pa[k * C + c]; b += pb[k * C + c]; }
    if (!stats) {
      if (outa) outa[c] = static_cast<float>(a);
      if (outb) outb[c] = static_cast<float>(b);
      continue;
    }
    const double mu = a / cnt, var = fmax(b / cnt - mu * mu, 0.0);
    outa[c] = static_cast<float>(mu);
    outb[c] = static_cast<float>(rsqrt(var + eps));
    if (rm) {
      rm[c] = static_cast<float>((1 - momentum) * rm[c] + momentum * mu);
      rv[c] = static_cast<float>((1 - momentum) * rv[c] + momentum * var * cnt / (cnt - 1));
    }
  }
}

template <typename T>
__global__ void batch_apply_kernel(const T* __restrict__ x, const float* mean, const float* rstd, const float* w,
                                   const float* b, T* __restrict__ y, int64_t n, int64_t C, int64_t S) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = (i / S) % C;
    float o = (ldf(x, i) - mean[c]) * rstd[c];
    if (w) o *= w[c];
    if (b) o += b[c];
    stf(y, i, o);
  }
}

template <typename T>
__global__ void batch_dx_kernel(const T* __restrict__ x, const T* __restrict__ dy, const float* mean, const float* rstd,
                                const float* w, const float* sw, const float* sb, T* __restrict__ dx, int64_t n, int64_t C,
                                int64_t S, float inv_cnt, bool training) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = (i / S) % C;
    float g = ldf(dy, i);
    if (training) g -= sb[c] * inv_cnt + (ldf(x, i) - mean[c]) * rstd[c] * (sw[c] * inv_cnt);
    stf(dx, i, (w ? w[c] : 1.f) * rstd[c] * g);
  }
}

int64_t blocks(int64_t n) { return std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 132 * 32)); }

RowGeom row_geom(const NormInputs& in) {
  return {in.N * in.G, (in.C / in.G) * in.S, in.S, in.G, in.C / in.G, static_cast<float>(in.eps), in.kind == NormKind::RMS};
}

// Per-channel sums into a (C) and b (C): partial kernels, then the ordered finish.
template <typename T>
void chan_sums(const NormInputs& in, const T* x, const T* dy, const float* mean, const float* rstd, int64_t sn,
               int64_t Cg, bool stats, float* outa, float* outb, const std::shared_ptr<Accounting>& acct) {
  const int64_t C = in.C, pairs = in.N * in.S;
  const int64_t cblocks = in.S == 1 ? (C + 31) / 32 : C;
  // Enough blocks to fill the GPU (~4 per SM), each with at least ~4K elements to sum (a
  // column block covers 32 channels per row).
  const int64_t per_block = in.S == 1 ? pairs * 32 : pairs;
  int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(528 / std::max<int64_t>(cblocks, 1) + 1, per_block / 4096 + 1));
  chunks = std::min<int64_t>(chunks, 65535);
  Tensor part = empty("norm", {2 * chunks * C}, DType::F32, in.x.device, acct);
  float *pa = part.ptr<float>(), *pb = pa + chunks * C;
  ChanGeom g{in.N, C, in.S, Cg, sn, chunks, stats};
  if (in.S == 1)
    cols_partial_kernel<T><<<dim3(cblocks, chunks), dim3(32, 8), 0, stream()>>>(x, dy, mean, rstd, g, pa, pb);
  else
    chan_partial_kernel<T><<<dim3(C, chunks), 256, 0, stream()>>>(x, dy, mean, rstd, g, pa, pb);
  float* rm = in.has_running ? in.running_mean.ptr<float>() : nullptr;
  float* rv = in.has_running ? in.running_var.ptr<float>() : nullptr;
  finish_kernel<<<blocks(C), 256, 0, stream()>>>(pa, pb, C, chunks, outa, outb, stats, double(pairs), in.eps,
                                                 in.momentum, rm, rv, in.training);
}

template <typename T>
void fwd(const NormInputs& in, NormForward& f, const std::shared_ptr<Accounting>& acct) {
  const T* x = in.x.ptr<T>();
  const float* w = in.has_weight ? in.weight.ptr<float>() : nullptr;
  const float* b = in.has_bias ? in.bias.ptr<float>() : nullptr;
  float *mean = f.mean.ptr<float>(), *rstd = f.rstd.ptr<float>();
  if (in.kind != NormKind::Batch) {
    const RowGeom g = row_geom(in);
    const int tpr = g.M <= 1024 ? 32 : 256;
    rows_fwd_kernel<T><<<blocks(g.rows * tpr), 256, 0, stream()>>>(x, w, b, f.y.ptr<T>(), mean, rstd, g, tpr);
    return;
  }
  if (in.C == 0) return;
  if (in.training) {
    chan_sums<T>(in, x, nullptr, nullptr, nullptr, 0, 1, true, mean, rstd, acct);
  } else {
    finish_kernel<<<blocks(in.C), 256, 0, stream()>>>(nullptr, nullptr, in.C, 0, mean, rstd, true, 1.0, in.eps, 0.0,
                                                      in.running_mean.ptr<float>(), in.running_var.ptr<float>(), false);
  }
  const int64_t n = in.x.numel();
  if (n > 0) batch_apply_kernel<T><<<blocks(n), 256, 0, stream()>>>(x, mean, rstd, w, b, f.y.ptr<T>(), n, in.C, in.S);
}

template <typename T>
void bwd(const NormInputs& in, const Tensor& mean_t, const Tensor& rstd_t, const Tensor& dy_t, NormGrads& gr, bool need_dx,
         const std::shared_ptr<Accounting>& acct) {
  const T *x = in.x.ptr<T>(), *dy = dy_t.ptr<T>();
  const float *mean = mean_t.ptr<float>(), *rstd = rstd_t.ptr<float>();
  const float* w = in.has_weight ? in.weight.ptr<float>() : nullptr;
  float* dw = in.has_weight ? gr.dweight.ptr<float>() : nullptr;
  float* db = in.has_bias ? gr.dbias.ptr<float>() : nullptr;
  if (in.x.numel() == 0) {
    if (in.C > 0) {
      if (dw) cudaMemsetAsync(dw, 0, in.C * sizeof(float), stream());
      if (db) cudaMemsetAsync(db, 0, in.C * sizeof(float), stream());
    }
    return;
  }
  NormInputs pin = in;
  pin.has_running = false;
  if (in.kind != NormKind::Batch) {
    const RowGeom g = row_geom(in);
    if (need_dx) {
      const int tpr = g.M <= 1024 ? 32 : 256;
      rows_bwd_dx_kernel<T><<<blocks(g.rows * tpr), 256, 0, stream()>>>(x, dy, w, mean, rstd, gr.dx.ptr<T>(), g, tpr);
    }
    if (dw || db) chan_sums<T>(pin, x, dy, mean, rstd, in.G, in.C / in.G, false, dw, db, acct);
    return;
  }
  Tensor sums = empty("batchNorm", {2 * in.C}, DType::F32, in.x.device, acct);
  float *sw = sums.ptr<float>(), *sb = sw + in.C;
  chan_sums<T>(pin, x, dy, mean, rstd, 0, 1, false, sw, sb, acct);
  if (dw) cudaMemcpyAsync(dw, sw, in.C * sizeof(float), cudaMemcpyDeviceToDevice, stream());
  if (db) cudaMemcpyAsync(db, sb, in.C * sizeof(float), cudaMemcpyDeviceToDevice, stream());
  const int64_t n = in.x.numel();
  if (need_dx)
    batch_dx_kernel<T><<<blocks(n), 256, 0, stream()>>>(x, dy, mean, rstd, w, sw, sb, gr.dx.ptr<T>(), n, in.C, in.S,
                                                        1.f / static_cast<float>(in.N * in.S), in.training);
}

}  // namespace

void norm_fwd_cuda(const NormInputs& in, NormForward& f, const std::shared_ptr<Accounting>& acct) {
  if (in.x.dtype == DType::F32) fwd<float>(in, f, acct);
  else fwd<uint16_t>(in, f, acct);
  cuda::check_launch(norm_name(in.kind));
}

void norm_bwd_cuda(const NormInputs& in, const Tensor& mean, const Tensor& rstd, const Tensor& dy, NormGrads& g,
                   bool need_dx, const std::shared_ptr<Accounting>& acct) {
  if (in.x.dtype == DType::F32) bwd<float>(in, mean, rstd, dy, g, need_dx, acct);
  else bwd<uint16_t>(in, mean, rstd, dy, g, need_dx, acct);
  cuda::check_launch(norm_name(in.kind));
}

}  // namespace ms
