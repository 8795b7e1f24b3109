#include <cmath>

#include "../../core/philox.h"
#include "../../core/thread_pool.h"
#include "creation.h"

namespace ms {
namespace {
constexpr int64_t kGrain = 32768;

template <typename F>
void store_each(Tensor& out, F value_of) {
  const int64_t n = out.numel();
  switch (out.dtype) {
    case DType::F32: {
      float* p = out.ptr<float>();
      parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) p[i] = static_cast<float>(value_of(i));
      });
      break;
    }
    case DType::BF16: {
      uint16_t* p = out.ptr<uint16_t>();
      parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) p[i] = f32_to_bf16(static_cast<float>(value_of(i)));
      });
      break;
    }
    case DType::I32: {
      int32_t* p = out.ptr<int32_t>();
      parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) p[i] = static_cast<int32_t>(value_of(i));
      });
      break;
    }
  }
}
}  // namespace

void fill_cpu(Tensor& out, double value) {
  store_each(out, [value](int64_t) { return value; });
}

void arange_cpu(Tensor& out, double start, double step) {
  store_each(out, [=](int64_t i) { return start + static_cast<double>(i) * step; });
}

void random_cpu(Tensor& out, RandKind kind, uint64_t seed, uint64_t offset) {
  if (kind == RandKind::Uniform)
    store_each(out, [=](int64_t i) { return philox_uniform(seed, offset, i); });
  else
    store_each(out, [=](int64_t i) { return philox_normal(seed, offset, i); });
}

}  // namespace ms
