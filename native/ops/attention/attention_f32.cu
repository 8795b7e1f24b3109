// attention_f32.cu — exact float32 attention on the CUDA cores (no TF32): the same FlashAttention-2
// tiling as the CPU reference, for the float32 path where exactness beats speed.
//
// Every kernel: 128 threads, tiles of 32 query rows x 32 keys. Thread (r = tid / 4, c4 = tid % 4)
// owns row r of the tile and columns c4, c4 + 4, ...; a row's 4 threads are one quad of a warp,
// so row max and sum are two shuffles. Head dims are padded with zeros to a bucket DH in
// {64, 128, 256}; shared rows of DH + 1 floats keep the strided reads conflict-free.
#include "attention_cuda.cuh"
#include "../../core/cuda_api.h"
#include "../../core/error.h"

namespace ms {
namespace attn {
namespace {

constexpr int kT = 128, kR = 32, kC = 32;  // threads, query rows, keys per tile

// rows [r0, r0 + 32) of a (L, Dh) matrix -> s (32, ld), zero where row >= valid or col >= Dh.
template <int DH>
__device__ __forceinline__ void load_rows(float* s, int ld, const float* g, int64_t r0, int64_t valid, int Dh) {
  for (int e = threadIdx.x; e < kR * DH; e += kT) {
    const int r = e / DH, d = e % DH;
    s[r * ld + d] = (r < valid && d < Dh) ? g[(r0 + r) * Dh + d] : 0.0f;
  }
}

template <int DH>
__device__ __forceinline__ float dot_rows(const float* a, const float* b) {
  float acc = 0.0f;
#pragma unroll 8
  for (int d = 0; d < DH; ++d) acc = fmaf(a[d], b[d], acc);
  return acc;
}

template <int DH>
__global__ void __launch_bounds__(kT) fwd_f32_kernel(AttentionParams p) {
  constexpr int LD = DH + 1, M = DH / 4;
  extern __shared__ float fsm[];
  float* sQ = fsm;            // (32, LD)
  float* sK = sQ + kR * LD;   // (32, LD)
  float* sV = sK + kC * LD;   // (32, LD)
  float* sP = sV + kC * LD;   // (32, 33)
  const int64_t bh = blockIdx.y, b = bh / p.H, i0 = static_cast<int64_t>(blockIdx.x) * kR;
  const int Dh = static_cast<int>(p.Dh);
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b), diag = p.Lk - p.Lq;
  const float* k = static_cast<const float*>(p.k) + bh * p.Lk * Dh;
  const float* v = static_cast<const float*>(p.v) + bh * p.Lk * Dh;
  const int r = threadIdx.x / 4, c4 = threadIdx.x % 4;
  const int64_t i = i0 + r;
  const int64_t row_end = i < qlen ? attn_key_end(i, klen, p.causal, diag) : 0;
  const int64_t rows_end = imin64(i0 + kR, qlen);
  const int64_t kend = rows_end > i0 ? attn_key_end(rows_end - 1, klen, p.causal, diag) : 0;

  load_rows<DH>(sQ, LD, static_cast<const float*>(p.q) + bh * p.Lq * Dh, i0, p.Lq - i0, Dh);
  float o[M];
#pragma unroll
  for (int mm = 0; mm < M; ++mm) o[mm] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int64_t j0 = 0; j0 < kend; j0 += kC) {
    __syncthreads();
    load_rows<DH>(sK, LD, k, j0, kend - j0, Dh);
    load_rows<DH>(sV, LD, v, j0, kend - j0, Dh);
    __syncthreads();
    float s[kC / 4];
    float mx = -INFINITY;
#pragma unroll
    for (int kc = 0; kc < kC / 4; ++kc) {
      const int c = c4 + 4 * kc;
      const float x = dot_rows<DH>(sQ + r * LD, sK + c * LD) * p.scale;
      s[kc] = j0 + c < row_end ? x : -INFINITY;
      mx = fmaxf(mx, s[kc]);
    }
    mx = quad_max(mx);
    const float m_new = fmaxf(m, mx);
    const float m_use = m_new == -INFINITY ? 0.0f : m_new;
    const float corr = expf(m - m_use);
    float sum = 0.0f;
#pragma unroll
    for (int kc = 0; kc < kC / 4; ++kc) {
      const int c = c4 + 4 * kc;
      float pr = expf(s[kc] - m_use);
      sum += pr;
      if (p.dropout > 0.0f && pr > 0.0f) pr *= drop1(p, (static_cast<uint64_t>(bh) * p.Lq + i) * p.Lk + j0 + c);
      sP[r * 33 + c] = pr;
    }
    l = l * corr + quad_sum(sum);
    m = m_new;
    __syncwarp();
#pragma unroll
    for (int mm = 0; mm < M; ++mm) o[mm] *= corr;
    for (int c = 0; c < kC; ++c) {
      const float pc = sP[r * 33 + c];
#pragma unroll
      for (int mm = 0; mm < M; ++mm) o[mm] = fmaf(pc, sV[c * LD + c4 + 4 * mm], o[mm]);
    }
  }
  if (i >= p.Lq) return;
  const bool live = i < qlen && l > 0.0f;
  const float inv = live ? 1.0f / l : 0.0f;
  float* out = static_cast<float*>(p.o) + bh * p.Lq * Dh + i * Dh;
#pragma unroll
  for (int mm = 0; mm < M; ++mm)
    if (c4 + 4 * mm < Dh) out[c4 + 4 * mm] = o[mm] * inv;
  if (c4 == 0) p.lse[bh * p.Lq + i] = live ? m + logf(l) : INFINITY;
}

// dK, dV of keys [j0, j0 + 32): thread (c = tid / 4) owns key c.
template <int DH>
__global__ void __launch_bounds__(kT) dkdv_f32_kernel(AttentionParams p) {
  constexpr int LD = DH + 1, M = DH / 4;
  extern __shared__ float fsm[];
  float* sK = fsm;
  float* sV = sK + kC * LD;
  float* sQ = sV + kC * LD;
  float* sO = sQ + kR * LD;   // dO
  float* sPd = sO + kR * LD;  // (32 keys, 33): P~^T
  float* sDs = sPd + kC * 33; // (32 keys, 33): dS^T
  float* sL = sDs + kC * 33;  // 32
  float* sD = sL + kR;        // 32
  const int64_t bh = blockIdx.y, b = bh / p.H, j0 = static_cast<int64_t>(blockIdx.x) * kC;
  const int Dh = static_cast<int>(p.Dh);
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b), diag = p.Lk - p.Lq;
  const float* q = static_cast<const float*>(p.q) + bh * p.Lq * Dh;
  const float* dout = static_cast<const float*>(p.dout) + bh * p.Lq * Dh;
  const int c = threadIdx.x / 4, c4 = threadIdx.x % 4;
  const int64_t j = j0 + c;

