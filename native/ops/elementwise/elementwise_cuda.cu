// elementwise_cuda.cu — the same formulas on the GPU. One kernel per dtype with the op as a
// uniform runtime switch (no divergence; these kernels are bound by memory, 8-12 bytes per
// element, not by the branch), which keeps nvcc's instantiations to a handful.
#include <cuda_runtime.h>

#include <algorithm>
#include <type_traits>

#include "../../core/cuda_api.h"
#include "elementwise.h"
#include "elementwise_math.h"

namespace ms {
namespace {

struct Plan {
  int ndim, nin;
  int64_t shape[kMaxDims];
  int64_t stride[kMaxOperands][kMaxDims];
};

Plan to_plan(const BroadcastPlan& bp) {
  Plan p;
  p.ndim = bp.ndim;
  p.nin = bp.nin;
  for (int d = 0; d < bp.ndim; ++d) {
    p.shape[d] = bp.shape[d];
    for (int k = 0; k < bp.nin; ++k) p.stride[k][d] = bp.stride[k][d];
  }
  return p;
}

__device__ __forceinline__ void offsets(const Plan& p, int64_t i, int64_t* off) {
  for (int k = 0; k < kMaxOperands; ++k) off[k] = 0;
  for (int d = p.ndim - 1; d >= 0; --d) {
    int64_t idx = i % p.shape[d];
    i /= p.shape[d];
    for (int k = 0; k < p.nin; ++k) off[k] += idx * p.stride[k][d];
  }
}

template <typename T> struct Io {
  static __device__ float load(const T* p) { return *p; }
  static __device__ void store(T* p, float v) { *p = v; }
};
template <> struct Io<uint16_t> {
  static __device__ float load(const uint16_t* p) { return bf16_to_f32(*p); }
  static __device__ void store(uint16_t* p, float v) { *p = f32_to_bf16(v); }
};

#define MS_GRID_LOOP(i, n)                                                               \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

template <typename T>
__global__ void binary_kernel(BinaryOp op, const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                              int64_t n, Plan p, bool contig) {
  MS_GRID_LOOP(i, n) {
    int64_t off[kMaxOperands] = {i, i, i};
    if (!contig) offsets(p, i, off);
    if constexpr (std::is_same<T, int32_t>::value) out[i] = ew::binary_i(op, a[off[0]], b[off[1]]);
    else Io<T>::store(out + i, ew::binary_f(op, Io<T>::load(a + off[0]), Io<T>::load(b + off[1])));
  }
}

template <typename T>
__global__ void where_kernel(const char* __restrict__ c, int cdtype, const T* __restrict__ a, const T* __restrict__ b,
                             T* __restrict__ out, int64_t n, Plan p, bool contig) {
  MS_GRID_LOOP(i, n) {
    int64_t off[kMaxOperands] = {i, i, i};
    if (!contig) offsets(p, i, off);
    bool on;
    if (cdtype == static_cast<int>(DType::F32)) on = reinterpret_cast<const float*>(c)[off[0]] != 0.f;
    else if (cdtype == static_cast<int>(DType::BF16)) on = (reinterpret_cast<const uint16_t*>(c)[off[0]] & 0x7fff) != 0;
    else on = reinterpret_cast<const int32_t*>(c)[off[0]] != 0;
    out[i] = on ? a[off[1]] : b[off[2]];
  }
}

template <typename T>
__global__ void unary_kernel(UnaryOp op, const T* __restrict__ x, T* __restrict__ out, int64_t n, float p0, float p1) {
  MS_GRID_LOOP(i, n) {
    if constexpr (std::is_same<T, int32_t>::value) out[i] = ew::unary_i(op, x[i]);
    else Io<T>::store(out + i, ew::unary_f(op, Io<T>::load(x + i), p0, p1));
  }
}

template <typename T>
__global__ void unary_bwd_kernel(UnaryOp op, const T* __restrict__ x, const T* __restrict__ y, const T* __restrict__ g,
                                 T* __restrict__ out, int64_t n, float p0, float p1) {
  MS_GRID_LOOP(i, n) {
    Io<T>::store(out + i, Io<T>::load(g + i) * ew::unary_df(op, Io<T>::load(x + i), Io<T>::load(y + i), p0, p1));
  }
}

int64_t grid(int64_t n) { return std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 132 * 16)); }
cudaStream_t st() { return static_cast<cudaStream_t>(cuda::stream(0)); }

}  // namespace

void binary_cuda(BinaryOp op, const BroadcastPlan& bp, const Tensor& a, const Tensor& b, Tensor& out) {
  Plan p = to_plan(bp);
  const bool contig = bp.contiguous_same || bp.ndim == 0;
  const int64_t n = bp.numel;
  switch (a.dtype) {
    case DType::F32: binary_kernel<float><<<grid(n), 256, 0, st()>>>(op, a.ptr<float>(), b.ptr<float>(), out.ptr<float>(), n, p, contig); break;
    case DType::BF16: binary_kernel<uint16_t><<<grid(n), 256, 0, st()>>>(op, a.ptr<uint16_t>(), b.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p, contig); break;
    case DType::I32: binary_kernel<int32_t><<<grid(n), 256, 0, st()>>>(op, a.ptr<int32_t>(), b.ptr<int32_t>(), out.ptr<int32_t>(), n, p, contig); break;
  }
  cuda::check_launch(binary_op_name(op));
}

void where_cuda(const BroadcastPlan& bp, const Tensor& c, const Tensor& a, const Tensor& b, Tensor& out) {
  Plan p = to_plan(bp);
  const bool contig = bp.contiguous_same || bp.ndim == 0;
  const int64_t n = bp.numel;
  const char* pc = static_cast<const char*>(c.data());
  if (dtype_size(a.dtype) == 2)
    where_kernel<uint16_t><<<grid(n), 256, 0, st()>>>(pc, int(c.dtype), a.ptr<uint16_t>(), b.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p, contig);
  else
    where_kernel<uint32_t><<<grid(n), 256, 0, st()>>>(pc, int(c.dtype), a.ptr<uint32_t>(), b.ptr<uint32_t>(), out.ptr<uint32_t>(), n, p, contig);
  cuda::check_launch("where");
}

void unary_cuda(UnaryOp op, const Tensor& x, float p0, float p1, Tensor& out) {
  const int64_t n = x.numel();
  switch (x.dtype) {
    case DType::F32: unary_kernel<float><<<grid(n), 256, 0, st()>>>(op, x.ptr<float>(), out.ptr<float>(), n, p0, p1); break;
    case DType::BF16: unary_kernel<uint16_t><<<grid(n), 256, 0, st()>>>(op, x.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p0, p1); break;
    case DType::I32: unary_kernel<int32_t><<<grid(n), 256, 0, st()>>>(op, x.ptr<int32_t>(), out.ptr<int32_t>(), n, p0, p1); break;
  }
  cuda::check_launch(unary_op_name(op));
}

void unary_backward_cuda(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g, float p0, float p1, Tensor& out) {
  const int64_t n = x.numel();
  if (g.dtype == DType::BF16)
    unary_bwd_kernel<uint16_t><<<grid(n), 256, 0, st()>>>(op, x.ptr<uint16_t>(), y.ptr<uint16_t>(), g.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p0, p1);
  else
    unary_bwd_kernel<float><<<grid(n), 256, 0, st()>>>(op, x.ptr<float>(), y.ptr<float>(), g.ptr<float>(), out.ptr<float>(), n, p0, p1);
  cuda::check_launch(unary_op_name(op));
}

}  // namespace ms
