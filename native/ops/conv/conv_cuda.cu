// conv_cuda.cu — the conv primitives on the GPU (float32 or bfloat16 data, float32 arithmetic;
// see conv.h). One thread per output element everywhere except the reductions; im2col writes
// are coalesced along the output positions, col2im gathers (no atomics: deterministic).
//
// Napkin math for the depthwise weight grad (Conformer: C = 512, k = 31, N*L = 8 x 500): one
// block per (channel, tap) reads dy and a shifted x row: 31 x 2 x 16 KB per channel, ~250 MB
// in all, mostly from L2 (50 MB on H100) at several TB/s: ~0.1 ms, next to ~0.3 ms of GEMMs in
// the module around it.
#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "conv.h"

namespace ms {
namespace {

template <typename T> __device__ __forceinline__ float ldf(const T* p, int64_t i) { return p[i]; }
template <> __device__ __forceinline__ float ldf<uint16_t>(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
template <typename T> __device__ __forceinline__ void stf(T* p, int64_t i, float v) { p[i] = v; }
template <> __device__ __forceinline__ void stf<uint16_t>(uint16_t* p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

cudaStream_t stream() { return static_cast<cudaStream_t>(cuda::stream(0)); }
int64_t blocks(int64_t n) { return std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 132 * 64)); }

#define GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__device__ __forceinline__ int64_t src_of(int64_t o, int64_t k, int64_t s, int64_t p, int64_t d, int64_t in) {
  const int64_t i = o * s - p + k * d;
  return i >= 0 && i < in ? i : -1;
}
__device__ __forceinline__ int64_t dst_of(int64_t i, int64_t k, int64_t s, int64_t p, int64_t d, int64_t out) {
  const int64_t num = i + p - k * d;
  if (num < 0 || num % s != 0) return -1;
  const int64_t o = num / s;
  return o < out ? o : -1;
}

template <typename T>
__global__ void im2col_kernel(ConvGeom g, const T* __restrict__ x, int64_t n0, int64_t nc, T* __restrict__ col) {
  const int64_t P = g.oh * g.ow, taps = g.kh * g.kw, total = g.G * ((g.Cin / g.G) * taps) * nc * P;
  GRID_LOOP(idx, total) {
    const int64_t p = idx % P, rest = idx / P, n = rest % nc, row = rest / nc;
    const int64_t tap = row % taps, ch = row / taps;
    const int64_t iy = src_of(p / g.ow, tap / g.kw, g.sh, g.ph, g.dh, g.ih);
    const int64_t ix = src_of(p % g.ow, tap % g.kw, g.sw, g.pw, g.dw, g.iw);
    col[idx] = (iy >= 0 && ix >= 0) ? x[((n0 + n) * g.Cin + ch) * g.ih * g.iw + iy * g.iw + ix] : T(0);
  }
}

template <typename T>
__global__ void col2im_kernel(ConvGeom g, const T* __restrict__ col, int64_t grp, const float* bias, int64_t n0, int64_t nc,
                              T* __restrict__ dx) {
  const int64_t cin_g = g.Cin / g.G, HW = g.ih * g.iw, P = g.oh * g.ow;
  GRID_LOOP(idx, nc * cin_g * HW) {
    const int64_t hw = idx % HW, c = (idx / HW) % cin_g, n = idx / (HW * cin_g), iy = hw / g.iw, ix = hw % g.iw;
    const int64_t ci = grp * cin_g + c;
    float s = bias ? bias[ci] : 0.f;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t oy = dst_of(iy, ky, g.sh, g.ph, g.dh, g.oh);
      if (oy < 0) continue;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ox = dst_of(ix, kx, g.sw, g.pw, g.dw, g.ow);
        if (ox >= 0) s += ldf(col, (((c * g.kh + ky) * g.kw + kx) * nc + n) * P + oy * g.ow + ox);
      }
    }
    stf(dx, ((n0 + n) * g.Cin + ci) * HW + hw, s);
  }
}

template <typename T>
__global__ void cn_nc_kernel(T* t, T* a, int64_t Cg, int64_t nc, int64_t P, int64_t C, int64_t n0, int64_t c0,
                             const float* bias, bool to_nc) {
  GRID_LOOP(idx, Cg * nc * P) {
    const int64_t p = idx % P, n = (idx / P) % nc, o = idx / (P * nc);
    const int64_t ai = ((n0 + n) * C + c0 + o) * P + p;
    if (to_nc) stf(a, ai, ldf(t, idx) + (bias ? bias[c0 + o] : 0.f));
    else t[idx] = a[ai];
  }
}

template <typename T>
__global__ void accumulate_kernel(float* acc, const T* src, int64_t n) {
  GRID_LOOP(i, n) acc[i] += ldf(src, i);
}

