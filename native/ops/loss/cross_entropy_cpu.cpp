// cross_entropy_cpu.cpp — the readable reference: one row per task item, double accumulation.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../../core/thread_pool.h"
#include "cross_entropy.h"

namespace ms {
namespace {

int64_t grain(int64_t C) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(C, 1)); }

double row_lse(const float* z, int64_t C) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < C; ++c) m = std::max(m, static_cast<double>(z[c]));
  if (std::isinf(m)) return m;
  double s = 0;
  for (int64_t c = 0; c < C; ++c) s += std::exp(z[c] - m);
  return m + std::log(s);
}

}  // namespace

void cross_entropy_fwd_cpu(const Tensor& zt, const Tensor& tt, const float* w, const CrossEntropyArgs& a, CrossEntropyForward& f) {
  const int64_t M = zt.shape[0], C = zt.shape[1];
  const float* z = zt.ptr<float>();
  const int32_t* t = tt.ptr<int32_t>();
  float *loss = f.loss.ptr<float>(), *lse_out = f.lse.ptr<float>(), *wrow = f.wrow.ptr<float>();
  const double eps = a.smoothing;
  parallel_for(M, grain(C), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* zr = z + i * C;
      const double lse = a.log_input ? 0.0 : row_lse(zr, C);
      lse_out[i] = static_cast<float>(lse);
      if (t[i] == a.ignore_index) {
        loss[i] = 0;
        wrow[i] = 0;
        continue;
      }
      const double wt = w ? w[t[i]] : 1.0;
      double l = (1 - eps) * wt * (lse - zr[t[i]]);
      if (eps > 0) {
        double s = 0;  // sum_c w_c (lse - z_c)
        for (int64_t c = 0; c < C; ++c) s += (w ? w[c] : 1.0) * (lse - zr[c]);
        l += eps / C * s;
      }
      loss[i] = static_cast<float>(l);
      wrow[i] = static_cast<float>(wt);
    }
  });
}

void cross_entropy_bwd_cpu(const Tensor& zt, const Tensor& tt, const float* w, const Tensor& lse_t, const Tensor& g_t,
                           const CrossEntropyArgs& a, Tensor& dzt) {
  const int64_t M = zt.shape[0], C = zt.shape[1];
  const float *z = zt.ptr<float>(), *lse = lse_t.ptr<float>(), *g = g_t.ptr<float>();
  const int32_t* t = tt.ptr<int32_t>();
  float* dz = dzt.ptr<float>();
  const double eps = a.smoothing;
  double W = static_cast<double>(C);
  if (w) {
    W = 0;
    for (int64_t c = 0; c < C; ++c) W += w[c];
  }
  parallel_for(M, grain(C), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float* dr = dz + i * C;
      if (t[i] == a.ignore_index || g[i] == 0) {
        std::fill(dr, dr + C, 0.0f);
        continue;
      }
      const float* zr = z + i * C;
      const double wt = w ? w[t[i]] : 1.0, gi = g[i];
      for (int64_t c = 0; c < C; ++c) {
        const double p = a.log_input ? 0.0 : std::exp(zr[c] - static_cast<double>(lse[i]));
        const double wc = w ? w[c] : 1.0;
        dr[c] = static_cast<float>(gi * ((1 - eps) * wt * (p - (c == t[i])) + eps / C * (W * p - wc)));
      }
    }
  });
}

}  // namespace ms
