// reduce_cuda.cu — row and column reductions and softmax on the GPU. A row is handled by one warp
// (K <= 1024) or by a 256-thread block (longer rows); per-thread partials accumulate in double
// (memory-bound kernels: the FP64 adds are free on H100/H200) and combine with shuffles.
#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "../../core/cuda_api.h"
#include "reduce.h"

namespace ms {
namespace {

template <typename T> __device__ __forceinline__ double ld(const T* p, int64_t i) { return static_cast<double>(p[i]); }
template <> __device__ __forceinline__ double ld<uint16_t>(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
template <typename T> __device__ __forceinline__ void st(T* p, int64_t i, double v) { p[i] = static_cast<T>(v); }
template <> __device__ __forceinline__ void st<uint16_t>(uint16_t* p, int64_t i, double v) { p[i] = f32_to_bf16(static_cast<float>(v)); }

// Combines a value across the threads of one row group (tpr = 32 or 256 threads).
struct Partial {
  double a, b;   // sum | max/min value | (mean, m2) | (max, sum-exp)
  int64_t n, i;  // count (var), index (arg)
};

enum Combine { kSum, kMax, kMin, kLse, kVar };

__device__ Partial combine(Combine c, Partial x, Partial y) {
  switch (c) {
    case kSum: return {x.a + y.a, 0, 0, 0};
    case kMax:
    case kMin: {
      // NaN wins; among NaNs, and among equal values, the first index (as the CPU's scan)
      const bool ynan = y.a != y.a, xnan = x.a != x.a;
      const bool take_y = (xnan || ynan) ? ynan && (!xnan || y.i < x.i)
                                         : (c == kMax ? y.a > x.a : y.a < x.a) || (y.a == x.a && y.i < x.i);
      return take_y ? y : x;
    }
    case kLse: {
      double m = fmax(x.a, y.a);
      if (m == -INFINITY) return {m, 0, 0, 0};
      return {m, x.b * exp(x.a - m) + y.b * exp(y.a - m), 0, 0};
    }
    case kVar: {  // Chan et al. parallel variance
      if (x.n == 0) return y;
      if (y.n == 0) return x;
      int64_t n = x.n + y.n;
      double d = y.a - x.a;
      return {x.a + d * y.n / n, x.b + y.b + d * d * (double(x.n) * y.n / n), n, 0};
    }
  }
  return x;
}

__device__ Partial shfl(Partial p, int delta) {
  Partial q;
  q.a = __shfl_down_sync(0xffffffffu, p.a, delta);
  q.b = __shfl_down_sync(0xffffffffu, p.b, delta);
  q.n = __shfl_down_sync(0xffffffffu, p.n, delta);
  q.i = __shfl_down_sync(0xffffffffu, p.i, delta);
  return q;
}

// Reduces across the row group; the result is valid in the group's first thread.
__device__ Partial group_reduce(Combine c, Partial p, int tpr) {
  for (int d = 16; d > 0; d >>= 1) p = combine(c, p, shfl(p, d));
  if (tpr == 32) return p;
  __shared__ Partial warp_parts[8];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) warp_parts[warp] = p;
  __syncthreads();
  if (warp == 0) {
    p = lane < 8 ? warp_parts[lane] : warp_parts[0];
    for (int d = 4; d > 0; d >>= 1) p = combine(c, p, shfl(p, d));
  }
  return p;
}

__device__ __forceinline__ Combine combine_of(ReduceOp op) {
  if (op == ReduceOp::Max || op == ReduceOp::ArgMax) return kMax;
  if (op == ReduceOp::Min || op == ReduceOp::ArgMin) return kMin;
  if (op == ReduceOp::LogSumExp) return kLse;
  if (op == ReduceOp::Var) return kVar;
  return kSum;
}

// This thread's partial over elements begin + t, begin + t + step, ... < end of one row (the
// max/min start from the range's first element, so an empty share is harmless).
template <typename T>
__device__ Partial range_partial(Combine c, const T* row, int64_t begin, int64_t end, int t, int step, bool live) {
  Partial p;
  if (c == kMax || c == kMin) p = {begin < end ? ld(row, begin) : 0.0, 0, 0, begin};
  else if (c == kLse) p = {-INFINITY, 0, 0, 0};
  else p = {0, 0, 0, 0};
  for (int64_t i = begin + t; live && i < end; i += step) {
    double v = ld(row, i);
    if (c == kSum) p.a += v;
    else if (c == kVar) p = combine(kVar, p, Partial{v, 0, 1, 0});
    else if (c == kLse) p = combine(kLse, p, Partial{v, 1.0, 0, 0});
    else p = combine(c, p, Partial{v, 0, 0, i});
  }
  return p;
}

// Writes row r's result from its combined partial (k elements).
template <typename T>
__device__ void finish(ReduceOp op, const Partial& p, T* out, int32_t* iout, int64_t r, int64_t k, double corr) {
  switch (op) {
    case ReduceOp::Sum: st(out, r, p.a); break;
    case ReduceOp::Mean: st(out, r, k ? p.a / k : NAN); break;
    case ReduceOp::Max:
    case ReduceOp::Min: st(out, r, p.a); break;
    case ReduceOp::ArgMax:
    case ReduceOp::ArgMin: iout[r] = static_cast<int32_t>(p.i); break;
    case ReduceOp::LogSumExp: st(out, r, p.a == -INFINITY || p.a == INFINITY ? p.a : p.a + log(p.b)); break;
    case ReduceOp::Var: st(out, r, (double(k) - corr) > 0 ? p.b / (double(k) - corr) : NAN); break;
    default: break;
  }
}

template <typename T>
__global__ void reduce_kernel(ReduceOp op, const T* __restrict__ x, T* out, int32_t* iout, int64_t rows, int64_t k,
                              double corr, int tpr) {
  const int rpb = blockDim.x / tpr;
  const int t = threadIdx.x % tpr;
  const Combine c = combine_of(op);
  for (int64_t r0 = static_cast<int64_t>(blockIdx.x) * rpb; r0 < rows; r0 += static_cast<int64_t>(gridDim.x) * rpb) {
    const int64_t r = r0 + threadIdx.x / tpr;  // rows past the end still join the shuffles
    const bool live = r < rows;
    Partial p = range_partial(c, x + (live ? r : 0) * k, 0, k, t, tpr, live);
    p = group_reduce(c, p, tpr);
    if (live && t == 0) finish(op, p, out, iout, r, k, corr);
  }
}

// Few long rows (a whole-tensor sum, a norm): one block per row would leave the GPU idle, so each
// row is cut into `splits` segments of `seg` elements; block (s, r) writes the partial of segment
// s of row r, and split_finish_kernel folds a row's partials in a fixed tree (the result depends
// on the shape only, never on timing).
template <typename T>
__global__ void split_partial_kernel(ReduceOp op, const T* __restrict__ x, Partial* parts, int64_t k, int64_t seg,
                                     int splits) {
  const int64_t r = blockIdx.y;
  const int s = blockIdx.x;
  const Combine c = combine_of(op);
  const int64_t begin = s * seg, end = min(k, begin + seg);
  Partial p = range_partial(c, x + r * k, begin, end, threadIdx.x, blockDim.x, true);
  p = group_reduce(c, p, blockDim.x);
  if (threadIdx.x == 0) parts[r * splits + s] = p;
}

template <typename T>
__global__ void split_finish_kernel(ReduceOp op, const Partial* __restrict__ parts, T* out, int32_t* iout, int64_t rows,
                                    int64_t k, double corr, int splits) {
  const int64_t r = blockIdx.x;
  const Combine c = combine_of(op);
  const Partial* pr = parts + r * splits;
  Partial p;
  if (static_cast<int>(threadIdx.x) < splits) {
    p = pr[threadIdx.x];
    for (int i = threadIdx.x + blockDim.x; i < splits; i += blockDim.x) p = combine(c, p, pr[i]);
  } else {  // a neutral partial: a segment's own extreme again, or the empty sum / lse / moments
    p = (c == kMax || c == kMin) ? pr[0] : c == kLse ? Partial{-INFINITY, 0, 0, 0} : Partial{0, 0, 0, 0};
  }
  p = group_reduce(c, p, blockDim.x);
  if (threadIdx.x == 0) finish(op, p, out, iout, r, k, corr);
}

__global__ void reduce_int_kernel(ReduceOp op, const int32_t* __restrict__ x, int32_t* out, int64_t rows, int64_t k) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t* row = x + r * k;
    uint32_t s = 0;
    int32_t best = row[0];
    int64_t at = 0;
    for (int64_t i = 0; i < k; ++i) {
      s += static_cast<uint32_t>(row[i]);
      bool better = (op == ReduceOp::Max || op == ReduceOp::ArgMax) ? row[i] > best : row[i] < best;
      if (i > 0 && better) { best = row[i]; at = i; }
    }
    if (op == ReduceOp::Sum) out[r] = static_cast<int32_t>(s);
    else if (op == ReduceOp::Max || op == ReduceOp::Min) out[r] = best;
    else out[r] = static_cast<int32_t>(at);
  }
}

