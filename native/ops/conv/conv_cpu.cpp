// conv_cpu.cpp — the readable reference of the conv primitives (float32; see conv.h). Every
// output element is written by one task; sums run in a fixed order (deterministic).
#include <algorithm>
#include <vector>

#include "../../core/thread_pool.h"
#include "conv.h"

namespace ms {
namespace {

int64_t grain(int64_t work) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work)); }

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

}  // namespace

void im2col_cpu(const ConvGeom& g, const Tensor& x, int64_t n0, int64_t nc, Tensor& col) {
  const float* px = x.ptr<float>();
  float* pc = col.ptr<float>();
  const int64_t P = g.P(), taps = g.kh * g.kw;
  // Task = one (group, channel, tap) row of one batch item: P outputs.
  parallel_for(g.G * g.Kc() * nc, grain(P), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r % nc, row = r / nc;  // row = (grp * cin_g + c) * taps + tap
      const int64_t tap = row % taps, ch = row / taps;  // ch = grp * cin_g + c = the input channel
      const int64_t ky = tap / g.kw, kx = tap % g.kw;
      const float* xp = px + ((n0 + n) * g.Cin + ch) * g.ih * g.iw;
      float* out = pc + r * P;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const int64_t iy = src_of(oy, ky, g.sh, g.ph, g.dh, g.ih);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t ix = src_of(ox, kx, g.sw, g.pw, g.dw, g.iw);
          out[oy * g.ow + ox] = (iy >= 0 && ix >= 0) ? xp[iy * g.iw + ix] : 0.f;
        }
      }
    }
  });
}

void col2im_cpu(const ConvGeom& g, const Tensor& col, int64_t grp, const float* bias, int64_t n0, int64_t nc, Tensor& dx) {
  const float* pc = col.ptr<float>();  // (Kc, nc, P) of group grp
  float* pd = dx.ptr<float>();
  const int64_t cin_g = g.Cin / g.G, P = g.P();
  parallel_for(nc * cin_g, grain(g.ih * g.iw * g.kh * g.kw), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / cin_g, c = r % cin_g, ci = grp * cin_g + c;
      float* out = pd + ((n0 + n) * g.Cin + ci) * g.ih * g.iw;
      for (int64_t iy = 0; iy < g.ih; ++iy)
        for (int64_t ix = 0; ix < g.iw; ++ix) {
          float s = bias ? bias[ci] : 0.f;
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t oy = dst_of(iy, ky, g.sh, g.ph, g.dh, g.oh);
            if (oy < 0) continue;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t ox = dst_of(ix, kx, g.sw, g.pw, g.dw, g.ow);
              if (ox >= 0) s += pc[(((c * g.kh + ky) * g.kw + kx) * nc + n) * P + oy * g.ow + ox];
            }
          }
          out[iy * g.iw + ix] = s;
        }
    }
  });
}

void cn_to_nc_cpu(const Tensor& t, Tensor& a, int64_t n0, int64_t c0, const float* bias) {
  const int64_t Cg = t.shape[0], nc = t.shape[1], P = t.shape[2], C = a.shape[1];
  const float* pt = t.ptr<float>();
  float* pa = a.ptr<float>();
  parallel_for(Cg * nc, grain(P), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / nc, n = r % nc;
      const float b = bias ? bias[c0 + o] : 0.f;
      float* dst = pa + ((n0 + n) * C + c0 + o) * P;
      for (int64_t p = 0; p < P; ++p) dst[p] = pt[r * P + p] + b;
    }
  });
}

void nc_to_cn_cpu(const Tensor& a, Tensor& t, int64_t n0, int64_t c0) {
  const int64_t Cg = t.shape[0], nc = t.shape[1], P = t.shape[2], C = a.shape[1];
  const float* pa = a.ptr<float>();
  float* pt = t.ptr<float>();
  parallel_for(Cg * nc, grain(P), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / nc, n = r % nc;
      std::copy_n(pa + ((n0 + n) * C + c0 + o) * P, P, pt + r * P);
    }
  });
}

void accumulate_cpu(Tensor& acc, int64_t at, const Tensor& src) {
  float* pa = acc.ptr<float>() + at;
  const float* ps = src.ptr<float>();
  for (int64_t i = 0, n = src.numel(); i < n; ++i) pa[i] += ps[i];
}

void channel_sum_cpu(const Tensor& a, int64_t N, int64_t C, int64_t P, Tensor& out) {
  const float* pa = a.ptr<float>();
  float* po = out.ptr<float>();
  parallel_for(C, grain(N * P), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t p = 0; p < P; ++p) s += pa[(n * C + c) * P + p];
      po[c] = static_cast<float>(s);
    }
  });
}

// ---- Direct kernels for one input channel per group: output o reads input channel o / M.

void depthwise_fwd_cpu(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y) {
  const float *px = x.ptr<float>(), *pw = w.ptr<float>();
  float* py = y.ptr<float>();
  const int64_t M = g.Cout / g.G, taps = g.kh * g.kw;
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
