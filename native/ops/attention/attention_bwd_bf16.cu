// attention_bwd_bf16.cu — FlashAttention-2 backward on the tensor cores (bfloat16 in, float32
// accumulate), the first generation: what kernel 2 (attention_bwd_bf16_v2.cu) does not cover runs
// here: the whole backward at 128 < Dh <= 256, and the dq pass of the deterministic mode at
// every Dh. Two kernels, no atomics, so the result is bitwise reproducible:
//   dkdv: one block per (b, h, BC keys). Each warp owns 16 keys (and 1/DSPLIT of the head dim
//         for its accumulators) and walks the query tiles that see its keys:
//         S^T = K Q^T, P^T = exp(S^T - lse), dP^T = V dO^T, dS^T = P^T o (dP^T - D);
//         dV += P~^T dO, dK += dS^T Q — P^T and dS^T go from accumulators straight to A fragments.
//   dq:   one block per (b, h, 64 queries), like the forward: S, dP recomputed; dQ += dS K.
// The dq pass recomputes S and dP (3 of the 5 backward matmuls again); it is what makes the
// result independent of block scheduling, as the deterministic mode of FlashAttention does.
#include "attention_cuda.cuh"
#include "../../core/cuda_api.h"
#include "../../core/error.h"

namespace ms {
namespace attn {
namespace {

// ---------------- dK, dV ----------------
template <int DH, int BC, int BR, int DSPLIT>
__global__ void __launch_bounds__(BC / 16 * DSPLIT * 32) dkdv_kernel(AttentionParams p, bool vec) {
  constexpr int THREADS = BC / 16 * DSPLIT * 32, LD = DH + 8, KD = DH / 16, NT = BR / 8;
  constexpr int DTW = DH / DSPLIT / 8;  // accumulator n-tiles (8 head-dim columns) per warp
  extern __shared__ __align__(16) uint16_t smem[];
  uint16_t* sK = smem;               // (BC, LD)
  uint16_t* sV = sK + BC * LD;       // (BC, LD)
  uint16_t* sQ = sV + BC * LD;       // 2 x (BR, LD)
  uint16_t* sO = sQ + 2 * BR * LD;   // dO: 2 x (BR, LD)
  float* sL = reinterpret_cast<float*>(sO + 2 * BR * LD);  // 2 x BR: lse * log2(e), +inf on dead rows
  float* sD = sL + 2 * BR;                                  // 2 x BR: D

  const int64_t bh = blockIdx.y, b = bh / p.H, j0 = static_cast<int64_t>(blockIdx.x) * BC;
  const int Dh = static_cast<int>(p.Dh);
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b), diag = p.Lk - p.Lq;
  const uint16_t* q = static_cast<const uint16_t*>(p.q) + bh * p.Lq * Dh;
  const uint16_t* k = static_cast<const uint16_t*>(p.k) + bh * p.Lk * Dh;
  const uint16_t* v = static_cast<const uint16_t*>(p.v) + bh * p.Lk * Dh;
  const uint16_t* dout = static_cast<const uint16_t*>(p.dout) + bh * p.Lq * Dh;
  const float* lse = p.lse + bh * p.Lq;
  const float* D = p.delta + bh * p.Lq;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kw = warp / DSPLIT, dw = warp % DSPLIT;

  // Query tiles that see a key of this block: rows i >= j0 - diag under causal.
  const int64_t i_first = p.causal ? imax64(0, j0 - diag) : 0;
  const int64_t ib0 = i_first / BR * BR;
  const int ntiles = (j0 < klen && qlen > ib0) ? static_cast<int>((qlen - ib0 + BR - 1) / BR) : 0;
  const int64_t kvalid = imin64(BC, klen - j0);