template <typename T>
__global__ void softmax_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t rows, int64_t k, bool lg, int tpr) {
  const int rpb = blockDim.x / tpr;
  const int t = threadIdx.x % tpr;
  for (int64_t r0 = static_cast<int64_t>(blockIdx.x) * rpb; r0 < rows; r0 += static_cast<int64_t>(gridDim.x) * rpb) {
    const int64_t r = r0 + threadIdx.x / tpr;
    const bool live = r < rows;
    const T* row = x + (live ? r : 0) * k;
    Partial p = {-INFINITY, 0, 0, 0};
    for (int64_t i = t; live && i < k; i += tpr) p = combine(kLse, p, Partial{ld(row, i), 1.0, 0, 0});
    p = group_reduce(kLse, p, tpr);
    __shared__ double lse_s[8];
    const int slot = threadIdx.x / tpr;
    __syncthreads();
    if (t == 0) lse_s[slot] = p.a == -INFINITY ? NAN : p.a + log(p.b);
    __syncthreads();
    const double lse = lse_s[slot];
    for (int64_t i = t; live && i < k; i += tpr) {
      double v = ld(row, i) - lse;
      st(out + r * k, i, lg ? v : exp(v));
    }
  }
}

template <typename T>
__global__ void softmax_bwd_kernel(const T* __restrict__ y, const T* __restrict__ g, T* __restrict__ out, int64_t rows,
                                   int64_t k, bool lg, int tpr) {
  const int rpb = blockDim.x / tpr;
  const int t = threadIdx.x % tpr;
  for (int64_t r0 = static_cast<int64_t>(blockIdx.x) * rpb; r0 < rows; r0 += static_cast<int64_t>(gridDim.x) * rpb) {
    const int64_t r = r0 + threadIdx.x / tpr;
    const bool live = r < rows;
    const int64_t o = (live ? r : 0) * k;
    Partial p = {0, 0, 0, 0};
    for (int64_t i = t; live && i < k; i += tpr) p.a += lg ? ld(g, o + i) : ld(g, o + i) * ld(y, o + i);
    p = group_reduce(kSum, p, tpr);
    __shared__ double s_s[8];
    const int slot = threadIdx.x / tpr;
    __syncthreads();
    if (t == 0) s_s[slot] = p.a;
    __syncthreads();
    const double s = s_s[slot];
    for (int64_t i = t; live && i < k; i += tpr) {
      double yv = ld(y, o + i), gv = ld(g, o + i);
      st(out, o + i, lg ? gv - exp(yv) * s : yv * (gv - s));
    }
  }
}

