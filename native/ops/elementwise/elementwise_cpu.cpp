// elementwise_cpu.cpp — the reference: loops over the broadcast plan, in parallel chunks. The
// op is a template parameter so each loop is a tight, vectorisable body; outputs are always
// fresh tensors, so their pointers are __restrict.
#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../../core/cpu_math.h"
#include "../../core/thread_pool.h"
#include "elementwise.h"
#include "elementwise_math.h"

namespace ms {
namespace {

// ~32K elements per chunk: below that, waking a thread costs more than the loop (~10 us).
constexpr int64_t kGrain = 32768;

template <typename T> struct Io {  // float32
  static float load(const T* p) { return *p; }
  static void store(T* p, float v) { *p = v; }
};
template <> struct Io<uint16_t> {
  static float load(const uint16_t* p) { return bf16_to_f32(*p); }
  static void store(uint16_t* p, float v) { *p = f32_to_bf16(v); }
};

// Walks the plan: for each row of the innermost dim, the operands' row starts, then `body`.
template <typename Row>
void for_rows(const BroadcastPlan& p, Row row) {
  const int nd = p.ndim;
  if (nd == 0) {
    int64_t off[kMaxOperands] = {0, 0, 0};
    row(0, off, 1);
    return;
  }
  const int64_t inner = p.shape[nd - 1];
  const int64_t rows = p.numel / inner;
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off[kMaxOperands] = {0, 0, 0}, rem = r;
      for (int d = nd - 2; d >= 0; --d) {
        int64_t idx = rem % p.shape[d];
        rem /= p.shape[d];
        for (int k = 0; k < p.nin; ++k) off[k] += idx * p.stride[k][d];
      }
      row(r * inner, off, inner);
    }
  });
}

template <BinaryOp OP, typename T>
void binary_run(const BroadcastPlan& p, const Tensor& a, const Tensor& b, Tensor& out) {
  const T* pa = a.ptr<T>();
  const T* pb = b.ptr<T>();
  T* po = out.ptr<T>();
  const int nd = p.ndim;
  const int64_t sa = nd ? p.stride[0][nd - 1] : 0, sb = nd ? p.stride[1][nd - 1] : 0;
  for_rows(p, [&](int64_t o, const int64_t* off, int64_t n) {
    const T* __restrict ra = pa + off[0];
    const T* __restrict rb = pb + off[1];
    T* __restrict ro = po + o;
    if constexpr (std::is_same<T, int32_t>::value) {
      for (int64_t i = 0; i < n; ++i) ro[i] = ew::binary_i(OP, ra[i * sa], rb[i * sb]);
    } else {
      using IO = Io<T>;
      if (sa == 1 && sb == 1) {
        for (int64_t i = 0; i < n; ++i) IO::store(ro + i, ew::binary_f(OP, IO::load(ra + i), IO::load(rb + i)));
      } else if (sa == 1 && sb == 0) {
        const float y = IO::load(rb);
        for (int64_t i = 0; i < n; ++i) IO::store(ro + i, ew::binary_f(OP, IO::load(ra + i), y));
      } else if (sa == 0 && sb == 1) {
        const float x = IO::load(ra);
        for (int64_t i = 0; i < n; ++i) IO::store(ro + i, ew::binary_f(OP, x, IO::load(rb + i)));
      } else {
        for (int64_t i = 0; i < n; ++i) IO::store(ro + i, ew::binary_f(OP, IO::load(ra + i * sa), IO::load(rb + i * sb)));
      }
    }
  });
}

template <BinaryOp OP>
void binary_dtype(const BroadcastPlan& p, const Tensor& a, const Tensor& b, Tensor& out) {
  switch (a.dtype) {
    case DType::F32: binary_run<OP, float>(p, a, b, out); break;
    case DType::BF16: binary_run<OP, uint16_t>(p, a, b, out); break;
    case DType::I32: binary_run<OP, int32_t>(p, a, b, out); break;
  }
}

template <typename T>
void where_run(const BroadcastPlan& p, const Tensor& c, const Tensor& a, const Tensor& b, Tensor& out) {
  const char* pc = static_cast<const char*>(c.data());
  const int64_t cs = dtype_size(c.dtype);
  const T* pa = a.ptr<T>();
  const T* pb = b.ptr<T>();
  T* po = out.ptr<T>();
  const int nd = p.ndim;
  const int64_t s0 = nd ? p.stride[0][nd - 1] : 0, s1 = nd ? p.stride[1][nd - 1] : 0, s2 = nd ? p.stride[2][nd - 1] : 0;
  const bool cond_f32 = c.dtype == DType::F32;
  const bool cond_bf16 = c.dtype == DType::BF16;
  for_rows(p, [&](int64_t o, const int64_t* off, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const char* cp = pc + (off[0] + i * s0) * cs;
      bool on;
      if (cond_f32) on = *reinterpret_cast<const float*>(cp) != 0.f;
      else if (cond_bf16) on = (*reinterpret_cast<const uint16_t*>(cp) & 0x7fff) != 0;
      else on = *reinterpret_cast<const int32_t*>(cp) != 0;
      po[o + i] = on ? pa[off[1] + i * s1] : pb[off[2] + i * s2];
    }
  });
}