  auto load_q_tile = [&](int it, int buf) {
    const int64_t i0 = ib0 + static_cast<int64_t>(it) * BR;
    load_tile_bf16<BR, DH, THREADS>(sQ + buf * BR * LD, q, i0, qlen - i0, Dh, vec);
    load_tile_bf16<BR, DH, THREADS>(sO + buf * BR * LD, dout, i0, qlen - i0, Dh, vec);
    for (int r = threadIdx.x; r < BR; r += THREADS) {
      const int64_t i = i0 + r;
      sL[buf * BR + r] = i < qlen ? lse[i] * kLog2e : INFINITY;
      sD[buf * BR + r] = i < qlen ? D[i] : 0.0f;
    }
  };

  if (ntiles > 0) {
    load_tile_bf16<BC, DH, THREADS>(sK, k, j0, kvalid, Dh, vec);
    load_tile_bf16<BC, DH, THREADS>(sV, v, j0, kvalid, Dh, vec);
    load_q_tile(0, 0);
  }
  cp_async_commit();

  float dv[DTW][4], dk[DTW][4];
#pragma unroll
  for (int dt = 0; dt < DTW; ++dt)
#pragma unroll
    for (int e = 0; e < 4; ++e) dv[dt][e] = dk[dt][e] = 0.0f;
  const float scale2 = p.scale * kLog2e;

