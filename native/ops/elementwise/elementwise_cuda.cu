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

// Compile-time op versions for the common layouts: both operands contiguous, tensor (op)
// scalar, and one operand broadcast along rows or columns of an (outer, inner) view — a bias
// (inner) added to every row, a per-row factor (outer, 1) — on either side. The general kernel
// above pays an int64 div/mod per dim per element plus the runtime op switch (~300 GB/s for a
// (33554, 500) + (500) add on an H100, ~10x below its bandwidth); here the index is one 32-bit
// division (64-bit past 2^31 elements) and the op is fixed, so the loop unrolls.
enum class Layout : int { Same, BScalar, BRow, BCol, AScalar, ARow, ACol };

template <typename I, typename T, typename F>
__device__ __forceinline__ void layout_loop(Layout lay, const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                                            I n, I inner, F f) {
  const I start = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x, step = static_cast<I>(gridDim.x) * blockDim.x;
  switch (lay) {
    case Layout::Same: for (I i = start; i < n; i += step) out[i] = f(a[i], b[i]); break;
    case Layout::BScalar: { const T bs = b[0]; for (I i = start; i < n; i += step) out[i] = f(a[i], bs); break; }
    case Layout::BRow: for (I i = start; i < n; i += step) out[i] = f(a[i], b[i % inner]); break;
    case Layout::BCol: for (I i = start; i < n; i += step) out[i] = f(a[i], b[i / inner]); break;
    case Layout::AScalar: { const T as = a[0]; for (I i = start; i < n; i += step) out[i] = f(as, b[i]); break; }
    case Layout::ARow: for (I i = start; i < n; i += step) out[i] = f(a[i % inner], b[i]); break;
    case Layout::ACol: for (I i = start; i < n; i += step) out[i] = f(a[i / inner], b[i]); break;
  }
}

template <int OP, typename T>
__global__ void binary_fast_kernel(BinaryOp rop, const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                                   int64_t n, Layout lay, int64_t inner) {
  const BinaryOp op = OP >= 0 ? static_cast<BinaryOp>(OP) : rop;
  auto f = [op](T x, T y) -> T {
    if constexpr (std::is_same<T, int32_t>::value) return ew::binary_i(op, x, y);
    else {
      T r;
      Io<T>::store(&r, ew::binary_f(op, Io<T>::load(&x), Io<T>::load(&y)));
      return r;
    }
  };
  if (n < (int64_t(1) << 31)) layout_loop<uint32_t>(lay, a, b, out, static_cast<uint32_t>(n), static_cast<uint32_t>(inner), f);
  else layout_loop<int64_t>(lay, a, b, out, n, inner, f);
}

template <int OP, typename T>
__global__ void unary_fast_kernel(UnaryOp rop, const T* __restrict__ x, T* __restrict__ out, int64_t n, float p0, float p1) {
  const UnaryOp op = OP >= 0 ? static_cast<UnaryOp>(OP) : rop;
  MS_GRID_LOOP(i, n) {
    if constexpr (std::is_same<T, int32_t>::value) out[i] = ew::unary_i(op, x[i]);
    else Io<T>::store(out + i, ew::unary_f(op, Io<T>::load(x + i), p0, p1));
  }
}

template <int OP, typename T>
__global__ void unary_bwd_fast_kernel(UnaryOp rop, const T* __restrict__ x, const T* __restrict__ y, const T* __restrict__ g,
                                      T* __restrict__ out, int64_t n, float p0, float p1) {
  const UnaryOp op = OP >= 0 ? static_cast<UnaryOp>(OP) : rop;
  MS_GRID_LOOP(i, n) {
    Io<T>::store(out + i, Io<T>::load(g + i) * ew::unary_df(op, Io<T>::load(x + i), Io<T>::load(y + i), p0, p1));
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

int64_t grid(int64_t n) { return std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 132 * 16)); }
cudaStream_t st() { return static_cast<cudaStream_t>(cuda::stream(0)); }

}  // namespace

template <typename T>
void binary_fast(BinaryOp op, const T* a, const T* b, T* out, int64_t n, Layout lay, int64_t inner) {
  const int64_t g = grid(n);
  switch (op) {
#define MS_CASE(O) case BinaryOp::O: binary_fast_kernel<int(BinaryOp::O), T><<<g, 256, 0, st()>>>(op, a, b, out, n, lay, inner); break;
    MS_CASE(Add) MS_CASE(Sub) MS_CASE(Mul) MS_CASE(Div) MS_CASE(Minimum) MS_CASE(Maximum)
#undef MS_CASE
    default: binary_fast_kernel<-1, T><<<g, 256, 0, st()>>>(op, a, b, out, n, lay, inner); break;
  }
}

