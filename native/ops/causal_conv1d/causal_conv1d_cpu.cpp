// causal_conv1d_cpu.cpp — the readable reference: one row (b, d) at a time over the thread pool.
// Weight and bias gradients are summed per row, then over the batch in a fixed order.
#include <algorithm>
#include <vector>

#include "../../core/thread_pool.h"
#include "../selective_scan/scan_math.h"
#include "causal_conv1d.h"

namespace ms {
namespace {

struct ConvRow {
  const float *x, *w, *init;
  float bias;
  int64_t len, W;
  // Input at time t, t >= -(W-1): x_t, or the initial state before t = 0.
  float at(int64_t t) const { return t >= 0 ? x[t] : (init ? init[W - 1 + t] : 0.f); }
  float pre(int64_t t) const {
    float s = bias;
    for (int64_t k = 0; k < W; ++k) s += w[k] * at(t - (W - 1) + k);
    return s;
  }
};

ConvRow conv_row(const ConvInputs& in, int64_t row) {
  const int64_t Dn = in.x.shape[1], L = in.x.shape[2], W = in.weight.shape[1];
  const int64_t b = row / Dn, d = row % Dn;
  ConvRow r;
  r.x = in.x.ptr<float>() + row * L;
  r.w = in.weight.ptr<float>() + d * W;
  r.init = in.has_init ? in.init.ptr<float>() + row * (W - 1) : nullptr;
  r.bias = in.has_bias ? in.bias.ptr<float>()[d] : 0.f;
  r.len = in.has_lengths ? in.lengths.ptr<int32_t>()[b] : L;
  r.W = W;
  return r;
}

}  // namespace

void causal_conv1d_fwd_cpu(const ConvInputs& in, ConvForward& f) {
  const int64_t rows = in.x.shape[0] * in.x.shape[1], L = in.x.shape[2], W = in.weight.shape[1];
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, L * W)), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const ConvRow r = conv_row(in, row);
      float* o = f.out.ptr<float>() + row * L;
      for (int64_t t = 0; t < r.len; ++t) {
        const float p = r.pre(t);
        o[t] = in.silu ? scan_silu(p) : p;
      }
      for (int64_t t = r.len; t < L; ++t) o[t] = 0.f;
      if (f.has_final) {
        float* fs = f.final_state.ptr<float>() + row * (W - 1);
        for (int64_t j = 0; j < W - 1; ++j) fs[j] = r.at(r.len - (W - 1) + j);
      }
    }
  });
}

void causal_conv1d_bwd_cpu(const ConvInputs& in, const Tensor* dout_t, const Tensor* dfinal_t, ConvGrads& g) {
  const int64_t Bn = in.x.shape[0], Dn = in.x.shape[1], L = in.x.shape[2], W = in.weight.shape[1];
  const int64_t rows = Bn * Dn;
  std::vector<double> rowW(static_cast<size_t>(rows * W)), rowB(rows);
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, L * W)), [&](int64_t r0, int64_t r1) {
    std::vector<float> dpre;
    for (int64_t row = r0; row < r1; ++row) {
      const ConvRow r = conv_row(in, row);
      const float* go = dout_t ? dout_t->ptr<float>() + row * L : nullptr;
      const float* gf = dfinal_t ? dfinal_t->ptr<float>() + row * (W - 1) : nullptr;
      dpre.assign(static_cast<size_t>(r.len), 0.f);
      double sb = 0;
      double* sw = rowW.data() + row * W;
      std::fill(sw, sw + W, 0.0);
      if (go) {
        for (int64_t t = 0; t < r.len; ++t) {
          dpre[t] = in.silu ? go[t] * scan_dsilu(r.pre(t)) : go[t];
          sb += dpre[t];
          for (int64_t k = 0; k < W; ++k) sw[k] += double(dpre[t]) * r.at(t - (W - 1) + k);
        }
      }
      rowB[row] = sb;
      // Gradient of the input at time s (s >= -(W-1)): taps that read it plus the final state.
      auto dinput = [&](int64_t s) {
        float acc = 0.f;
        for (int64_t k = 0; k < W; ++k) {
          const int64_t t = s + (W - 1) - k;
          if (t >= 0 && t < r.len) acc += r.w[k] * dpre[t];
        }
        const int64_t j = s - r.len + (W - 1);
        if (gf && j >= 0 && j < W - 1) acc += gf[j];
        return acc;
      };
      float* dx = g.dx.ptr<float>() + row * L;
      for (int64_t s = 0; s < L; ++s) dx[s] = s < r.len ? dinput(s) : 0.f;
      if (in.has_init) {
        float* di = g.dinit.ptr<float>() + row * (W - 1);
        for (int64_t j = 0; j < W - 1; ++j) di[j] = dinput(j - (W - 1));
      }
    }
  });
  for (int64_t d = 0; d < Dn; ++d) {
    for (int64_t k = 0; k < W; ++k) {
      double s = 0;
      for (int64_t b = 0; b < Bn; ++b) s += rowW[(b * Dn + d) * W + k];
      g.dweight.ptr<float>()[d * W + k] = static_cast<float>(s);
    }
    if (in.has_bias) {
      double s = 0;
      for (int64_t b = 0; b < Bn; ++b) s += rowB[b * Dn + d];
      g.dbias.ptr<float>()[d] = static_cast<float>(s);
    }
  }
}

}  // namespace ms
