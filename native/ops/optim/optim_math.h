// optim_math.h — the update rules, shared by optim_cpu.cpp and optim_cuda.cu so the two
// backends cannot drift. Float32 arithmetic in the order of PyTorch's fused Adam/SGD kernels
// (FusedAdamKernel.cu, FusedSgdKernel.cu); see optim.h for the formulas.
//
// Each rule is a loop over elements start, start + stride, ... < end (the CPU runs stride 1 over
// a chunk, a CUDA thread stride 256). The dtype and the optional terms are template parameters
// and every pointer and scalar is copied to a local first, so the loop body has no branch on
// the options and no store that could alias a hyper-parameter (which made gcc reload them all
// per element).
#pragma once
#include <cmath>

#include "../../core/dtype.h"
#include "optim.h"

namespace ms {

template <bool BF16> MS_HD float optim_ld(const void* x, int64_t i) {
  if constexpr (BF16) return bf16_to_f32(static_cast<const uint16_t*>(x)[i]);
  else return static_cast<const float*>(x)[i];
}
template <bool BF16> MS_HD void optim_st(void* x, int64_t i, float v) {
  if constexpr (BF16) static_cast<uint16_t*>(x)[i] = f32_to_bf16(v);
  else static_cast<float*>(x)[i] = v;
}

// How weight decay enters Adam: not at all (wd = 0), as an L2 term in g, or decoupled (AdamW).
enum : int { kDecayNone = 0, kDecayL2 = 1, kDecayDecoupled = 2 };

template <bool BF16, int DECAY, bool AMS>
MS_HD void adam_range(const OptimEntry& e, int64_t start, int64_t end, int64_t stride) {
  void* const p = e.p;
  const void* const g = e.g;
  float* const m = e.m;
  float* const v = e.v;
  float* const vmax = e.vmax;
  const float wd = e.wd, lr_wd = e.lr_wd, b1 = e.beta1, b2 = e.beta2, eps = e.eps;
  const float step_size = e.step_size, bc2_sqrt = e.bc2_sqrt;
  for (int64_t i = start; i < end; i += stride) {
    float pi = optim_ld<BF16>(p, i);
    float gi = optim_ld<BF16>(g, i);
    if constexpr (DECAY == kDecayDecoupled) pi -= lr_wd * pi;  // AdamW: decay before the moments
    if constexpr (DECAY == kDecayL2) gi += wd * pi;         // Adam: L2 penalty folded into g
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if constexpr (AMS) {
      const float vm = vmax[i];
      vi = (vi > vm || vi != vi) ? vi : vm;  // torch.maximum: a NaN on either side propagates
      vmax[i] = vi;
    }
    optim_st<BF16>(p, i, pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps));
  }
}

template <bool BF16, bool WD, bool MOMENTUM>
MS_HD void sgd_range(const OptimEntry& e, int64_t start, int64_t end, int64_t stride) {
  void* const p = e.p;
  const void* const g = e.g;
  float* const buf = e.m;
  const float lr = e.lr, wd = e.wd, mu = e.momentum, damp = 1.0f - e.dampening;
  const bool first = e.flags & kOptimFirst, nesterov = e.flags & kOptimNesterov;
  for (int64_t i = start; i < end; i += stride) {
    const float pi = optim_ld<BF16>(p, i);
    float gi = optim_ld<BF16>(g, i);
    if constexpr (WD) gi += wd * pi;
    if constexpr (MOMENTUM) {
      // PyTorch's first step copies g into the buffer (no dampening); later steps blend.
      const float b = first ? gi : mu * buf[i] + damp * gi;
      buf[i] = b;
      gi = nesterov ? gi + mu * b : b;
    }
    optim_st<BF16>(p, i, pi - lr * gi);
  }
}

// One parameter's update over [start, end) with the given stride, dispatched to the
// instantiation its dtype and options need (12 for Adam, 8 for SGD).
MS_HD void optim_update_range(OptimAlgo algo, const OptimEntry& e, int64_t start, int64_t end, int64_t stride) {
  const bool bf = e.bf16 != 0;
  if (algo == OptimAlgo::SGD) {
    const int k = (bf ? 4 : 0) + (e.wd != 0.0f ? 2 : 0) + ((e.flags & kOptimMomentum) ? 1 : 0);
    switch (k) {
      case 0: sgd_range<false, false, false>(e, start, end, stride); break;
      case 1: sgd_range<false, false, true>(e, start, end, stride); break;
      case 2: sgd_range<false, true, false>(e, start, end, stride); break;
      case 3: sgd_range<false, true, true>(e, start, end, stride); break;
      case 4: sgd_range<true, false, false>(e, start, end, stride); break;
      case 5: sgd_range<true, false, true>(e, start, end, stride); break;
      case 6: sgd_range<true, true, false>(e, start, end, stride); break;
      default: sgd_range<true, true, true>(e, start, end, stride); break;
    }
    return;
  }
  const int decay = (e.flags & kOptimDecoupled) ? (e.lr_wd != 0.0f ? kDecayDecoupled : kDecayNone)
                                                 : (e.wd != 0.0f ? kDecayL2 : kDecayNone);
  const bool ams = e.flags & kOptimAmsgrad;
#define MS_ADAM(B, D, A) adam_range<B, D, A>(e, start, end, stride)
#define MS_ADAM_D(B, A)                                   \
  switch (decay) {                                        \
    case kDecayL2: MS_ADAM(B, kDecayL2, A); break;        \
    case kDecayDecoupled: MS_ADAM(B, kDecayDecoupled, A); break; \
    default: MS_ADAM(B, kDecayNone, A); break;            \
  }
  if (bf) { if (ams) { MS_ADAM_D(true, true) } else { MS_ADAM_D(true, false) } }
  else { if (ams) { MS_ADAM_D(false, true) } else { MS_ADAM_D(false, false) } }
#undef MS_ADAM_D
#undef MS_ADAM
}

// |x|^p summed (p finite) — the caller takes max instead for p = inf.
MS_HD double norm_term(double ax, double p) {
  if (p == 2.0) return ax * ax;
  if (p == 1.0) return ax;
  return pow(ax, p);
}

}  // namespace ms
