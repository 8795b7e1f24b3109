// conv_depthwise_cpu.cpp — direct CPU kernels for convs with one input channel per group (conv.h:
// output o reads input channel o / M, M = Cout / G <= 4), e.g. the Conformer's k = 31 conv.
//
// 1-D convs with stride 1 (the Conformer's) are correlations of a zero-padded row with the
// kernel: out[t] = sum_k w[k] src[t + k d]. They run 16 outputs at a time with the 16 sums in
// registers (one load and one FMA per tap), the row padded in a per-thread buffer so the inner
// loop has no bounds tests; compiled once per ISA (AVX-512, AVX2 + FMA, baseline) and picked at
// run time. The input gradient is the same correlation of the padded dy with the flipped kernel;
// the weight gradient is a dot product of dy with the shifted padded x per tap (16 float lanes per
// item, summed in double over items). Other geometries (2-D, strided) use the plain loops below.
// Every output element is written by one task in a fixed order: deterministic for any thread count.
#include <algorithm>
#include <cstring>

#include "../../core/cpu_isa.h"
#include "../../core/thread_pool.h"
#include "conv.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MS_DW_X86 1
#endif
#if defined(__GNUC__) || defined(__clang__)
#define MS_DW_INLINE inline __attribute__((always_inline))  // so each ISA's copy inlines its own
#else
#define MS_DW_INLINE inline
#endif

namespace ms {
namespace {

constexpr int64_t V = 16;  // outputs per register block

int64_t grain(int64_t work) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work)); }
int64_t round16(int64_t n) { return (n + V - 1) / V * V; }

// The input row/column an output position reads through tap k, or -1 when it falls in the padding.
inline int64_t src_of(int64_t o, int64_t k, int64_t s, int64_t p, int64_t d, int64_t in) {
  const int64_t i = o * s - p + k * d;
  return i >= 0 && i < in ? i : -1;
}
// The output position that reads input i through tap k, or -1 when none does.
inline int64_t dst_of(int64_t i, int64_t k, int64_t s, int64_t p, int64_t d, int64_t out) {
  const int64_t num = i + p - k * d;
  if (num < 0 || num % s != 0) return -1;
  const int64_t o = num / s;
  return o < out ? o : -1;
}

// ---- 1-D, stride 1.

// dst[u] = src[u - shift] for u < len (0 where src has no element; src has n elements).
MS_DW_INLINE void padded(const float* src, int64_t n, int64_t shift, int64_t len, float* dst) {
  const int64_t lo = std::clamp<int64_t>(shift, 0, len), hi = std::clamp<int64_t>(shift + n, lo, len);
  std::fill(dst, dst + lo, 0.f);
  std::memcpy(dst + lo, src + (lo - shift), static_cast<size_t>(hi - lo) * 4);
  std::fill(dst + hi, dst + len, 0.f);
}

// out[t] = init + sum_k w[k] src[t + k d] for t < round16(n) (acc: out[t] += the sum instead).
// src must hold round16(n) + (K - 1) d floats.
MS_DW_INLINE void corr(const float* __restrict src, const float* __restrict w, int64_t K, int64_t d, int64_t n,
                       float init, bool acc, float* __restrict out) {
  for (int64_t t = 0; t < n; t += V) {
    float a[V];
    for (int64_t l = 0; l < V; ++l) a[l] = acc ? out[t + l] : init;
    for (int64_t k = 0; k < K; ++k) {
      const float wk = w[k];
      const float* s = src + t + k * d;
      for (int64_t l = 0; l < V; ++l) a[l] += wk * s[l];
    }
    for (int64_t l = 0; l < V; ++l) out[t + l] = a[l];
  }
}

struct Ctx {
  const ConvGeom* g;
  const float *x, *w, *dy, *bias;
  float* out;
};

MS_DW_INLINE void fwd_rows_impl(const Ctx& c, int64_t r0, int64_t r1) {
  const ConvGeom& g = *c.g;
  const int64_t M = g.Cout / g.G, K = g.kw, n = g.ow, len = round16(n) + (K - 1) * g.dw;
  float* xp = thread_buffer(2, static_cast<size_t>(len));
  float* tmp = thread_buffer(3, static_cast<size_t>(round16(n)));
  for (int64_t r = r0; r < r1; ++r) {  // r = (item, output channel)
    const int64_t item = r / g.Cout, o = r % g.Cout;
    padded(c.x + (item * g.Cin + o / M) * g.iw, g.iw, g.pw, len, xp);
    corr(xp, c.w + o * K, K, g.dw, n, c.bias ? c.bias[o] : 0.f, false, tmp);
    std::memcpy(c.out + r * n, tmp, static_cast<size_t>(n) * 4);
  }
}