  for (int it = 0; it < ntiles; ++it) {
    const int cur = it & 1;
    const int64_t i0 = ib0 + static_cast<int64_t>(it) * BR;
    __syncthreads();  // everyone is done with buffer cur ^ 1 (used by iteration it - 1)
    if (it + 1 < ntiles) load_q_tile(it + 1, cur ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const uint16_t* q_s = sQ + cur * BR * LD;
    const uint16_t* o_s = sO + cur * BR * LD;
    const float* l_s = sL + cur * BR;
    const float* d_s = sD + cur * BR;

    // S^T = K Q^T and dP^T = V dO^T: (16 keys, BR queries) per warp.
    float st[NT][4], dpt[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) st[nt][e] = dpt[nt][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < KD; ++kk) {
      uint32_t ak[4], av[4];
      const int arow = (kw * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + kk * 16 + (lane >> 4) * 8;
      ldmatrix_x4(ak, sK + arow);
      ldmatrix_x4(av, sV + arow);
#pragma unroll
      for (int nt2 = 0; nt2 < NT / 2; ++nt2) {
        const int brow = (nt2 * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8;
        uint32_t bq[4], bo[4];
        ldmatrix_x4(bq, q_s + brow);
        ldmatrix_x4(bo, o_s + brow);
        mma16816(st[2 * nt2], ak, bq[0], bq[1]);
        mma16816(st[2 * nt2 + 1], ak, bq[2], bq[3]);
        mma16816(dpt[2 * nt2], av, bo[0], bo[1]);
        mma16816(dpt[2 * nt2 + 1], av, bo[2], bo[3]);
      }
    }

    // P^T, dropout, dS^T. Element (key j, query i); a lane holds keys g, g + 8 and queries 2t, 2t + 1.
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int64_t j = j0 + kw * 16 + g + 8 * hf;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int r = nt * 8 + 2 * t;
        const int64_t i = i0 + r;
        // Adjacent queries are Lk apart in the dropout index: one draw each.
        float z0 = 1.0f, z1 = 1.0f;
        if (p.dropout > 0.0f) {
          z0 = drop1(p, (static_cast<uint64_t>(bh) * p.Lq + i) * p.Lk + j);
          z1 = drop1(p, (static_cast<uint64_t>(bh) * p.Lq + i + 1) * p.Lk + j);
        }
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const bool vis = i + e < qlen && attn_visible(i + e, j, klen, p.causal, diag);
          const float pr = vis ? exp2f(st[nt][2 * hf + e] * scale2 - l_s[r + e]) : 0.0f;
          const float z = e ? z1 : z0;
          st[nt][2 * hf + e] = pr * z;                              // P~^T
          dpt[nt][2 * hf + e] = pr * (dpt[nt][2 * hf + e] * z - d_s[r + e]);  // dS^T (x scale at the end)
        }
      }
    }

    // dV += P~^T dO and dK += dS^T Q over this warp's head-dim slice.
#pragma unroll
    for (int kk = 0; kk < BR / 16; ++kk) {
      uint32_t ap[4], as[4];
      ap[0] = pack_bf16(st[2 * kk][0], st[2 * kk][1]);
      ap[1] = pack_bf16(st[2 * kk][2], st[2 * kk][3]);
      ap[2] = pack_bf16(st[2 * kk + 1][0], st[2 * kk + 1][1]);
      ap[3] = pack_bf16(st[2 * kk + 1][2], st[2 * kk + 1][3]);
      as[0] = pack_bf16(dpt[2 * kk][0], dpt[2 * kk][1]);
      as[1] = pack_bf16(dpt[2 * kk][2], dpt[2 * kk][3]);
      as[2] = pack_bf16(dpt[2 * kk + 1][0], dpt[2 * kk + 1][1]);
      as[3] = pack_bf16(dpt[2 * kk + 1][2], dpt[2 * kk + 1][3]);
#pragma unroll
      for (int dt2 = 0; dt2 < DTW / 2; ++dt2) {
        const int col = dw * (DH / DSPLIT) + dt2 * 16 + (lane >> 4) * 8;
        const int brow = (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + col;
        uint32_t bo[4], bq[4];
        ldmatrix_x4_trans(bo, o_s + brow);
        ldmatrix_x4_trans(bq, q_s + brow);
        mma16816(dv[2 * dt2], ap, bo[0], bo[1]);
        mma16816(dv[2 * dt2 + 1], ap, bo[2], bo[3]);
        mma16816(dk[2 * dt2], as, bq[0], bq[1]);
        mma16816(dk[2 * dt2 + 1], as, bq[2], bq[3]);
      }
    }
  }
  cp_async_wait<0>();
  __syncthreads();

  // Stage dK (x scale) in sK and dV in sV, then store rows [j0, min(j0 + BC, Lk)).
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int r = kw * 16 + g + 8 * hf;
#pragma unroll
    for (int dt = 0; dt < DTW; ++dt) {
      const int c = dw * (DH / DSPLIT) + dt * 8 + 2 * t;
      *reinterpret_cast<uint32_t*>(sK + r * LD + c) = pack_bf16(dk[dt][2 * hf] * p.scale, dk[dt][2 * hf + 1] * p.scale);
      *reinterpret_cast<uint32_t*>(sV + r * LD + c) = pack_bf16(dv[dt][2 * hf], dv[dt][2 * hf + 1]);
    }
  }
  __syncthreads();
  const int64_t rows = imin64(BC, p.Lk - j0);
  store_tile_bf16<DH, THREADS>(static_cast<uint16_t*>(p.dk) + bh * p.Lk * Dh, sK, j0, rows, Dh, vec);
  store_tile_bf16<DH, THREADS>(static_cast<uint16_t*>(p.dv) + bh * p.Lk * Dh, sV, j0, rows, Dh, vec);
}

// ---------------- dQ ----------------
constexpr int kQThreads = 128;  // 4 warps x 16 query rows

template <int DH, int BC>
__global__ void __launch_bounds__(kQThreads) dq_kernel(AttentionParams p, bool vec) {
  constexpr int BR = 64, LD = DH + 8, NT = BC / 8, KD = DH / 16, DT = DH / 8;
  extern __shared__ __align__(16) uint16_t smem[];
  uint16_t* sQ = smem;              // (BR, LD); reused to stage dQ
  uint16_t* sO = sQ + BR * LD;      // dO: (BR, LD)
  uint16_t* sK = sO + BR * LD;      // 2 x (BC, LD)
  uint16_t* sV = sK + 2 * BC * LD;  // 2 x (BC, LD)

  const int64_t bh = blockIdx.y, b = bh / p.H, i0 = static_cast<int64_t>(blockIdx.x) * BR;
  const int Dh = static_cast<int>(p.Dh);
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b), diag = p.Lk - p.Lq;
  const uint16_t* k = static_cast<const uint16_t*>(p.k) + bh * p.Lk * Dh;
  const uint16_t* v = static_cast<const uint16_t*>(p.v) + bh * p.Lk * Dh;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int wrow = warp * 16;

