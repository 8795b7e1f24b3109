// reduce_cpu.cpp — row reductions and softmax, accumulated in double. One row per task item.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "../../core/cpu_isa.h"
#include "../../core/cpu_math.h"
#include "../../core/thread_pool.h"
#include "reduce.h"

namespace ms {
namespace {

template <typename T> inline double ld(const T* p, int64_t i) { return static_cast<double>(p[i]); }
template <> inline double ld<uint16_t>(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
template <typename T> inline void st(T* p, int64_t i, double v) { p[i] = static_cast<T>(v); }
template <> inline void st<uint16_t>(uint16_t* p, int64_t i, double v) { p[i] = f32_to_bf16(static_cast<float>(v)); }
template <> inline void st<int32_t>(int32_t* p, int64_t i, double v) { p[i] = static_cast<int32_t>(static_cast<int64_t>(v)); }

int64_t grain(int64_t k) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(k, 1)); }

// Index of the first maximum (mx) or minimum of row[0, k) (k >= 8), or of its first NaN.
int64_t extreme_index(const float* row, int64_t k, bool mx) {
  float m[8];
  bool nan = false;
  for (int j = 0; j < 8; ++j) m[j] = row[j];
  int64_t i = 8;
  if (mx) {
    for (; i + 8 <= k; i += 8)
      for (int j = 0; j < 8; ++j) { const float v = row[i + j]; m[j] = v > m[j] ? v : m[j]; }
  } else {
    for (; i + 8 <= k; i += 8)
      for (int j = 0; j < 8; ++j) { const float v = row[i + j]; m[j] = v < m[j] ? v : m[j]; }
  }
  float best = m[0];
  for (int j = 1; j < 8; ++j) best = mx ? (m[j] > best ? m[j] : best) : (m[j] < best ? m[j] : best);
  for (; i < k; ++i) best = mx ? (row[i] > best ? row[i] : best) : (row[i] < best ? row[i] : best);
  for (int64_t q = 0; q < k; ++q) nan |= row[q] != row[q];
  if (nan) {
    for (int64_t q = 0; q < k; ++q) if (row[q] != row[q]) return q;
  }
  for (int64_t q = 0; q < k; ++q) if (row[q] == best) return q;
  return 0;
}

template <typename T>
void reduce_run(ReduceOp op, const Tensor& x, int64_t rows, int64_t k, double p, Tensor& out) {
  const T* px = x.ptr<T>();
  parallel_for(rows, grain(k), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* row = px + r * k;
      switch (op) {
        case ReduceOp::Sum:
        case ReduceOp::Mean: {
          if constexpr (std::is_same<T, int32_t>::value) {
            uint32_t s = 0;  // wraps like int32 arithmetic
            for (int64_t i = 0; i < k; ++i) s += static_cast<uint32_t>(row[i]);
            out.ptr<int32_t>()[r] = static_cast<int32_t>(s);
          } else {
            // Eight double accumulators folded in a fixed order: one running sum waits ~4 cycles
            // per element on the add before it; the same inputs still give the same bits.
            double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t i = 0;
            for (; i + 8 <= k; i += 8)
              for (int j = 0; j < 8; ++j) a[j] += ld(row, i + j);
            for (; i < k; ++i) a[0] += ld(row, i);
            const double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            st(out.ptr<T>(), r, op == ReduceOp::Mean ? (k ? s / k : NAN) : s);
          }
          break;
        }
        case ReduceOp::Max:
        case ReduceOp::Min:
        case ReduceOp::ArgMax:
        case ReduceOp::ArgMin: {
          const bool mx = op == ReduceOp::Max || op == ReduceOp::ArgMax;
          if constexpr (std::is_same<T, float>::value) {
            // float rows: the extreme by eight lanes of float compares (exact: float -> double
            // keeps the order), then the first index holding it (or the first NaN, which wins
            // as below); the value written is that element, so ties (-0 / +0) resolve as the
            // scalar scan's "first of the equals".
            if (k >= 16) {
              const int64_t at = extreme_index(row, k, mx);
              if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) out.ptr<int32_t>()[r] = static_cast<int32_t>(at);
              else st(out.ptr<T>(), r, ld(row, at));
              break;
            }
          }
          double best = ld(row, 0);
          int64_t at = 0;
          for (int64_t i = 1; i < k && best == best; ++i) {  // a NaN wins and stops the scan
            double v = ld(row, i);
            if (v != v || (mx ? v > best : v < best)) { best = v; at = i; }
          }
          if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) out.ptr<int32_t>()[r] = static_cast<int32_t>(at);
          else st(out.ptr<T>(), r, best);
          break;
        }
        case ReduceOp::LogSumExp: {
          double m = -std::numeric_limits<double>::infinity();
          for (int64_t i = 0; i < k; ++i) m = std::max(m, ld(row, i));
          double s = 0;
          if (std::isinf(m)) { st(out.ptr<T>(), r, m > 0 || k == 0 ? m : -INFINITY); break; }
          for (int64_t i = 0; i < k; ++i) s += std::exp(ld(row, i) - m);
          st(out.ptr<T>(), r, m + std::log(s));
          break;
        }
        case ReduceOp::Var: {
          double mean = 0, m2 = 0;  // Welford: stable for large means
          for (int64_t i = 0; i < k; ++i) {
            double v = ld(row, i), d = v - mean;
            mean += d / (i + 1);
            m2 += d * (v - mean);
          }
          double dof = static_cast<double>(k) - p;
          st(out.ptr<T>(), r, dof > 0 ? m2 / dof : NAN);
          break;
        }
        default: break;
      }
    }
  });
}