// dx[i] = bias + sum_m sum_k w[o, k] dy_o[i + p - k d] = sum over the flipped kernel of dy_o
// shifted by (K - 1) d - p.
MS_DW_INLINE void bwd_input_rows_impl(const Ctx& c, int64_t r0, int64_t r1) {
  const ConvGeom& g = *c.g;
  const int64_t M = g.Cout / g.G, K = g.kw, n = g.iw, len = round16(n) + (K - 1) * g.dw;
  float* src = thread_buffer(2, static_cast<size_t>(len));
  float* tmp = thread_buffer(3, static_cast<size_t>(round16(n) + K));
  float* wf = tmp + round16(n);
  for (int64_t r = r0; r < r1; ++r) {  // r = (item, input channel)
    const int64_t item = r / g.Cin, ci = r % g.Cin;
    for (int64_t m = 0; m < M; ++m) {
      const int64_t o = ci * M + m;
      padded(c.dy + (item * g.Cout + o) * g.ow, g.ow, (K - 1) * g.dw - g.pw, len, src);
      for (int64_t k = 0; k < K; ++k) wf[k] = c.w[o * K + K - 1 - k];
      corr(src, wf, K, g.dw, n, c.bias ? c.bias[ci] : 0.f, m > 0, tmp);
    }
    std::memcpy(c.out + r * n, tmp, static_cast<size_t>(n) * 4);
  }
}

// dw[o, k] = sum_items sum_t dy_o[t] xp[t + k d], xp the padded input row: 16 float lanes per tap
// over all items (a few hundred terms each), then the lanes pairwise in double.
MS_DW_INLINE void bwd_weight_rows_impl(const Ctx& c, int64_t r0, int64_t r1) {
  const ConvGeom& g = *c.g;
  const int64_t M = g.Cout / g.G, K = g.kw, n = g.ow, n16 = round16(n), len = n16 + (K - 1) * g.dw;
  float* xp = thread_buffer(2, static_cast<size_t>(len));
  float* dyp = thread_buffer(3, static_cast<size_t>(n16));
  constexpr int64_t kTaps = 32;  // taps per pass: 32 x 16 lanes = 2 KB of sums on the stack
  for (int64_t o = r0; o < r1; ++o) {
    for (int64_t k0 = 0; k0 < K; k0 += kTaps) {
      const int64_t kn = std::min<int64_t>(kTaps, K - k0);
      float lane[kTaps][V] = {};
      for (int64_t item = 0; item < g.N; ++item) {
        padded(c.x + (item * g.Cin + o / M) * g.iw, g.iw, g.pw, len, xp);
        padded(c.dy + (item * g.Cout + o) * n, n, 0, n16, dyp);
        for (int64_t k = 0; k < kn; ++k) {
          const float* s = xp + (k0 + k) * g.dw;
          for (int64_t t = 0; t < n16; t += V)
            for (int64_t l = 0; l < V; ++l) lane[k][l] += dyp[t + l] * s[t + l];
        }
      }
      for (int64_t k = 0; k < kn; ++k) {
        double d[V];
        for (int64_t l = 0; l < V; ++l) d[l] = lane[k][l];
        for (int64_t h = V / 2; h >= 1; h /= 2)
          for (int64_t l = 0; l < h; ++l) d[l] += d[l + h];
        c.out[o * K + k0 + k] = static_cast<float>(d[0]);
      }
    }
  }
}

using RowsFn = void (*)(const Ctx&, int64_t, int64_t);
struct Kernels {
  RowsFn fwd, bwd_input, bwd_weight;
};
void fwd_base(const Ctx& c, int64_t a, int64_t b) { fwd_rows_impl(c, a, b); }
void bin_base(const Ctx& c, int64_t a, int64_t b) { bwd_input_rows_impl(c, a, b); }
void bw_base(const Ctx& c, int64_t a, int64_t b) { bwd_weight_rows_impl(c, a, b); }
#ifdef MS_DW_X86
__attribute__((target("avx2,fma"))) void fwd_avx2(const Ctx& c, int64_t a, int64_t b) { fwd_rows_impl(c, a, b); }
__attribute__((target("avx2,fma"))) void bin_avx2(const Ctx& c, int64_t a, int64_t b) { bwd_input_rows_impl(c, a, b); }
__attribute__((target("avx2,fma"))) void bw_avx2(const Ctx& c, int64_t a, int64_t b) { bwd_weight_rows_impl(c, a, b); }
__attribute__((target("avx512f,fma"))) void fwd_avx512(const Ctx& c, int64_t a, int64_t b) { fwd_rows_impl(c, a, b); }
__attribute__((target("avx512f,fma"))) void bin_avx512(const Ctx& c, int64_t a, int64_t b) { bwd_input_rows_impl(c, a, b); }
__attribute__((target("avx512f,fma"))) void bw_avx512(const Ctx& c, int64_t a, int64_t b) { bwd_weight_rows_impl(c, a, b); }
#endif

