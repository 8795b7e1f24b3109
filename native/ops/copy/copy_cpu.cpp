#include <algorithm>
#include <cstring>
#include <vector>

#include "../../core/thread_pool.h"
#include "copy.h"

namespace ms {
namespace {
// A transposed view made contiguous (x's innermost dim strided, another dim j of stride 1): the
// row loop below would gather each output row one element per cache line. Instead every
// (j, last) plane is copied in 32 x 32 tiles: rows of the tile read along j (contiguous in x),
// written along the last dim (contiguous in out), through a 4 KiB buffer. (600, 576)^T: ~9x.
template <typename T>
bool transpose_planes(const Tensor& x, Tensor& out) {
  const int nd = static_cast<int>(x.ndim());
  const int64_t si = x.strides[nd - 1];
  if (nd < 2 || si == 1 || x.shape[nd - 1] < 8) return false;
  int j = -1;
  for (int d = nd - 2; d >= 0; --d)
    if (x.strides[d] == 1 && x.shape[d] >= 8) { j = d; break; }
  if (j < 0) return false;
  std::vector<int64_t> os(nd);  // out's row-major strides
  int64_t acc = 1;
  for (int d = nd - 1; d >= 0; --d) { os[d] = acc; acc *= x.shape[d]; }
  const int64_t A = x.shape[j], B = x.shape[nd - 1], osj = os[j];
  constexpr int64_t kT = 32;
  const int64_t ta = (A + kT - 1) / kT, planes = x.numel() / (A * B);
  const T* src = x.ptr<T>();
  T* dst = out.ptr<T>();
  parallel_for(planes * ta, std::max<int64_t>(1, 16384 / (kT * B)), [&](int64_t s0, int64_t s1) {
    T tile[kT * kT];
    for (int64_t it = s0; it < s1; ++it) {
      int64_t rem = it / ta, xo = 0, oo = 0;  // plane `it / ta`: offsets over the dims other than j and the last
      for (int d = nd - 2; d >= 0; --d) {
        if (d == j) continue;
        const int64_t idx = rem % x.shape[d];
        rem /= x.shape[d];
        xo += idx * x.strides[d];
        oo += idx * os[d];
      }
      const int64_t a0 = (it % ta) * kT, a1 = std::min(A, a0 + kT);
      for (int64_t b0 = 0; b0 < B; b0 += kT) {
        const int64_t b1 = std::min(B, b0 + kT);
        for (int64_t b = b0; b < b1; ++b) {
          const T* sp = src + xo + b * si;
          for (int64_t a = a0; a < a1; ++a) tile[(a - a0) * kT + (b - b0)] = sp[a];
        }
        for (int64_t a = a0; a < a1; ++a)
          std::memcpy(dst + oo + a * osj + b0, tile + (a - a0) * kT, static_cast<size_t>(b1 - b0) * sizeof(T));
      }
    }
  });
  return true;
}

template <typename T>
void run(const Tensor& x, Tensor& out) {
  if (transpose_planes<T>(x, out)) return;
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