__device__ __forceinline__ double block_sum(double v) {
  __shared__ double part[8];
  for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xffffffffu, v, d);
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
  __syncthreads();
  double s = 0;
  for (int w = 0; w < 8; ++w) s += part[w];
  return s;
}

template <typename T>
__global__ void channel_sum_kernel(const T* a, int64_t N, int64_t C, int64_t P, float* out) {
  const int64_t c = blockIdx.x;
  double s = 0;
  for (int64_t i = threadIdx.x; i < N * P; i += blockDim.x) s += ldf(a, ((i / P) * C + c) * P + i % P);
  s = block_sum(s);
  if (threadIdx.x == 0) out[c] = static_cast<float>(s);
}

template <typename T>
__global__ void depthwise_fwd_kernel(ConvGeom g, const T* __restrict__ x, const T* __restrict__ w, const float* bias,
                                     T* __restrict__ y) {
  const int64_t P = g.oh * g.ow, M = g.Cout / g.G, taps = g.kh * g.kw;
  GRID_LOOP(idx, g.N * g.Cout * P) {
    const int64_t p = idx % P, o = (idx / P) % g.Cout, n = idx / (P * g.Cout), oy = p / g.ow, ox = p % g.ow;
    const T* xp = x + (n * g.Cin + o / M) * g.ih * g.iw;
    float s = bias ? bias[o] : 0.f;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t iy = src_of(oy, ky, g.sh, g.ph, g.dh, g.ih);
      if (iy < 0) continue;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = src_of(ox, kx, g.sw, g.pw, g.dw, g.iw);
        if (ix >= 0) s += ldf(w, o * taps + ky * g.kw + kx) * ldf(xp, iy * g.iw + ix);
      }
    }
    stf(y, idx, s);
  }
}

template <typename T>
__global__ void depthwise_bwd_input_kernel(ConvGeom g, const T* __restrict__ dy, const T* __restrict__ w, const float* bias,
                                           T* __restrict__ dx) {
  const int64_t HW = g.ih * g.iw, P = g.oh * g.ow, M = g.Cout / g.G, taps = g.kh * g.kw;
  GRID_LOOP(idx, g.N * g.Cin * HW) {
    const int64_t hw = idx % HW, ci = (idx / HW) % g.Cin, n = idx / (HW * g.Cin), iy = hw / g.iw, ix = hw % g.iw;
    float s = bias ? bias[ci] : 0.f;
    for (int64_t m = 0; m < M; ++m) {
      const int64_t o = ci * M + m;
      const T* gp = dy + (n * g.Cout + o) * P;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t oy = dst_of(iy, ky, g.sh, g.ph, g.dh, g.oh);
        if (oy < 0) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t ox = dst_of(ix, kx, g.sw, g.pw, g.dw, g.ow);
          if (ox >= 0) s += ldf(w, o * taps + ky * g.kw + kx) * ldf(gp, oy * g.ow + ox);
        }
      }
    }
    stf(dx, idx, s);
  }
}

// One block per (output channel, tap): sum over (n, oy, ox) of dy * the input that tap read.
template <typename T>
__global__ void depthwise_bwd_weight_kernel(ConvGeom g, const T* __restrict__ x, const T* __restrict__ dy, float* dw) {
  const int64_t P = g.oh * g.ow, M = g.Cout / g.G, taps = g.kh * g.kw;
  const int64_t o = blockIdx.x / taps, tap = blockIdx.x % taps, ky = tap / g.kw, kx = tap % g.kw;
  double s = 0;
  for (int64_t i = threadIdx.x; i < g.N * P; i += blockDim.x) {
    const int64_t n = i / P, p = i % P;
    const int64_t iy = src_of(p / g.ow, ky, g.sh, g.ph, g.dh, g.ih), ix = src_of(p % g.ow, kx, g.sw, g.pw, g.dw, g.iw);
    if (iy >= 0 && ix >= 0)
      s += ldf(dy, (n * g.Cout + o) * P + p) * ldf(x, (n * g.Cin + o / M) * g.ih * g.iw + iy * g.iw + ix);
  }
  s = block_sum(s);
  if (threadIdx.x == 0) dw[blockIdx.x] = static_cast<float>(s);
}

}  // namespace

#define MS_CONV_DISPATCH(dtype, name, ...)                        \
  do {                                                            \
    if ((dtype) == DType::F32) name<float>(__VA_ARGS__);          \
    else name<uint16_t>(__VA_ARGS__);                             \
  } while (0)