const Kernels& kernels() {
  static const Kernels k = [] {
#ifdef MS_DW_X86
    if (cpu_isa() == CpuIsa::Avx512) return Kernels{fwd_avx512, bin_avx512, bw_avx512};
    if (cpu_isa() == CpuIsa::Avx2) return Kernels{fwd_avx2, bin_avx2, bw_avx2};
#endif
    return Kernels{fwd_base, bin_base, bw_base};
  }();
  return k;
}

bool fast_1d(const ConvGeom& g) { return g.spatial == 1 && g.sw == 1; }

}  // namespace

void depthwise_fwd_cpu(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y) {
  const float *px = x.ptr<float>(), *pw = w.ptr<float>();
  float* py = y.ptr<float>();
  const int64_t M = g.Cout / g.G, taps = g.kh * g.kw;
  if (fast_1d(g)) {
    const Ctx c{&g, px, pw, nullptr, bias, py};
    parallel_for(g.N * g.Cout, grain(g.P() * taps), [&](int64_t r0, int64_t r1) { kernels().fwd(c, r0, r1); });
    return;
  }
  parallel_for(g.N * g.Cout, grain(g.P() * taps), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.Cout, o = r % g.Cout;
      const float* xp = px + (n * g.Cin + o / M) * g.ih * g.iw;
      const float* wo = pw + o * taps;
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          float s = bias ? bias[o] : 0.f;
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = src_of(oy, ky, g.sh, g.ph, g.dh, g.ih);
            if (iy < 0) continue;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ix = src_of(ox, kx, g.sw, g.pw, g.dw, g.iw);
              if (ix >= 0) s += wo[ky * g.kw + kx] * xp[iy * g.iw + ix];
            }
          }
          py[r * g.P() + oy * g.ow + ox] = s;
        }
    }
  });
}

void depthwise_bwd_input_cpu(const ConvGeom& g, const Tensor& dy, const Tensor& w, const float* bias, Tensor& dx) {
  const float *pg = dy.ptr<float>(), *pw = w.ptr<float>();
  float* pd = dx.ptr<float>();
  const int64_t M = g.Cout / g.G, taps = g.kh * g.kw;
  if (fast_1d(g)) {
    const Ctx c{&g, nullptr, pw, pg, bias, pd};
    parallel_for(g.N * g.Cin, grain(g.iw * taps * M), [&](int64_t r0, int64_t r1) { kernels().bwd_input(c, r0, r1); });
    return;
  }
  parallel_for(g.N * g.Cin, grain(g.ih * g.iw * taps * M), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.Cin, ci = r % g.Cin;
      for (int64_t iy = 0; iy < g.ih; ++iy)
        for (int64_t ix = 0; ix < g.iw; ++ix) {
          float s = bias ? bias[ci] : 0.f;
          for (int64_t m = 0; m < M; ++m) {
            const int64_t o = ci * M + m;
            const float* gp = pg + (n * g.Cout + o) * g.P();
            for (int64_t ky = 0; ky < g.kh; ++ky) {
              const int64_t oy = dst_of(iy, ky, g.sh, g.ph, g.dh, g.oh);
              if (oy < 0) continue;
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t ox = dst_of(ix, kx, g.sw, g.pw, g.dw, g.ow);
                if (ox >= 0) s += pw[o * taps + ky * g.kw + kx] * gp[oy * g.ow + ox];
              }
            }
          }
          pd[r * g.ih * g.iw + iy * g.iw + ix] = s;
        }
    }
  });
}

void depthwise_bwd_weight_cpu(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw,
                              const std::shared_ptr<Accounting>&) {
  const float *px = x.ptr<float>(), *pg = dy.ptr<float>();
  float* pd = dw.ptr<float>();
  const int64_t M = g.Cout / g.G, taps = g.kh * g.kw;
  if (fast_1d(g)) {
    const Ctx c{&g, px, nullptr, pg, nullptr, pd};
    parallel_for(g.Cout, grain(g.N * g.P() * taps), [&](int64_t r0, int64_t r1) { kernels().bwd_weight(c, r0, r1); });
    return;
  }
  parallel_for(g.Cout * taps, grain(g.N * g.P()), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / taps, ky = (r % taps) / g.kw, kx = r % g.kw;
      double s = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const float* xp = px + (n * g.Cin + o / M) * g.ih * g.iw;
        const float* gp = pg + (n * g.Cout + o) * g.P();
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = src_of(oy, ky, g.sh, g.ph, g.dh, g.ih);
          if (iy < 0) continue;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t ix = src_of(ox, kx, g.sw, g.pw, g.dw, g.iw);
            if (ix >= 0) s += double(gp[oy * g.ow + ox]) * xp[iy * g.iw + ix];
          }
        }
      }
      pd[r] = static_cast<float>(s);
    }
  });
}

}  // namespace ms
