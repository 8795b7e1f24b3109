// ctc_cpu.cpp — the readable reference: one batch item per task, alpha forward in time, beta
// backward in time keeping two rows (the gradient at t needs alpha_t, stored, and beta_t only).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../core/thread_pool.h"
#include "ctc.h"

namespace ms {
namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}

void ctc_fwd_cpu(const CtcProblem& p, float* nll, float* alpha) {
  parallel_for(p.B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t Tb = p.in_len[b], Lb = 2 * p.tgt_len[b] + 1;
      const int32_t* tgt = p.targets + b * p.S;
      const float* lp = p.lp + b * p.T * p.C;        // (T, C)
      float* al = alpha + b * p.T * p.L;             // (T, L)
      std::fill(al, al + p.T * p.L, kNegInf);
      if (Tb == 0) {
        nll[b] = Lb == 1 ? 0.0f : (p.zero_infinity ? 0.0f : INFINITY);
        continue;
      }
      al[0] = lp[p.blank];
      if (Lb > 1) al[1] = lp[tgt[0]];
      for (int64_t t = 1; t < Tb; ++t) {
        const float* prev = al + (t - 1) * p.L;
        float* cur = al + t * p.L;
        const float* lpt = lp + t * p.C;
        for (int64_t s = 0; s < Lb; ++s) {
          double a = prev[s];
          if (s >= 1) a = ctc_lse(a, prev[s - 1]);
          if (ctc_can_skip(tgt, s, p.blank)) a = ctc_lse(a, prev[s - 2]);
          cur[s] = static_cast<float>(a + lpt[ctc_label(tgt, s, p.blank)]);
        }
      }
      const double l = ctc_nll(al + (Tb - 1) * p.L, Lb);
      nll[b] = static_cast<float>(std::isinf(l) && p.zero_infinity ? 0.0 : l);
    }
  });
}

void ctc_bwd_cpu(const CtcProblem& p, const float* alpha, const float* g, float* grad) {
  std::fill(grad, grad + p.B * p.T * p.C, 0.0f);
  parallel_for(p.B, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> beta_a(p.L), beta_b(p.L);
    std::vector<double> acc(p.C);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t Tb = p.in_len[b], Lb = 2 * p.tgt_len[b] + 1;
      if (Tb == 0 || g[b] == 0) continue;
      const int32_t* tgt = p.targets + b * p.S;
      const float* lp = p.lp + b * p.T * p.C;
      const float* al = alpha + b * p.T * p.L;
      float* gr = grad + b * p.T * p.C;
      const double nll = ctc_nll(al + (Tb - 1) * p.L, Lb);
      if (!std::isfinite(nll)) continue;  // infeasible: zero gradient (never NaN)
      float* cur = beta_a.data();
      float* nxt = beta_b.data();
      for (int64_t t = Tb - 1; t >= 0; --t) {
        const float* lpt = lp + t * p.C;
        for (int64_t s = 0; s < Lb; ++s) {
          const double e = lpt[ctc_label(tgt, s, p.blank)];
          double v;
          if (t == Tb - 1) {
            v = s >= Lb - 2 ? 0.0 : -INFINITY;
          } else {
            v = nxt[s];
            if (s + 1 < Lb) v = ctc_lse(v, nxt[s + 1]);
            if (s + 2 < Lb && ctc_can_skip(tgt, s + 2, p.blank)) v = ctc_lse(v, nxt[s + 2]);
          }
          cur[s] = static_cast<float>(v + e);
        }
        // Occupancy of each extended label, summed per class.
        const float* alt = al + t * p.L;
        for (int64_t s = 0; s < Lb; ++s) acc[ctc_label(tgt, s, p.blank)] = 0;
        for (int64_t s = 0; s < Lb; ++s) {
          const int64_t c = ctc_label(tgt, s, p.blank);
          const double v = static_cast<double>(alt[s]) + cur[s] - lpt[c] + nll;
          if (v > -INFINITY) acc[c] += std::exp(v);
        }
        for (int64_t s = 0; s < Lb; ++s) {
          const int64_t c = ctc_label(tgt, s, p.blank);
          gr[t * p.C + c] = static_cast<float>(-g[b] * acc[c]);
        }
        std::swap(cur, nxt);
      }
    }
  });
}

}  // namespace ms