namespace {
template <typename T> void im2col_t(const ConvGeom& g, const Tensor& x, int64_t n0, int64_t nc, Tensor& col) {
  im2col_kernel<T><<<blocks(col.numel()), 256, 0, stream()>>>(g, x.ptr<T>(), n0, nc, col.ptr<T>());
}
template <typename T> void col2im_t(const ConvGeom& g, const Tensor& col, int64_t grp, const float* bias, int64_t n0, int64_t nc, Tensor& dx) {
  col2im_kernel<T><<<blocks(nc * (g.Cin / g.G) * g.ih * g.iw), 256, 0, stream()>>>(g, col.ptr<T>(), grp, bias, n0, nc, dx.ptr<T>());
}
template <typename T> void cn_nc_t(const Tensor& t, const Tensor& a, int64_t n0, int64_t c0, const float* bias, bool to_nc) {
  const int64_t Cg = t.shape[0], nc = t.shape[1], P = t.shape[2];
  cn_nc_kernel<T><<<blocks(t.numel()), 256, 0, stream()>>>(t.ptr<T>(), a.ptr<T>(), Cg, nc, P, a.shape[1], n0, c0, bias, to_nc);
}
template <typename T> void accumulate_t(Tensor& acc, int64_t at, const Tensor& src) {
  accumulate_kernel<T><<<blocks(src.numel()), 256, 0, stream()>>>(acc.ptr<float>() + at, src.ptr<T>(), src.numel());
}
template <typename T> void channel_sum_t(const Tensor& a, int64_t N, int64_t C, int64_t P, Tensor& out) {
  channel_sum_kernel<T><<<C, 256, 0, stream()>>>(a.ptr<T>(), N, C, P, out.ptr<float>());
}
template <typename T> void dw_fwd_t(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y) {
  depthwise_fwd_kernel<T><<<blocks(y.numel()), 256, 0, stream()>>>(g, x.ptr<T>(), w.ptr<T>(), bias, y.ptr<T>());
}
template <typename T> void dw_bwd_input_t(const ConvGeom& g, const Tensor& dy, const Tensor& w, const float* bias, Tensor& dx) {
  depthwise_bwd_input_kernel<T><<<blocks(dx.numel()), 256, 0, stream()>>>(g, dy.ptr<T>(), w.ptr<T>(), bias, dx.ptr<T>());
}
template <typename T> void dw_bwd_weight_t(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw) {
  depthwise_bwd_weight_kernel<T><<<g.Cout * g.kh * g.kw, 256, 0, stream()>>>(g, x.ptr<T>(), dy.ptr<T>(), dw.ptr<float>());
}
}  // namespace

void im2col_cuda(const ConvGeom& g, const Tensor& x, int64_t n0, int64_t nc, Tensor& col) {
  MS_CONV_DISPATCH(x.dtype, im2col_t, g, x, n0, nc, col);
  cuda::check_launch("conv");
}
void col2im_cuda(const ConvGeom& g, const Tensor& col, int64_t grp, const float* bias, int64_t n0, int64_t nc, Tensor& dx) {
  MS_CONV_DISPATCH(dx.dtype, col2im_t, g, col, grp, bias, n0, nc, dx);
  cuda::check_launch("conv");
}
void cn_to_nc_cuda(const Tensor& t, Tensor& a, int64_t n0, int64_t c0, const float* bias) {
  MS_CONV_DISPATCH(a.dtype, cn_nc_t, t, a, n0, c0, bias, true);
  cuda::check_launch("conv");
}
void nc_to_cn_cuda(const Tensor& a, Tensor& t, int64_t n0, int64_t c0) {
  MS_CONV_DISPATCH(a.dtype, cn_nc_t, t, a, n0, c0, nullptr, false);
  cuda::check_launch("conv");
}
void accumulate_cuda(Tensor& acc, int64_t at, const Tensor& src) {
  MS_CONV_DISPATCH(src.dtype, accumulate_t, acc, at, src);
  cuda::check_launch("conv");
}
void channel_sum_cuda(const Tensor& a, int64_t N, int64_t C, int64_t P, Tensor& out) {
  MS_CONV_DISPATCH(a.dtype, channel_sum_t, a, N, C, P, out);
  cuda::check_launch("conv");
}
void depthwise_fwd_cuda(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y) {
  MS_CONV_DISPATCH(x.dtype, dw_fwd_t, g, x, w, bias, y);
  cuda::check_launch("conv");
}
void depthwise_bwd_input_cuda(const ConvGeom& g, const Tensor& dy, const Tensor& w, const float* bias, Tensor& dx) {
  MS_CONV_DISPATCH(dy.dtype, dw_bwd_input_t, g, dy, w, bias, dx);
  cuda::check_launch("conv");
}
void depthwise_bwd_weight_cuda(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw,
                               const std::shared_ptr<Accounting>&) {
  MS_CONV_DISPATCH(x.dtype, dw_bwd_weight_t, g, x, dy, dw);
  cuda::check_launch("conv");
}

}  // namespace ms
