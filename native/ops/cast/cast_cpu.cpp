#include "../../core/thread_pool.h"
#include "cast.h"
#include "cast_convert.h"

namespace ms {
namespace {
template <typename S, typename D>
void run(const Tensor& src, Tensor& dst) {
  const S* s = src.ptr<S>();
  D* d = dst.ptr<D>();
  parallel_for(src.numel(), 32768, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) store_from<D>(d + i, load_as_float<S>(s + i));
  });
}
template <typename S>
void run_to(const Tensor& src, Tensor& dst) {
  switch (dst.dtype) {
    case DType::F32: run<S, float>(src, dst); break;
    case DType::BF16: run<S, uint16_t>(src, dst); break;
    case DType::I32: run<S, int32_t>(src, dst); break;
  }
}
}  // namespace

void convert_cpu(const Tensor& src, Tensor& dst) {
  switch (src.dtype) {
    case DType::F32: run_to<float>(src, dst); break;
    case DType::BF16: run_to<uint16_t>(src, dst); break;
    case DType::I32:
      // int32 -> float32 through float would lose nothing extra; int32 -> int32 never gets here.
      run_to<int32_t>(src, dst);
      break;
  }
}

}  // namespace ms