// Column sums of (outer, k, inner) over k (a bias gradient: (N, C) over N, read in place instead
// of through a transposed copy). Block (32, 8): threadIdx.x is a column of a 32-wide tile (a warp
// reads 32 consecutive elements of a row), threadIdx.y one of 8 row lanes; blockIdx.x the (slab,
// tile) pair, blockIdx.z a segment of k. Each thread adds rows y, y + 8, ... of its
// segment in double; the 8 lanes fold in shared memory in lane order, and with several segments
// cols_finish_kernel folds them in segment order: the bits depend on the shape only.
template <typename T>
__global__ void cols_partial_kernel(const T* __restrict__ x, double* __restrict__ parts, T* __restrict__ out, int64_t k,
                                    int64_t inner, int64_t seg, bool mean) {
  const int64_t tiles = (inner + 31) / 32;
  const int64_t o = blockIdx.x / tiles, col = (blockIdx.x % tiles) * 32 + threadIdx.x;
  const int64_t r0 = static_cast<int64_t>(blockIdx.z) * seg, r1 = min(k, r0 + seg);
  double acc = 0;
  if (col < inner) {
    const T* base = x + o * k * inner + col;
#pragma unroll 4
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) acc += ld(base, r * inner);
  }
  __shared__ double lanes[8][33];
  lanes[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || col >= inner) return;
  double sum = lanes[0][threadIdx.x];
  for (int l = 1; l < 8; ++l) sum += lanes[l][threadIdx.x];
  if (gridDim.z == 1) st(out, o * inner + col, mean ? sum / static_cast<double>(k) : sum);
  else parts[(o * gridDim.z + blockIdx.z) * inner + col] = sum;
}