  const int64_t rows_end = imin64(i0 + BR, qlen);
  const int64_t kend = rows_end > i0 ? attn_key_end(rows_end - 1, klen, p.causal, diag) : 0;
  const int nblocks = static_cast<int>((kend + BC - 1) / BC);

  load_tile_bf16<BR, DH, kQThreads>(sQ, static_cast<const uint16_t*>(p.q) + bh * p.Lq * Dh, i0, qlen - i0, Dh, vec);
  load_tile_bf16<BR, DH, kQThreads>(sO, static_cast<const uint16_t*>(p.dout) + bh * p.Lq * Dh, i0, qlen - i0, Dh, vec);
  if (nblocks > 0) {
    load_tile_bf16<BC, DH, kQThreads>(sK, k, 0, kend, Dh, vec);
    load_tile_bf16<BC, DH, kQThreads>(sV, v, 0, kend, Dh, vec);
  }
  cp_async_commit();

  float lse2[2], Dr[2];
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int64_t i = i0 + wrow + g + 8 * hf;
    lse2[hf] = i < qlen ? p.lse[bh * p.Lq + i] * kLog2e : INFINITY;
    Dr[hf] = i < qlen ? p.delta[bh * p.Lq + i] : 0.0f;
  }
  float dq[DT][4];
#pragma unroll
  for (int dt = 0; dt < DT; ++dt) dq[dt][0] = dq[dt][1] = dq[dt][2] = dq[dt][3] = 0.0f;
  const float scale2 = p.scale * kLog2e;

  for (int n = 0; n < nblocks; ++n) {
    const int cur = n & 1;
    const int64_t j0 = static_cast<int64_t>(n) * BC;
    if (n + 1 < nblocks) {
      load_tile_bf16<BC, DH, kQThreads>(sK + (cur ^ 1) * BC * LD, k, j0 + BC, kend - j0 - BC, Dh, vec);
      load_tile_bf16<BC, DH, kQThreads>(sV + (cur ^ 1) * BC * LD, v, j0 + BC, kend - j0 - BC, Dh, vec);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const uint16_t* k_s = sK + cur * BC * LD;
    const uint16_t* v_s = sV + cur * BC * LD;

    float s[NT][4], dp[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[nt][e] = dp[nt][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < KD; ++kk) {
      uint32_t aq[4], ao[4];
      const int arow = (wrow + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + kk * 16 + (lane >> 4) * 8;
      ldmatrix_x4(aq, sQ + arow);
      ldmatrix_x4(ao, sO + arow);
#pragma unroll
      for (int nt2 = 0; nt2 < NT / 2; ++nt2) {
        const int brow = (nt2 * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8;
        uint32_t bk[4], bv[4];
        ldmatrix_x4(bk, k_s + brow);
        ldmatrix_x4(bv, v_s + brow);
        mma16816(s[2 * nt2], aq, bk[0], bk[1]);
        mma16816(s[2 * nt2 + 1], aq, bk[2], bk[3]);
        mma16816(dp[2 * nt2], ao, bv[0], bv[1]);
        mma16816(dp[2 * nt2 + 1], ao, bv[2], bv[3]);
      }
    }
    // dS = P o (dP~ - D), P = exp(S - lse); dS overwrites s.
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int64_t i = i0 + wrow + g + 8 * hf;
      const int64_t row_end = i < qlen ? attn_key_end(i, klen, p.causal, diag) : 0;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int64_t j = j0 + nt * 8 + 2 * t;
        float z0 = 1.0f, z1 = 1.0f;
        if (p.dropout > 0.0f) drop2(p, (static_cast<uint64_t>(bh) * p.Lq + i) * p.Lk + j, z0, z1);
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float pr = j + e < row_end ? exp2f(s[nt][2 * hf + e] * scale2 - lse2[hf]) : 0.0f;
          s[nt][2 * hf + e] = pr * (dp[nt][2 * hf + e] * (e ? z1 : z0) - Dr[hf]);
        }
      }
    }
    // dQ += dS K: (16, BC) x (BC, DH).
#pragma unroll
    for (int kk = 0; kk < BC / 16; ++kk) {
      uint32_t a[4];
      a[0] = pack_bf16(s[2 * kk][0], s[2 * kk][1]);
      a[1] = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
      a[2] = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      a[3] = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int dt2 = 0; dt2 < DT / 2; ++dt2) {
        uint32_t bk[4];
        ldmatrix_x4_trans(bk, k_s + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dt2 * 16 + (lane >> 4) * 8);
        mma16816(dq[2 * dt2], a, bk[0], bk[1]);
        mma16816(dq[2 * dt2 + 1], a, bk[2], bk[3]);
      }
    }
    __syncthreads();
  }
  cp_async_wait<0>();
  __syncthreads();
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int r = wrow + g + 8 * hf;
#pragma unroll
    for (int dt = 0; dt < DT; ++dt)
      *reinterpret_cast<uint32_t*>(sQ + r * LD + dt * 8 + 2 * t) =
          pack_bf16(dq[dt][2 * hf] * p.scale, dq[dt][2 * hf + 1] * p.scale);
  }
  __syncthreads();
  store_tile_bf16<DH, kQThreads>(static_cast<uint16_t*>(p.dq) + bh * p.Lq * Dh, sQ, i0, imin64(BR, p.Lq - i0), Dh, vec);
}

