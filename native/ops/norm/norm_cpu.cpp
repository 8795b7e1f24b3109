// norm_cpu.cpp — the readable reference for the fused norms (float32 data, double sums).
// Rows (one statistic each) run in parallel; parameter gradients are summed per channel range in
// a fixed order, so results are bitwise-reproducible for any thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../../core/thread_pool.h"
#include "norm.h"

namespace ms {
namespace {

struct View {
  const float *x, *w, *b;
  int64_t N, C, S, G, Cg, M;  // M: elements per statistic row (layer/rms/group)
  bool rms;
};

View view_of(const NormInputs& in) {
  View v;
  v.x = in.x.ptr<float>();
  v.w = in.has_weight ? in.weight.ptr<float>() : nullptr;
  v.b = in.has_bias ? in.bias.ptr<float>() : nullptr;
  v.N = in.N, v.C = in.C, v.S = in.S, v.G = in.G, v.Cg = in.C / in.G, v.M = v.Cg * in.S;
  v.rms = in.kind == NormKind::RMS;
  return v;
}

int64_t grain(int64_t work) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work)); }

// ---- layer / rms / group: one statistic per row (n, g) of M contiguous elements.

void rows_fwd(const View& v, double eps, float* y, float* mean, float* rstd) {
  parallel_for(v.N * v.G, grain(v.M), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = v.x + r * v.M;
      double mu = 0, var = 0;
      if (!v.rms) {
        for (int64_t j = 0; j < v.M; ++j) mu += xr[j];
        mu = v.M ? mu / v.M : 0;
      }
      for (int64_t j = 0; j < v.M; ++j) var += (xr[j] - mu) * (xr[j] - mu);  // two passes: stable for large means
      var = v.M ? var / v.M : 0;
      const float m = static_cast<float>(mu), rs = static_cast<float>(1.0 / std::sqrt(var + eps));
      mean[r] = m;
      rstd[r] = rs;
      const int64_t c0 = (r % v.G) * v.Cg;
      float* yr = y + r * v.M;
      for (int64_t c = c0; c < c0 + v.Cg; ++c) {  // channel-major: no division per element
        const float a = v.w ? v.w[c] * rs : rs, b = v.b ? v.b[c] : 0.f;
        const int64_t j0 = (c - c0) * v.S;
        for (int64_t s = 0; s < v.S; ++s) yr[j0 + s] = (xr[j0 + s] - m) * a + b;
      }
    }
  });
}

void rows_bwd_dx(const View& v, const float* dy, const float* mean, const float* rstd, float* dx) {
  parallel_for(v.N * v.G, grain(v.M), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = v.x + r * v.M;
      const float* gr = dy + r * v.M;
      const int64_t c0 = (r % v.G) * v.Cg;
      const float m = mean[r], rs = rstd[r];
      double a = 0, b = 0;  // sum dxhat, sum dxhat * xhat
      for (int64_t c = c0, j = 0; c < c0 + v.Cg; ++c) {
        const float w = v.w ? v.w[c] : 1.f;
        for (int64_t s = 0; s < v.S; ++s, ++j) {
          const double g = gr[j] * w;
          a += g;
          b += g * ((xr[j] - m) * rs);
        }
      }
      const float am = v.rms ? 0.f : static_cast<float>(a / v.M), bm = static_cast<float>(b / v.M);
      float* dr = dx + r * v.M;
      for (int64_t c = c0, j = 0; c < c0 + v.Cg; ++c) {
        const float w = v.w ? v.w[c] : 1.f;
        for (int64_t s = 0; s < v.S; ++s, ++j) dr[j] = rs * (gr[j] * w - am - (xr[j] - m) * rs * bm);
      }
    }
  });
}

// dweight[c] = sum dy * xhat, dbias[c] = sum dy over (n, s); statistic of (n, c) at n * sn + c / Cg.
// Each task owns a channel range and walks n outer, so a layer norm (S = 1) reads whole row slices.
void param_grads(const View& v, const float* dy, const float* mean, const float* rstd, int64_t sn, float* dw, float* db) {
  parallel_for(v.C, grain(v.N * v.S), [&](int64_t c0, int64_t c1) {
    std::vector<double> sw(c1 - c0, 0.0), sb(c1 - c0, 0.0);
    for (int64_t n = 0; n < v.N; ++n)
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t st = n * sn + c / v.Cg, base = (n * v.C + c) * v.S;
        const float m = mean[st], rs = rstd[st];
        double aw = 0, ab = 0;
        for (int64_t s = 0; s < v.S; ++s) {
          aw += double(dy[base + s]) * ((v.x[base + s] - m) * rs);
          ab += dy[base + s];
        }
        sw[c - c0] += aw;
        sb[c - c0] += ab;
      }
    for (int64_t c = c0; c < c1; ++c) {
      if (dw) dw[c] = static_cast<float>(sw[c - c0]);
      if (db) db[c] = static_cast<float>(sb[c - c0]);
    }
  });
}