template <UnaryOp OP, typename T>
void unary_run(const Tensor& x, float p0, float p1, Tensor& out) {
  const T* px_ = x.ptr<T>();
  T* po_ = out.ptr<T>();
  parallel_for(x.numel(), kGrain, [&](int64_t s, int64_t e) {
    const T* __restrict px = px_;
    T* __restrict po = po_;
    if constexpr (std::is_same<T, int32_t>::value) {
      for (int64_t i = s; i < e; ++i) po[i] = ew::unary_i(OP, px[i]);
    } else {
      for (int64_t i = s; i < e; ++i) Io<T>::store(po + i, ew::unary_f(OP, Io<T>::load(px + i), p0, p1));
    }
  });
}

template <UnaryOp OP, typename T>
void unary_bwd_run(const Tensor& x, const Tensor& y, const Tensor& g, float p0, float p1, Tensor& out) {
  const T* px_ = x.ptr<T>();
  const T* py_ = y.ptr<T>();
  const T* pg_ = g.ptr<T>();
  T* po_ = out.ptr<T>();
  parallel_for(x.numel(), kGrain, [&](int64_t s, int64_t e) {
    const T* __restrict px = px_;
    const T* __restrict py = py_;
    const T* __restrict pg = pg_;
    T* __restrict po = po_;
    if constexpr (OP == UnaryOp::Relu && std::is_same<T, float>::value) {
      // g where x > 0, else 0 (PyTorch's threshold_backward), as a bit mask so that it vectorises:
      // g * (x > 0) and a float ?: both compiled to a branch per element, mispredicted half the
      // time (ReLU forward + sum + backward on the (8, 144, 149, 39) front-end activation: 53 -> 17 ms).
      for (int64_t i = s; i < e; ++i) po[i] = cpu_math::blend(cpu_math::mask_of(px[i] > 0.f), pg[i], 0.f);
    } else {
      for (int64_t i = s; i < e; ++i)
        Io<T>::store(po + i, Io<T>::load(pg + i) * ew::unary_df(OP, Io<T>::load(px + i), Io<T>::load(py + i), p0, p1));
    }
  });
}

template <UnaryOp OP>
void unary_dtype(const Tensor& x, float p0, float p1, Tensor& out) {
  switch (x.dtype) {
    case DType::F32: unary_run<OP, float>(x, p0, p1, out); break;
    case DType::BF16: unary_run<OP, uint16_t>(x, p0, p1, out); break;
    case DType::I32: unary_run<OP, int32_t>(x, p0, p1, out); break;
  }
}

template <UnaryOp OP>
void unary_bwd_dtype(const Tensor& x, const Tensor& y, const Tensor& g, float p0, float p1, Tensor& out) {
  if (g.dtype == DType::BF16) unary_bwd_run<OP, uint16_t>(x, y, g, p0, p1, out);
  else unary_bwd_run<OP, float>(x, y, g, p0, p1, out);
}

// Tables of instantiations indexed by the enum, so the op switch happens once per call.
template <size_t... I>
constexpr auto make_binary(std::index_sequence<I...>) {
  return std::array<void (*)(const BroadcastPlan&, const Tensor&, const Tensor&, Tensor&), sizeof...(I)>{
      &binary_dtype<static_cast<BinaryOp>(I)>...};
}
template <size_t... I>
constexpr auto make_unary(std::index_sequence<I...>) {
  return std::array<void (*)(const Tensor&, float, float, Tensor&), sizeof...(I)>{&unary_dtype<static_cast<UnaryOp>(I)>...};
}
template <size_t... I>
constexpr auto make_unary_bwd(std::index_sequence<I...>) {
  return std::array<void (*)(const Tensor&, const Tensor&, const Tensor&, float, float, Tensor&), sizeof...(I)>{
      &unary_bwd_dtype<static_cast<UnaryOp>(I)>...};
}

const auto kBinary = make_binary(std::make_index_sequence<static_cast<size_t>(BinaryOp::Count)>{});
const auto kUnary = make_unary(std::make_index_sequence<static_cast<size_t>(UnaryOp::Count)>{});
const auto kUnaryBwd = make_unary_bwd(std::make_index_sequence<static_cast<size_t>(UnaryOp::Count)>{});

}  // namespace

void binary_cpu(BinaryOp op, const BroadcastPlan& p, const Tensor& a, const Tensor& b, Tensor& out) {
  kBinary[static_cast<size_t>(op)](p, a, b, out);
}

void where_cpu(const BroadcastPlan& p, const Tensor& c, const Tensor& a, const Tensor& b, Tensor& out) {
  if (dtype_size(a.dtype) == 2) where_run<uint16_t>(p, c, a, b, out);
  else where_run<uint32_t>(p, c, a, b, out);
}

void unary_cpu(UnaryOp op, const Tensor& x, float p0, float p1, Tensor& out) {
  kUnary[static_cast<size_t>(op)](x, p0, p1, out);
}

void unary_backward_cpu(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& g, float p0, float p1, Tensor& out) {
  kUnaryBwd[static_cast<size_t>(op)](x, y, g, p0, p1, out);
}

}  // namespace ms