  load_rows<DH>(sK, LD, static_cast<const float*>(p.k) + bh * p.Lk * Dh, j0, klen - j0, Dh);
  load_rows<DH>(sV, LD, static_cast<const float*>(p.v) + bh * p.Lk * Dh, j0, klen - j0, Dh);
  float dk[M], dv[M];
#pragma unroll
  for (int mm = 0; mm < M; ++mm) dk[mm] = dv[mm] = 0.0f;
  const int64_t i_first = p.causal ? imax64(0, j0 - diag) : 0;
  const int64_t i_stop = j0 < klen ? qlen : 0;
  for (int64_t i0 = i_first; i0 < i_stop; i0 += kR) {
    __syncthreads();
    load_rows<DH>(sQ, LD, q, i0, qlen - i0, Dh);
    load_rows<DH>(sO, LD, dout, i0, qlen - i0, Dh);
    if (threadIdx.x < kR) {
      const int64_t i = i0 + threadIdx.x;
      sL[threadIdx.x] = i < qlen ? p.lse[bh * p.Lq + i] : INFINITY;
      sD[threadIdx.x] = i < qlen ? p.delta[bh * p.Lq + i] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kc = 0; kc < kR / 4; ++kc) {
      const int rr = c4 + 4 * kc;
      const int64_t i = i0 + rr;
      const bool vis = i < qlen && attn_visible(i, j, klen, p.causal, diag);
      float pd = 0.0f, ds = 0.0f;
      if (vis) {
        const float pr = expf(dot_rows<DH>(sK + c * LD, sQ + rr * LD) * p.scale - sL[rr]);
        const float dp = dot_rows<DH>(sV + c * LD, sO + rr * LD);
        const float z = p.dropout > 0.0f ? drop1(p, (static_cast<uint64_t>(bh) * p.Lq + i) * p.Lk + j) : 1.0f;
        pd = pr * z;
        ds = pr * (dp * z - sD[rr]);
      }
      sPd[c * 33 + rr] = pd;
      sDs[c * 33 + rr] = ds;
    }
    __syncwarp();
    for (int rr = 0; rr < kR; ++rr) {
      const float a = sPd[c * 33 + rr], s = sDs[c * 33 + rr];
#pragma unroll
      for (int mm = 0; mm < M; ++mm) {
        dv[mm] = fmaf(a, sO[rr * LD + c4 + 4 * mm], dv[mm]);
        dk[mm] = fmaf(s, sQ[rr * LD + c4 + 4 * mm], dk[mm]);
      }
    }
  }
  if (j >= p.Lk) return;
  float* gk = static_cast<float*>(p.dk) + bh * p.Lk * Dh + j * Dh;
  float* gv = static_cast<float*>(p.dv) + bh * p.Lk * Dh + j * Dh;
#pragma unroll
  for (int mm = 0; mm < M; ++mm) {
    if (c4 + 4 * mm < Dh) {
      gk[c4 + 4 * mm] = dk[mm] * p.scale;
      gv[c4 + 4 * mm] = dv[mm];
    }
  }
}