template <typename T>
__global__ void cols_finish_kernel(const double* __restrict__ parts, T* __restrict__ out, int64_t outer, int64_t inner,
                                   int splits, int64_t k, bool mean) {
  const int64_t n = outer * inner;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = i / inner, c = i % inner;
    double sum = 0;
    for (int z = 0; z < splits; ++z) sum += parts[(o * splits + z) * inner + c];
    st(out, i, mean ? sum / static_cast<double>(k) : sum);
  }
}

cudaStream_t stream() { return static_cast<cudaStream_t>(cuda::stream(0)); }
int tpr_for(int64_t k) { return k <= 1024 ? 32 : 256; }
// Segments per row for the split path: rows of >= 64K elements when there are too few rows to
// fill the GPU (fewer than 1024), each segment >= 16K elements, about 2048 blocks in all. A
// function of the shape only, so results never depend on the device.
int splits_for(int64_t rows, int64_t k) {
  if (k < 65536 || rows >= 1024) return 1;
  const int64_t by_size = k / 16384;
  const int64_t by_grid = std::max<int64_t>(1, 2048 / rows);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({by_size, by_grid, 65535})));
}
// Segments of k for the column path: enough blocks to fill the GPU (~256; a constant, so the
// bits depend on the shape only), each segment at least 64 rows (8 per lane).
int col_splits_for(int64_t outer, int64_t inner, int64_t k) {
  const int64_t tiles = outer * ((inner + 31) / 32);
  if (tiles >= 256) return 1;
  const int64_t by_grid = (256 + tiles - 1) / tiles, by_size = std::max<int64_t>(1, k / 64);
  return static_cast<int>(std::min<int64_t>({by_grid, by_size, 65535}));
}
int64_t blocks_for(int64_t rows, int tpr) {
  return std::max<int64_t>(1, std::min<int64_t>((rows * tpr + 255) / 256, 132 * 16));
}

}  // namespace

void reduce_rows_cuda(ReduceOp op, const Tensor& x, int64_t rows, int64_t k, double p, Tensor& out) {
  if (x.dtype == DType::I32) {
    reduce_int_kernel<<<std::max<int64_t>(1, std::min<int64_t>((rows + 255) / 256, 4096)), 256, 0, stream()>>>(
        op, x.ptr<int32_t>(), out.ptr<int32_t>(), rows, k);
  } else {
    const int tpr = tpr_for(k);
    int32_t* iout = out.dtype == DType::I32 ? out.ptr<int32_t>() : nullptr;
    const int splits = splits_for(rows, k);
    if (splits > 1) {
      const int64_t seg = (k + splits - 1) / splits;
      const int n = static_cast<int>((k + seg - 1) / seg);  // every segment non-empty
      const char* name = reduce_op_name(op);
      const size_t bytes = static_cast<size_t>(rows) * n * sizeof(Partial);
      Partial* parts = static_cast<Partial*>(cuda::alloc(name, bytes, 0));
      const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(rows));
      if (x.dtype == DType::F32) {
        split_partial_kernel<float><<<grid, 256, 0, stream()>>>(op, x.ptr<float>(), parts, k, seg, n);
        split_finish_kernel<float><<<static_cast<unsigned>(rows), 256, 0, stream()>>>(op, parts, iout ? nullptr : out.ptr<float>(), iout, rows, k, p, n);
      } else {
        split_partial_kernel<uint16_t><<<grid, 256, 0, stream()>>>(op, x.ptr<uint16_t>(), parts, k, seg, n);
        split_finish_kernel<uint16_t><<<static_cast<unsigned>(rows), 256, 0, stream()>>>(op, parts, iout ? nullptr : out.ptr<uint16_t>(), iout, rows, k, p, n);
      }
      cuda::free(parts, bytes, 0);  // stream-ordered reuse: later work on this stream runs after the kernels
      cuda::check_launch(name);
      return;
    }
    if (x.dtype == DType::F32)
      reduce_kernel<float><<<blocks_for(rows, tpr), 256, 0, stream()>>>(op, x.ptr<float>(), iout ? nullptr : out.ptr<float>(), iout, rows, k, p, tpr);
    else
      reduce_kernel<uint16_t><<<blocks_for(rows, tpr), 256, 0, stream()>>>(op, x.ptr<uint16_t>(), iout ? nullptr : out.ptr<uint16_t>(), iout, rows, k, p, tpr);
  }
  cuda::check_launch(reduce_op_name(op));
}

