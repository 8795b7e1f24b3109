// elementwise_cpu.cpp — the reference: one loop over the broadcast plan, in parallel chunks.
#include <cstdint>

#include "../../core/thread_pool.h"
#include "elementwise.h"

namespace ms {
namespace {

template <BinaryOp OP, typename T>
inline T apply(T x, T y) {
  if constexpr (OP == BinaryOp::Add) return x + y;
  else return x * y;
}

// Load/store in the storage type, compute in float (bf16) or the type itself.
template <typename T> struct Io {
  using C = T;
  static C load(const T* p) { return *p; }
  static void store(T* p, C v) { *p = v; }
};
template <> struct Io<uint16_t> {
  using C = float;
  static C load(const uint16_t* p) { return bf16_to_f32(*p); }
  static void store(uint16_t* p, C v) { *p = f32_to_bf16(v); }
};
// int32 wraps on overflow (as PyTorch's does); compute through uint32 to keep it defined.
template <> struct Io<int32_t> {
  using C = uint32_t;
  static C load(const int32_t* p) { return static_cast<uint32_t>(*p); }
  static void store(int32_t* p, C v) { *p = static_cast<int32_t>(v); }
};

// ~32K elements per chunk: below that, waking a thread costs more than the loop (~10 us).
constexpr int64_t kGrain = 32768;

template <BinaryOp OP, typename T>
void run(const BroadcastPlan& p, const Tensor& a, const Tensor& b, Tensor& out) {
  using IO = Io<T>;
  const T* pa = a.ptr<T>();
  const T* pb = b.ptr<T>();
  T* po = out.ptr<T>();
  if (p.contiguous_same || p.ndim == 0) {
    // Same-shape contiguous, or all-size-1 dims: a flat loop the compiler vectorises.
    parallel_for(p.numel, kGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) IO::store(po + i, apply<OP>(IO::load(pa + i), IO::load(pb + i)));
    });
    return;
  }
  const int nd = p.ndim;
  const int64_t inner = p.shape[nd - 1], sa = p.stride_a[nd - 1], sb = p.stride_b[nd - 1];
  const int64_t rows = p.numel / inner;
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t offa = 0, offb = 0, rem = r;
      for (int d = nd - 2; d >= 0; --d) {
        int64_t idx = rem % p.shape[d];
        rem /= p.shape[d];
        offa += idx * p.stride_a[d];
        offb += idx * p.stride_b[d];
      }
      const T* ra = pa + offa;
      const T* rb = pb + offb;
      T* ro = po + r * inner;
      if (sa == 1 && sb == 1) {
        for (int64_t i = 0; i < inner; ++i) IO::store(ro + i, apply<OP>(IO::load(ra + i), IO::load(rb + i)));
      } else if (sa == 1 && sb == 0) {
        auto y = IO::load(rb);
        for (int64_t i = 0; i < inner; ++i) IO::store(ro + i, apply<OP>(IO::load(ra + i), y));
      } else if (sa == 0 && sb == 1) {
        auto x = IO::load(ra);
        for (int64_t i = 0; i < inner; ++i) IO::store(ro + i, apply<OP>(x, IO::load(rb + i)));
      } else {
        for (int64_t i = 0; i < inner; ++i)
          IO::store(ro + i, apply<OP>(IO::load(ra + i * sa), IO::load(rb + i * sb)));
      }
    }
  });
}

template <BinaryOp OP>
void dispatch_dtype(const BroadcastPlan& p, const Tensor& a, const Tensor& b, Tensor& out) {
  switch (a.dtype) {
    case DType::F32: run<OP, float>(p, a, b, out); break;
    case DType::BF16: run<OP, uint16_t>(p, a, b, out); break;
    case DType::I32: run<OP, int32_t>(p, a, b, out); break;
  }
}

}  // namespace

void binary_cpu(BinaryOp op, const BroadcastPlan& p, const Tensor& a, const Tensor& b, Tensor& out) {
  if (op == BinaryOp::Add) dispatch_dtype<BinaryOp::Add>(p, a, b, out);
  else dispatch_dtype<BinaryOp::Mul>(p, a, b, out);
}

}  // namespace ms