// The fast layout of a two-operand plan, if it has one (see Layout); `inner` = row length.
bool fast_layout(const BroadcastPlan& bp, const Tensor& a, const Tensor& b, Layout* lay, int64_t* inner) {
  const int64_t n = bp.numel;
  *inner = 1;
  if (bp.contiguous_same || bp.ndim == 0) { *lay = Layout::Same; return true; }
  const bool a_full = a.is_contiguous() && a.numel() == n, b_full = b.is_contiguous() && b.numel() == n;
  if (a_full && b.numel() == 1) { *lay = Layout::BScalar; return true; }
  if (b_full && a.numel() == 1) { *lay = Layout::AScalar; return true; }
  if (bp.ndim != 2) return false;
  const int64_t rows = bp.shape[0], cols = bp.shape[1];
  auto full = [&](int k) { return bp.stride[k][0] == cols && bp.stride[k][1] == 1; };
  auto row = [&](int k) { return bp.stride[k][0] == 0 && bp.stride[k][1] == 1; };  // (cols) repeated per row
  auto col = [&](int k) { return bp.stride[k][0] == 1 && bp.stride[k][1] == 0; };  // (rows, 1) spread along a row
  if (rows < 1 || cols < 1) return false;
  *inner = cols;
  if (full(0) && row(1)) { *lay = Layout::BRow; return true; }
  if (full(0) && col(1)) { *lay = Layout::BCol; return true; }
  if (full(1) && row(0)) { *lay = Layout::ARow; return true; }
  if (full(1) && col(0)) { *lay = Layout::ACol; return true; }
  return false;
}

void binary_cuda(BinaryOp op, const BroadcastPlan& bp, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = bp.numel;
  Layout lay;
  int64_t inner;
  if (fast_layout(bp, a, b, &lay, &inner)) {
    switch (a.dtype) {
      case DType::F32: binary_fast<float>(op, a.ptr<float>(), b.ptr<float>(), out.ptr<float>(), n, lay, inner); break;
      case DType::BF16: binary_fast<uint16_t>(op, a.ptr<uint16_t>(), b.ptr<uint16_t>(), out.ptr<uint16_t>(), n, lay, inner); break;
      case DType::I32: binary_fast<int32_t>(op, a.ptr<int32_t>(), b.ptr<int32_t>(), out.ptr<int32_t>(), n, lay, inner); break;
    }
    cuda::check_launch(binary_op_name(op));
    return;
  }
  Plan p = to_plan(bp);
  switch (a.dtype) {
    case DType::F32: binary_kernel<float><<<grid(n), 256, 0, st()>>>(op, a.ptr<float>(), b.ptr<float>(), out.ptr<float>(), n, p, false); break;
    case DType::BF16: binary_kernel<uint16_t><<<grid(n), 256, 0, st()>>>(op, a.ptr<uint16_t>(), b.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p, false); break;
    case DType::I32: binary_kernel<int32_t><<<grid(n), 256, 0, st()>>>(op, a.ptr<int32_t>(), b.ptr<int32_t>(), out.ptr<int32_t>(), n, p, false); break;
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

// Compile-time op for the activations and math that models run every step; the rest share
// one runtime-switch kernel.
#define MS_UNARY_FAST(X) X(Neg) X(Exp) X(Log) X(Sqrt) X(Rsqrt) X(Tanh) X(Sigmoid) X(Relu) X(Gelu) X(Silu) X(Softplus) X(Square)

template <typename T>
void unary_launch(UnaryOp op, const T* x, T* out, int64_t n, float p0, float p1) {
  const int64_t g = grid(n);
  switch (op) {
#define MS_CASE(O) case UnaryOp::O: unary_fast_kernel<int(UnaryOp::O), T><<<g, 256, 0, st()>>>(op, x, out, n, p0, p1); break;
    MS_UNARY_FAST(MS_CASE)
#undef MS_CASE
    default: unary_fast_kernel<-1, T><<<g, 256, 0, st()>>>(op, x, out, n, p0, p1); break;
  }
}

template <typename T>
void unary_bwd_launch(UnaryOp op, const T* x, const T* y, const T* gr, T* out, int64_t n, float p0, float p1) {
  const int64_t g = grid(n);
  switch (op) {
#define MS_CASE(O) case UnaryOp::O: unary_bwd_fast_kernel<int(UnaryOp::O), T><<<g, 256, 0, st()>>>(op, x, y, gr, out, n, p0, p1); break;
    MS_UNARY_FAST(MS_CASE)
#undef MS_CASE
    default: unary_bwd_fast_kernel<-1, T><<<g, 256, 0, st()>>>(op, x, y, gr, out, n, p0, p1); break;
  }
}

void unary_cuda(UnaryOp op, const Tensor& x, float p0, float p1, Tensor& out) {
  const int64_t n = x.numel();
  switch (x.dtype) {
    case DType::F32: unary_launch<float>(op, x.ptr<float>(), out.ptr<float>(), n, p0, p1); break;
    case DType::BF16: unary_launch<uint16_t>(op, x.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p0, p1); break;
    case DType::I32: unary_fast_kernel<-1, int32_t><<<grid(n), 256, 0, st()>>>(op, x.ptr<int32_t>(), out.ptr<int32_t>(), n, p0, p1); break;
  }
  cuda::check_launch(unary_op_name(op));
}

void unary_backward_cuda(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g, float p0, float p1, Tensor& out) {
  const int64_t n = x.numel();
  if (g.dtype == DType::BF16)
    unary_bwd_launch<uint16_t>(op, x.ptr<uint16_t>(), y.ptr<uint16_t>(), g.ptr<uint16_t>(), out.ptr<uint16_t>(), n, p0, p1);
  else
    unary_bwd_launch<float>(op, x.ptr<float>(), y.ptr<float>(), g.ptr<float>(), out.ptr<float>(), n, p0, p1);
  cuda::check_launch(unary_op_name(op));
}

}  // namespace ms