void reduce_cols_cuda(ReduceOp op, const Tensor& x, int64_t outer, int64_t k, int64_t inner, Tensor& out) {
  const char* name = reduce_op_name(op);
  const bool mean = op == ReduceOp::Mean;
  int splits = col_splits_for(outer, inner, k);
  const int64_t seg = std::max<int64_t>(1, (k + splits - 1) / splits);
  splits = static_cast<int>(std::max<int64_t>(1, (k + seg - 1) / seg));  // every segment non-empty
  const dim3 grid(static_cast<unsigned>(outer * ((inner + 31) / 32)), 1, static_cast<unsigned>(splits));
  const dim3 block(32, 8);
  const size_t bytes = splits > 1 ? static_cast<size_t>(outer) * splits * inner * sizeof(double) : 0;
  double* parts = bytes ? static_cast<double*>(cuda::alloc(name, bytes, 0)) : nullptr;
  const int64_t fin_blocks = blocks_for(outer * inner, 1);  // one thread per output
  if (x.dtype == DType::F32) {
    cols_partial_kernel<float><<<grid, block, 0, stream()>>>(x.ptr<float>(), parts, out.ptr<float>(), k, inner, seg, mean);
    if (parts) cols_finish_kernel<float><<<fin_blocks, 256, 0, stream()>>>(parts, out.ptr<float>(), outer, inner, splits, k, mean);
  } else {
    cols_partial_kernel<uint16_t><<<grid, block, 0, stream()>>>(x.ptr<uint16_t>(), parts, out.ptr<uint16_t>(), k, inner, seg, mean);
    if (parts) cols_finish_kernel<uint16_t><<<fin_blocks, 256, 0, stream()>>>(parts, out.ptr<uint16_t>(), outer, inner, splits, k, mean);
  }
  if (parts) cuda::free(parts, bytes, 0);  // stream-ordered reuse: later work on this stream runs after the kernels
  cuda::check_launch(name);
}

void softmax_rows_cuda(const Tensor& x, int64_t rows, int64_t k, bool log, Tensor& out) {
  const int tpr = tpr_for(k);
  if (x.dtype == DType::F32)
    softmax_kernel<float><<<blocks_for(rows, tpr), 256, 0, stream()>>>(x.ptr<float>(), out.ptr<float>(), rows, k, log, tpr);
  else
    softmax_kernel<uint16_t><<<blocks_for(rows, tpr), 256, 0, stream()>>>(x.ptr<uint16_t>(), out.ptr<uint16_t>(), rows, k, log, tpr);
  cuda::check_launch(log ? "logSoftmax" : "softmax");
}

void softmax_rows_backward_cuda(const Tensor& y, const Tensor& g, int64_t rows, int64_t k, bool log, Tensor& out) {
  const int tpr = tpr_for(k);
  if (y.dtype == DType::F32)
    softmax_bwd_kernel<float><<<blocks_for(rows, tpr), 256, 0, stream()>>>(y.ptr<float>(), g.ptr<float>(), out.ptr<float>(), rows, k, log, tpr);
  else
    softmax_bwd_kernel<uint16_t><<<blocks_for(rows, tpr), 256, 0, stream()>>>(y.ptr<uint16_t>(), g.ptr<uint16_t>(), out.ptr<uint16_t>(), rows, k, log, tpr);
  cuda::check_launch(log ? "logSoftmax" : "softmax");
}

}  // namespace ms