template <typename T>
void softmax_run(const Tensor& x, int64_t rows, int64_t k, bool log, Tensor& out) {
  const T* px = x.ptr<T>();
  T* po = out.ptr<T>();
  parallel_for(rows, grain(k), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* row = px + r * k;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < k; ++i) m = std::max(m, ld(row, i));
      if (std::isinf(m) && m < 0) m = 0;  // an all -inf row: softmax of it is NaN in PyTorch; keep that
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += std::exp(ld(row, i) - m);
      double lse = m + std::log(s);
      for (int64_t i = 0; i < k; ++i) {
        double v = ld(row, i) - lse;
        st(po, r * k + i, log ? v : std::exp(v));
      }
    }
  });
}

template <typename T>
void softmax_bwd_run(const Tensor& y, const Tensor& g, int64_t rows, int64_t k, bool log, Tensor& out) {
  const T* py = y.ptr<T>();
  const T* pg = g.ptr<T>();
  T* po = out.ptr<T>();
  parallel_for(rows, grain(k), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r * k;
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += log ? ld(pg, o + i) : ld(pg, o + i) * ld(py, o + i);
      for (int64_t i = 0; i < k; ++i) {
        double yv = ld(py, o + i), gv = ld(pg, o + i);
        st(po, o + i, log ? gv - std::exp(yv) * s : yv * (gv - s));
      }
    }
  });
}

}  // namespace

void reduce_rows_cpu(ReduceOp op, const Tensor& x, int64_t rows, int64_t k, double p, Tensor& out) {
  switch (x.dtype) {
    case DType::F32: reduce_run<float>(op, x, rows, k, p, out); break;
    case DType::BF16: reduce_run<uint16_t>(op, x, rows, k, p, out); break;
    case DType::I32: reduce_run<int32_t>(op, x, rows, k, p, out); break;
  }
}
namespace {
// Columns [c0, c1) of slab o: acc[c] = sum over k of x[o][k][c], rows streamed in order (each
// row's stretch is contiguous, so the loads vectorise and the accumulators stay in L1). One copy
// per ISA for float32 (the loop is float -> double converts and double adds: 2 lanes baseline,
// 8 with AVX-512); the same adds in the same order in every copy, so the same bits.
template <typename T>
MS_INLINE void cols_block(const T* x, T* out, int64_t k, int64_t inner, int64_t c0, int64_t c1, bool mean) {
  constexpr int64_t kW = 256;  // accumulators per block: 2 KiB of doubles
  double acc[kW];
  for (int64_t b0 = c0; b0 < c1; b0 += kW) {
    const int64_t w = std::min(kW, c1 - b0);
    std::fill(acc, acc + w, 0.0);
    for (int64_t r = 0; r < k; ++r) {
      const T* row = x + r * inner + b0;
      for (int64_t c = 0; c < w; ++c) acc[c] += ld(row, c);
    }
    for (int64_t c = 0; c < w; ++c) st(out, b0 + c, mean ? (k ? acc[c] / k : NAN) : acc[c]);
  }
}
using ColsF32 = void (*)(const float*, float*, int64_t, int64_t, int64_t, int64_t, bool);
void cols_f32_base(const float* x, float* o, int64_t k, int64_t n, int64_t c0, int64_t c1, bool m) { cols_block(x, o, k, n, c0, c1, m); }
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma"))) void cols_f32_avx2(const float* x, float* o, int64_t k, int64_t n, int64_t c0, int64_t c1, bool m) {
  cols_block(x, o, k, n, c0, c1, m);
}
__attribute__((target("avx512f,fma"))) void cols_f32_avx512(const float* x, float* o, int64_t k, int64_t n, int64_t c0, int64_t c1, bool m) {
  cols_block(x, o, k, n, c0, c1, m);
}
#define MS_REDUCE_X86 1
#endif
ColsF32 cols_f32() {
#ifdef MS_REDUCE_X86
  if (cpu_isa() == CpuIsa::Avx512) return cols_f32_avx512;
  if (cpu_isa() == CpuIsa::Avx2) return cols_f32_avx2;
#endif
  return cols_f32_base;
}
}  // namespace

void reduce_cols_cpu(ReduceOp op, const Tensor& x, int64_t outer, int64_t k, int64_t inner, Tensor& out) {
  const bool mean = op == ReduceOp::Mean;
  const ColsF32 f32 = cols_f32();
  // Work items: (slab, 256-column block); each writes its own outputs.
  const int64_t nb = (inner + 255) / 256, items = outer * nb;
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, k * 256));
  parallel_for(items, grain, [&](int64_t s, int64_t e) {
    for (int64_t it = s; it < e; ++it) {
      const int64_t o = it / nb, c0 = (it % nb) * 256, c1 = std::min(inner, c0 + 256);
      if (x.dtype == DType::BF16)
        cols_block(x.ptr<uint16_t>() + o * k * inner, out.ptr<uint16_t>() + o * inner, k, inner, c0, c1, mean);
      else
        f32(x.ptr<float>() + o * k * inner, out.ptr<float>() + o * inner, k, inner, c0, c1, mean);
    }
  });
}

void softmax_rows_cpu(const Tensor& x, int64_t rows, int64_t k, bool log, Tensor& out) {
  if (x.dtype == DType::BF16) softmax_run<uint16_t>(x, rows, k, log, out);
  else softmax_run<float>(x, rows, k, log, out);
}
void softmax_rows_backward_cpu(const Tensor& y, const Tensor& g, int64_t rows, int64_t k, bool log, Tensor& out) {
  if (y.dtype == DType::BF16) softmax_bwd_run<uint16_t>(y, g, rows, k, log, out);
  else softmax_bwd_run<float>(y, g, rows, k, log, out);
}

}  // namespace ms