// dQ of queries [i0, i0 + 32): thread (r = tid / 4) owns row r.
template <int DH>
__global__ void __launch_bounds__(kT) dq_f32_kernel(AttentionParams p) {
  constexpr int LD = DH + 1, M = DH / 4;
  extern __shared__ float fsm[];
  float* sQ = fsm;
  float* sO = sQ + kR * LD;
  float* sK = sO + kR * LD;
  float* sV = sK + kC * LD;
  float* sDs = sV + kC * LD;  // (32 rows, 33)
  const int64_t bh = blockIdx.y, b = bh / p.H, i0 = static_cast<int64_t>(blockIdx.x) * kR;
  const int Dh = static_cast<int>(p.Dh);
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b), diag = p.Lk - p.Lq;
  const float* k = static_cast<const float*>(p.k) + bh * p.Lk * Dh;
  const float* v = static_cast<const float*>(p.v) + bh * p.Lk * Dh;
  const int r = threadIdx.x / 4, c4 = threadIdx.x % 4;
  const int64_t i = i0 + r;
  const int64_t row_end = i < qlen ? attn_key_end(i, klen, p.causal, diag) : 0;
  const int64_t rows_end = imin64(i0 + kR, qlen);
  const int64_t kend = rows_end > i0 ? attn_key_end(rows_end - 1, klen, p.causal, diag) : 0;
  const float lse = i < qlen ? p.lse[bh * p.Lq + i] : INFINITY;
  const float Di = i < qlen ? p.delta[bh * p.Lq + i] : 0.0f;

  load_rows<DH>(sQ, LD, static_cast<const float*>(p.q) + bh * p.Lq * Dh, i0, qlen - i0, Dh);
  load_rows<DH>(sO, LD, static_cast<const float*>(p.dout) + bh * p.Lq * Dh, i0, qlen - i0, Dh);
  float dq[M];
#pragma unroll
  for (int mm = 0; mm < M; ++mm) dq[mm] = 0.0f;
  for (int64_t j0 = 0; j0 < kend; j0 += kC) {
    __syncthreads();
    load_rows<DH>(sK, LD, k, j0, kend - j0, Dh);
    load_rows<DH>(sV, LD, v, j0, kend - j0, Dh);
    __syncthreads();
#pragma unroll
    for (int kc = 0; kc < kC / 4; ++kc) {
      const int c = c4 + 4 * kc;
      float ds = 0.0f;
      if (j0 + c < row_end) {
        const float pr = expf(dot_rows<DH>(sQ + r * LD, sK + c * LD) * p.scale - lse);
        const float dp = dot_rows<DH>(sO + r * LD, sV + c * LD);
        const float z = p.dropout > 0.0f ? drop1(p, (static_cast<uint64_t>(bh) * p.Lq + i) * p.Lk + j0 + c) : 1.0f;
        ds = pr * (dp * z - Di);
      }
      sDs[r * 33 + c] = ds;
    }
    __syncwarp();
    for (int c = 0; c < kC; ++c) {
      const float a = sDs[r * 33 + c];
#pragma unroll
      for (int mm = 0; mm < M; ++mm) dq[mm] = fmaf(a, sK[c * LD + c4 + 4 * mm], dq[mm]);
    }
  }
  if (i >= p.Lq) return;
  float* g = static_cast<float*>(p.dq) + bh * p.Lq * Dh + i * Dh;
#pragma unroll
  for (int mm = 0; mm < M; ++mm)
    if (c4 + 4 * mm < Dh) g[c4 + 4 * mm] = dq[mm] * p.scale;
}

template <typename Kernel>
void launch(Kernel kernel, int64_t blocks, const AttentionParams& p, size_t smem, cudaStream_t s) {
  cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(p.B * p.H));
  kernel<<<grid, kT, smem, s>>>(p);
  cuda::check_launch("attention");
}

template <int DH>
void forward_dh(const AttentionParams& p, cudaStream_t s) {
  launch(fwd_f32_kernel<DH>, (p.Lq + kR - 1) / kR, p, (3 * 32 * (DH + 1) + 32 * 33) * sizeof(float), s);
}

template <int DH>
void backward_dh(const AttentionParams& p, cudaStream_t s) {
  if (p.Lk > 0)
    launch(dkdv_f32_kernel<DH>, (p.Lk + kC - 1) / kC, p, (4 * 32 * (DH + 1) + 2 * 32 * 33 + 64) * sizeof(float), s);
  if (p.Lq > 0)
    launch(dq_f32_kernel<DH>, (p.Lq + kR - 1) / kR, p, (4 * 32 * (DH + 1) + 32 * 33) * sizeof(float), s);
}

}  // namespace

void forward_f32(const AttentionParams& p, cudaStream_t s) {
  if (p.Dh <= 64) forward_dh<64>(p, s);
  else if (p.Dh <= 128) forward_dh<128>(p, s);
  else forward_dh<256>(p, s);
}

void backward_f32(const AttentionParams& p, cudaStream_t s) {
  if (p.Dh <= 64) backward_dh<64>(p, s);
  else if (p.Dh <= 128) backward_dh<128>(p, s);
  else backward_dh<256>(p, s);
}

}  // namespace attn
}  // namespace ms
