// ctc_cuda.cu — CTC on the GPU: one block per batch item, threads over the L_b = 2 S_b + 1
// extended labels, a loop over time with one __syncthreads per step (the recursion is sequential
// in t; items and labels are the parallel dims, as in PyTorch's and warp-ctc's kernels).
//
// The previous alpha/beta row is read back from global memory (written by other threads of the
// block before the barrier; it stays in L1/L2: L floats). Backward keeps beta in a 2-row scratch
// and sums the per-class occupancies without atomics: the blank (all even s) by a block tree
// reduction, each label by the thread of its first occurrence walking a precomputed chain of the
// later occurrences, so the gradient is bitwise reproducible.
#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "ctc.h"

namespace ms {
namespace {

constexpr int kMaxThreads = 1024;

cudaStream_t stream() { return static_cast<cudaStream_t>(cuda::stream(0)); }
// A power of two (the blank's tree reduction halves it) covering L, from 32 to 1024.
int threads_for(int64_t L) {
  int n = 32;
  while (n < kMaxThreads && n < L) n *= 2;
  return n;
}

__global__ void ctc_fwd_kernel(CtcProblem p, float* nll, float* alpha) {
  const int64_t b = blockIdx.x;
  const int64_t Tb = p.in_len[b], Lb = 2 * p.tgt_len[b] + 1;
  const int32_t* tgt = p.targets + b * p.S;
  const float* lp = p.lp + b * p.T * p.C;
  float* al = alpha + b * p.T * p.L;
  for (int64_t i = threadIdx.x; i < p.T * p.L; i += blockDim.x) al[i] = -INFINITY;
  __syncthreads();
  if (Tb == 0) {
    if (threadIdx.x == 0) nll[b] = Lb == 1 ? 0.0f : (p.zero_infinity ? 0.0f : INFINITY);
    return;
  }
  if (threadIdx.x == 0) {
    al[0] = lp[p.blank];
    if (Lb > 1) al[1] = lp[tgt[0]];
  }
  __syncthreads();
  for (int64_t t = 1; t < Tb; ++t) {
    const float* prev = al + (t - 1) * p.L;
    float* cur = al + t * p.L;
    const float* lpt = lp + t * p.C;
    for (int64_t s = threadIdx.x; s < Lb; s += blockDim.x) {
      double a = prev[s];
      if (s >= 1) a = ctc_lse(a, prev[s - 1]);
      if (ctc_can_skip(tgt, s, p.blank)) a = ctc_lse(a, prev[s - 2]);
      cur[s] = static_cast<float>(a + lpt[ctc_label(tgt, s, p.blank)]);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const double l = ctc_nll(al + (Tb - 1) * p.L, Lb);
    nll[b] = static_cast<float>(isinf(l) && p.zero_infinity ? 0.0 : l);
  }
}

// scratch per item: beta (2, L) float, occ (L) float; chain per item: next (L), first (L) int.
__global__ void ctc_bwd_kernel(CtcProblem p, const float* alpha, const float* g, float* grad, float* scratch, int32_t* chain) {
  __shared__ double red[kMaxThreads];
  const int64_t b = blockIdx.x;
  const int64_t Tb = p.in_len[b], Lb = 2 * p.tgt_len[b] + 1;
  const double gb = g[b];
  if (Tb == 0 || gb == 0) return;
  const int32_t* tgt = p.targets + b * p.S;
  const float* lp = p.lp + b * p.T * p.C;
  const float* al = alpha + b * p.T * p.L;
  float* gr = grad + b * p.T * p.C;
  const double nll = ctc_nll(al + (Tb - 1) * p.L, Lb);
  if (!isfinite(nll)) return;  // infeasible: zero gradient (grad was zero-filled)
  float* beta = scratch + b * 3 * p.L;
  float* occ = beta + 2 * p.L;
  int32_t* next = chain + b * 2 * p.L;
  int32_t* first = next + p.L;
  for (int64_t s = threadIdx.x; s < Lb; s += blockDim.x) {
    next[s] = -1;
    first[s] = 0;
    if (!(s & 1)) continue;
    const int32_t y = tgt[s >> 1];
    for (int64_t u = s + 2; u < Lb; u += 2)
      if (tgt[u >> 1] == y) { next[s] = static_cast<int32_t>(u); break; }
    bool f = true;
    for (int64_t u = s - 2; u >= 1 && f; u -= 2) f = tgt[u >> 1] != y;
    first[s] = f;
  }
  for (int64_t t = Tb - 1; t >= 0; --t) {
    float* cur = beta + (t & 1) * p.L;
    const float* nxt = beta + ((t + 1) & 1) * p.L;
    const float* lpt = lp + t * p.C;
    const float* alt = al + t * p.L;
    for (int64_t s = threadIdx.x; s < Lb; s += blockDim.x) {
      const int64_t c = ctc_label(tgt, s, p.blank);
      double v;
      if (t == Tb - 1) {
        v = s >= Lb - 2 ? 0.0 : -INFINITY;
      } else {
        v = nxt[s];
        if (s + 1 < Lb) v = ctc_lse(v, nxt[s + 1]);
        if (s + 2 < Lb && ctc_can_skip(tgt, s + 2, p.blank)) v = ctc_lse(v, nxt[s + 2]);
      }
      const float bs = static_cast<float>(v + lpt[c]);
      cur[s] = bs;
      const double o = static_cast<double>(alt[s]) + bs - lpt[c] + nll;
      occ[s] = o > -INFINITY ? static_cast<float>(exp(o)) : 0.0f;  // NaN (-inf - -inf) counts as 0
    }
    __syncthreads();
    // Blank: even s, fixed per-thread order, then a fixed tree.
    double part = 0;
    for (int64_t s = 2 * threadIdx.x; s < Lb; s += 2 * blockDim.x) part += occ[s];
    red[threadIdx.x] = part;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
      if (threadIdx.x < w) red[threadIdx.x] += red[threadIdx.x + w];
      __syncthreads();
    }
    if (threadIdx.x == 0) gr[t * p.C + p.blank] = static_cast<float>(-gb * red[0]);
    // Labels: the first occurrence sums its chain.
    for (int64_t s = threadIdx.x; s < Lb; s += blockDim.x) {
      if (!(s & 1) || !first[s]) continue;
      double sum = 0;
      for (int64_t u = s; u >= 0; u = next[u]) sum += occ[u];
      gr[t * p.C + tgt[s >> 1]] = static_cast<float>(-gb * sum);
    }
    __syncthreads();  // occ and the beta rows are rewritten next step
  }
}

}  // namespace

void ctc_fwd_cuda(const CtcProblem& p, float* nll, float* alpha) {
  ctc_fwd_kernel<<<static_cast<unsigned>(p.B), threads_for(p.L), 0, stream()>>>(p, nll, alpha);
  cuda::check_launch("ctcLoss");
}

void ctc_bwd_cuda(const CtcProblem& p, const float* alpha, const float* g, float* grad, const std::shared_ptr<Accounting>& acct) {
  cudaMemsetAsync(grad, 0, static_cast<size_t>(p.B * p.T * p.C) * sizeof(float), stream());
  Tensor scratch = empty("ctcLoss", {p.B, 3, p.L}, DType::F32, Device::CUDA, acct);
  Tensor chain = empty("ctcLoss", {p.B, 2, p.L}, DType::I32, Device::CUDA, acct);
  ctc_bwd_kernel<<<static_cast<unsigned>(p.B), threads_for(p.L), 0, stream()>>>(p, alpha, g, grad, scratch.ptr<float>(),
                                                                                chain.ptr<int32_t>());
  cuda::check_launch("ctcLoss");
}

}  // namespace ms