template <int DH, int BC, int BR, int DSPLIT>
void launch_dkdv(const AttentionParams& p, bool vec, cudaStream_t s) {
  constexpr int THREADS = BC / 16 * DSPLIT * 32;
  const size_t smem = static_cast<size_t>(2 * BC + 4 * BR) * (DH + 8) * 2 + 4 * BR * sizeof(float);
  auto kernel = dkdv_kernel<DH, BC, BR, DSPLIT>;
  cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  dim3 grid(static_cast<unsigned>((p.Lk + BC - 1) / BC), static_cast<unsigned>(p.B * p.H));
  kernel<<<grid, THREADS, smem, s>>>(p, vec);
  cuda::check_launch("attention");
}

template <int DH, int BC>
void launch_dq(const AttentionParams& p, bool vec, cudaStream_t s) {
  const size_t smem = static_cast<size_t>(2 * 64 + 4 * BC) * (DH + 8) * 2;
  auto kernel = dq_kernel<DH, BC>;
  cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  dim3 grid(static_cast<unsigned>((p.Lq + 63) / 64), static_cast<unsigned>(p.B * p.H));
  kernel<<<grid, kQThreads, smem, s>>>(p, vec);
  cuda::check_launch("attention");
}

}  // namespace

// Buckets (DH: dkdv BC, BR, DSPLIT; dq BC). A dkdv lane holds 2 x 16 x DH/DSPLIT / 32
// accumulators plus 2 x BR/2 for S^T and dP^T; DH = 256 splits the head dim over warp pairs.
// dkdv runs only at Dh > 128 (kernel 2 covers Dh <= 128), so it has the DH = 256 bucket alone.
void backward_bf16_dh256(const AttentionParams& p, bool vec, cudaStream_t s) {
  if (p.Dh <= 128 || p.Dh > 256) fail("attention", "internal: the Dh 256 backward called with Dh = ", p.Dh);
  if (p.Lk > 0) launch_dkdv<256, 64, 32, 2>(p, vec, s);
  if (p.Lq > 0) dq_bf16(p, vec, s);
}

void dq_bf16(const AttentionParams& p, bool vec, cudaStream_t s) {
  if (p.Dh <= 32) launch_dq<32, 64>(p, vec, s);
  else if (p.Dh <= 64) launch_dq<64, 64>(p, vec, s);
  else if (p.Dh <= 128) launch_dq<128, 64>(p, vec, s);
  else launch_dq<256, 32>(p, vec, s);
}

}  // namespace attn
}  // namespace ms