// ---- batch: one statistic per channel over (N, S).

void batch_stats(const NormInputs& in, const View& v, float* mean, float* rstd) {
  float* rm = in.has_running ? in.running_mean.ptr<float>() : nullptr;
  float* rv = in.has_running ? in.running_var.ptr<float>() : nullptr;
  const int64_t cnt = v.N * v.S;
  parallel_for(v.C, grain(cnt), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      if (!in.training) {
        mean[c] = rm[c];
        rstd[c] = static_cast<float>(1.0 / std::sqrt(double(rv[c]) + in.eps));
        continue;
      }
      double mu = 0, var = 0;
      for (int64_t n = 0; n < v.N; ++n)
        for (int64_t s = 0; s < v.S; ++s) mu += v.x[(n * v.C + c) * v.S + s];
      mu /= cnt;
      for (int64_t n = 0; n < v.N; ++n)
        for (int64_t s = 0; s < v.S; ++s) {
          const double d = v.x[(n * v.C + c) * v.S + s] - mu;
          var += d * d;
        }
      mean[c] = static_cast<float>(mu);
      rstd[c] = static_cast<float>(1.0 / std::sqrt(var / cnt + in.eps));
      if (rm) {
        rm[c] = static_cast<float>((1 - in.momentum) * rm[c] + in.momentum * mu);
        rv[c] = static_cast<float>((1 - in.momentum) * rv[c] + in.momentum * var / (cnt - 1));
      }
    }
  });
}

void batch_apply(const View& v, const float* mean, const float* rstd, float* y) {
  parallel_for(v.N * v.C, grain(v.S), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r % v.C;
      const float m = mean[c], rs = rstd[c], w = v.w ? v.w[c] : 1.f, b = v.b ? v.b[c] : 0.f;
      for (int64_t s = 0; s < v.S; ++s) y[r * v.S + s] = (v.x[r * v.S + s] - m) * rs * w + b;
    }
  });
}

// dx = w rstd (dy - sum(dy)/M - xhat sum(dy xhat)/M) in training; w rstd dy in eval.
void batch_bwd_dx(const View& v, bool training, const float* dy, const float* mean, const float* rstd, const float* sw,
                  const float* sb, float* dx) {
  const double cnt = double(v.N * v.S);
  parallel_for(v.N * v.C, grain(v.S), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r % v.C;
      const float m = mean[c], rs = rstd[c], w = v.w ? v.w[c] : 1.f;
      for (int64_t s = 0; s < v.S; ++s) {
        const int64_t i = r * v.S + s;
        double g = dy[i];
        if (training) g -= sb[c] / cnt + (v.x[i] - m) * rs * (sw[c] / cnt);
        dx[i] = static_cast<float>(w * rs * g);
      }
    }
  });
}

}  // namespace

void norm_fwd_cpu(const NormInputs& in, NormForward& f) {
  const View v = view_of(in);
  float *mean = f.mean.ptr<float>(), *rstd = f.rstd.ptr<float>();
  if (in.kind != NormKind::Batch) {
    rows_fwd(v, in.eps, f.y.ptr<float>(), mean, rstd);
    return;
  }
  batch_stats(in, v, mean, rstd);
  batch_apply(v, mean, rstd, f.y.ptr<float>());
}

void norm_bwd_cpu(const NormInputs& in, const Tensor& mean_t, const Tensor& rstd_t, const Tensor& dy_t, NormGrads& g,
                  bool need_dx) {
  const View v = view_of(in);
  const float *mean = mean_t.ptr<float>(), *rstd = rstd_t.ptr<float>(), *dy = dy_t.ptr<float>();
  float* dw = in.has_weight ? g.dweight.ptr<float>() : nullptr;
  float* db = in.has_bias ? g.dbias.ptr<float>() : nullptr;
  if (in.kind != NormKind::Batch) {
    if (need_dx) rows_bwd_dx(v, dy, mean, rstd, g.dx.ptr<float>());
    if (dw || db) param_grads(v, dy, mean, rstd, v.G, dw, db);
    return;
  }
  // Batch: the per-channel sums are both the parameter grads and the terms of dx.
  View pv = v;
  pv.Cg = 1;
  std::vector<float> sw(v.C), sb(v.C);
  param_grads(pv, dy, mean, rstd, 0, sw.data(), sb.data());
  if (dw) std::copy(sw.begin(), sw.end(), dw);
  if (db) std::copy(sb.begin(), sb.end(), db);
  if (need_dx) batch_bwd_dx(v, in.training, dy, mean, rstd, sw.data(), sb.data(), g.dx.ptr<float>());
}

}  // namespace ms
