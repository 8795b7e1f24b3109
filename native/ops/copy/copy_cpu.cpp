#include <algorithm>
#include <cstring>
#include <vector>

#include "../../core/thread_pool.h"
#include "copy.h"

namespace ms {
namespace {
template <typename T>
void run(const Tensor& x, Tensor& out) {
  const int nd = static_cast<int>(x.ndim());
  const int64_t inner = x.shape[nd - 1], si = x.strides[nd - 1];
  const int64_t rows = x.numel() / inner;
  const T* src = x.ptr<T>();
  T* dst = out.ptr<T>();
  parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t off = 0, rem = r;
      for (int d = nd - 2; d >= 0; --d) {
        off += (rem % x.shape[d]) * x.strides[d];
        rem /= x.shape[d];
      }
      const T* s = src + off;
      T* o = dst + r * inner;
      if (si == 1) std::memcpy(o, s, static_cast<size_t>(inner) * sizeof(T));
      else for (int64_t i = 0; i < inner; ++i) o[i] = s[i * si];
    }
  });
}
template <typename T>
void into(const Tensor& dst, const Tensor& src) {
  const int nd = static_cast<int>(dst.ndim());
  std::vector<int64_t> ss(nd, 0);  // src strides aligned to dst dims, 0 where broadcast
  for (int i = 0; i < src.ndim(); ++i) {
    int d = nd - static_cast<int>(src.ndim()) + i;
    ss[d] = src.shape[i] == 1 ? 0 : src.strides[i];
  }
  const int64_t inner = nd ? dst.shape[nd - 1] : 1;
  const int64_t sdi = nd ? dst.strides[nd - 1] : 1, ssi = nd ? ss[nd - 1] : 0;
  const int64_t rows = dst.numel() / inner;
  T* pd = dst.ptr<T>();
  const T* ps = src.ptr<T>();
  parallel_for(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t od = 0, os = 0, rem = r;
      for (int d = nd - 2; d >= 0; --d) {
        int64_t idx = rem % dst.shape[d];
        rem /= dst.shape[d];
        od += idx * dst.strides[d];
        os += idx * ss[d];
      }
      for (int64_t i = 0; i < inner; ++i) pd[od + i * sdi] = ps[os + i * ssi];
    }
  });
}
}  // namespace

void copy_into_cpu(const Tensor& dst, const Tensor& src) {
  if (dtype_size(dst.dtype) == 2) into<uint16_t>(dst, src);
  else into<uint32_t>(dst, src);
}

void strided_copy_cpu(const Tensor& x, Tensor& out) {
  if (x.ndim() == 0) {
    std::memcpy(out.data(), x.data(), static_cast<size_t>(dtype_size(x.dtype)));
    return;
  }
  if (dtype_size(x.dtype) == 2) run<uint16_t>(x, out);
  else run<uint32_t>(x, out);
}

}  // namespace ms
