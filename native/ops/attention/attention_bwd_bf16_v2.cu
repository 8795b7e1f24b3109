// attention_bwd_bf16_v2.cu — kernel 2 of the bfloat16 backward, for Dh <= 128 (kernel 1,
// attention_bwd_bf16.cu, runs Dh > 128 and the deterministic dQ pass). FlashAttention-2's
// structure: one block per (b, h, BC keys), 8 warps x 16 keys, walking the query tiles that see
// its keys:
//   S^T = K Q^T, P^T = exp2(S^T scale log2e - lse log2e), dP^T = V dO^T, dS^T = P^T o (dP~^T - D)
//   dV += P~^T dO, dK += dS^T Q        (registers, as kernel 1)
//   dQ_tile = dS K                     (dS^T staged in shared memory; float32 atomics into dq_acc)
// Kernel 1 ran a second kernel for dQ that recomputed S and dP: 8 matmuls where this does 5.
// The atomics make dQ's summation order depend on scheduling, so `deterministic` runs this
// kernel without the dQ part (ATOMIC_DQ = false) and then kernel 1's dQ pass.
// Per element, the P/dS math is 5 instructions (FFMA, MUFU.EX2, FADD, FMUL, half a pack); masks
// only on tiles crossing the causal diagonal or the key length (rows past qlen have lse = +inf,
// so P = 0 there without a mask); dropout is a template flag.
// dq_acc: float32 (B, H, Lq, ldq), ldq = Dh rounded up to 8, zeroed here, then scaled and
// rounded to bf16 by dq_convert_kernel. Atomics are float2 (red.global.add.v2.f32) on sm_90,
// two float atomics on sm_80: a 16 x 32 slice per warp per query tile.
// ptxas -v (sm_90, no dropout, atomic dQ): 229 registers at Dh 64, 255 at Dh 128 (4 bytes of
// spill); 1 block of 8 warps per SM; shared memory 92 KB (Dh 64) / 115 KB (Dh 128).
#include "attention_cuda.cuh"
#include "../../core/cuda_api.h"
#include "../../core/error.h"

#include <algorithm>

namespace ms {
namespace attn {
namespace {

constexpr int kWarps = 8, kThreads = kWarps * 32, BC = kWarps * 16;

template <int DH, int BR, bool DROP, bool ATOMIC_DQ>
__global__ void __launch_bounds__(kThreads) bwd_v2_kernel(AttentionParams p, bool vec) {
  constexpr int LD = DH + 8, KD = DH / 16, NT = BR / 8, DT = DH / 8;
  constexpr int LDS = BR + 8;          // dS^T row stride (halves): conflict-free 32-bit stores
  constexpr int RG = BR / 16;          // dQ: row groups of 16 queries
  constexpr int CW = DH / (kWarps / RG);  // dQ: head-dim columns per warp
  static_assert(kWarps % RG == 0 && CW % 16 == 0, "dQ split");
  extern __shared__ __align__(16) uint16_t smem[];
  uint16_t* sK = smem;                // (BC, LD)
  uint16_t* sV = sK + BC * LD;        // (BC, LD)
  uint16_t* sQ = sV + BC * LD;        // 2 x (BR, LD)
  uint16_t* sO = sQ + 2 * BR * LD;    // dO: 2 x (BR, LD)
  uint16_t* sS = sO + 2 * BR * LD;    // dS^T: (BC, LDS)
  float* sL = reinterpret_cast<float*>(sS + BC * LDS);  // 2 x BR: lse log2e, +inf on dead rows
  float* sD = sL + 2 * BR;                               // 2 x BR: D

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
  const int kw = warp * 16;  // this warp's first key in the block

  // Query tiles that see a key of this block: rows i >= j0 - diag under causal.
  const int64_t i_first = p.causal ? imax64(0, j0 - diag) : 0;
  const int64_t ib0 = i_first / BR * BR;
  const int ntiles = (j0 < klen && qlen > ib0) ? static_cast<int>((qlen - ib0 + BR - 1) / BR) : 0;
  const int64_t kvalid = imin64(BC, klen - j0);

  auto load_q_tile = [&](int it, int buf) {
    const int64_t i0 = ib0 + static_cast<int64_t>(it) * BR;
    load_tile_bf16<BR, DH, kThreads>(sQ + buf * BR * LD, q, i0, qlen - i0, Dh, vec);
    load_tile_bf16<BR, DH, kThreads>(sO + buf * BR * LD, dout, i0, qlen - i0, Dh, vec);
    for (int r = threadIdx.x; r < BR; r += kThreads) {
      const int64_t i = i0 + r;
      sL[buf * BR + r] = i < qlen ? lse[i] * kLog2e : INFINITY;
      sD[buf * BR + r] = i < qlen ? D[i] : 0.0f;
    }
  };

  if (ntiles > 0) {
    load_tile_bf16<BC, DH, kThreads>(sK, k, j0, kvalid, Dh, vec);
    load_tile_bf16<BC, DH, kThreads>(sV, v, j0, kvalid, Dh, vec);
    load_q_tile(0, 0);
  }
  cp_async_commit();

  float dv[DT][4], dk[DT][4];
#pragma unroll
  for (int dt = 0; dt < DT; ++dt)
#pragma unroll
    for (int e = 0; e < 4; ++e) dv[dt][e] = dk[dt][e] = 0.0f;
  const float scale2 = p.scale * kLog2e;
  // Keys of this lane (relative to j0): kw + g + 8 hf. Key limit relative to j0.
  const int kv = static_cast<int>(kvalid);

  for (int it = 0; it < ntiles; ++it) {
    const int cur = it & 1;
    const int64_t i0 = ib0 + static_cast<int64_t>(it) * BR;
    __syncthreads();  // all warps are done with buffer cur ^ 1 and with sS (iteration it - 1)
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
      const int arow = (kw + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + kk * 16 + (lane >> 4) * 8;
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

    // P^T, dropout, dS^T. Element (key kw + g + 8 hf, query 8 nt + 2 t + e) of the tile.
    const bool need_mask = j0 + BC > klen || (p.causal && j0 + BC - 1 > i0 + diag);
    // Under causal, key jr (rel. j0) is visible to query r (rel. i0) iff jr <= r + cd.
    const int cd = static_cast<int>(imax64(-2 * BC, imin64(2 * BC, i0 + diag - j0)));
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int r = nt * 8 + 2 * t;
      const float2 L2 = *reinterpret_cast<const float2*>(l_s + r);
      const float2 D2 = *reinterpret_cast<const float2*>(d_s + r);
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const int jr = kw + g + 8 * hf;
        float z0 = 1.0f, z1 = 1.0f;
        if constexpr (DROP) {  // adjacent queries are Lk apart in the dropout index: one draw each
          const uint64_t idx = (static_cast<uint64_t>(bh) * p.Lq + i0 + r) * p.Lk + j0 + jr;
          z0 = drop1(p, idx);
          z1 = drop1(p, idx + p.Lk);
        }
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float x = fmaf(st[nt][2 * hf + e], scale2, -(e ? L2.y : L2.x));
          if (need_mask && (jr >= kv || (p.causal && jr > r + e + cd))) x = -INFINITY;
          const float pr = ex2(x);
          const float z = e ? z1 : z0;
          st[nt][2 * hf + e] = DROP ? pr * z : pr;                                    // P~^T
          const float dpz = DROP ? dpt[nt][2 * hf + e] * z : dpt[nt][2 * hf + e];
          dpt[nt][2 * hf + e] = pr * (dpz - (e ? D2.y : D2.x));                       // dS^T / scale
        }
      }
    }

    // dV += P~^T dO and dK += dS^T Q; dS^T also goes to sS for dQ.
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
      if constexpr (ATOMIC_DQ) {
        uint16_t* srow = sS + (kw + g) * LDS + kk * 16 + 2 * t;
        *reinterpret_cast<uint32_t*>(srow) = as[0];
        *reinterpret_cast<uint32_t*>(srow + 8 * LDS) = as[1];
        *reinterpret_cast<uint32_t*>(srow + 8) = as[2];
        *reinterpret_cast<uint32_t*>(srow + 8 * LDS + 8) = as[3];
      }
#pragma unroll
      for (int dt2 = 0; dt2 < DT / 2; ++dt2) {
        const int brow = (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dt2 * 16 + (lane >> 4) * 8;
        uint32_t bo[4], bq[4];
        ldmatrix_x4_trans(bo, o_s + brow);
        ldmatrix_x4_trans(bq, q_s + brow);
        mma16816(dv[2 * dt2], ap, bo[0], bo[1]);
        mma16816(dv[2 * dt2 + 1], ap, bo[2], bo[3]);
        mma16816(dk[2 * dt2], as, bq[0], bq[1]);
        mma16816(dk[2 * dt2 + 1], as, bq[2], bq[3]);
      }
    }

    if constexpr (ATOMIC_DQ) {
      __syncthreads();  // sS complete
      // dQ rows rg*16.. and columns c0.. of this tile: (16, BC) x (BC, CW). The A fragments of
      // dS come from dS^T with ldmatrix.trans (stored row = key, column = query).
      const int rg = warp % RG, c0 = warp / RG * CW;
      float acc[CW / 8][4];
#pragma unroll
      for (int ct = 0; ct < CW / 8; ++ct) acc[ct][0] = acc[ct][1] = acc[ct][2] = acc[ct][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < BC / 16; ++kk) {
        uint32_t a[4];
        ldmatrix_x4_trans(a, sS + (kk * 16 + (lane & 7) + (lane >> 4) * 8) * LDS + rg * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
        for (int ct2 = 0; ct2 < CW / 16; ++ct2) {
          uint32_t bk[4];
          ldmatrix_x4_trans(bk, sK + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + c0 + ct2 * 16 + (lane >> 4) * 8);
          mma16816(acc[2 * ct2], a, bk[0], bk[1]);
          mma16816(acc[2 * ct2 + 1], a, bk[2], bk[3]);
        }
      }
      const int64_t ldq = (p.Dh + 7) / 8 * 8;
      float* dqa = p.dq_acc + (bh * p.Lq + i0 + rg * 16) * ldq;
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const int r = rg * 16 + g + 8 * hf;
        if (i0 + r < qlen) {
#pragma unroll
          for (int ct = 0; ct < CW / 8; ++ct) {
            const int c = c0 + ct * 8 + 2 * t;
            if (c < Dh) {
              float* dst = dqa + (g + 8 * hf) * ldq + c;
#if __CUDA_ARCH__ >= 900
              atomicAdd(reinterpret_cast<float2*>(dst), make_float2(acc[ct][2 * hf], acc[ct][2 * hf + 1]));
#else
              atomicAdd(dst, acc[ct][2 * hf]);
              atomicAdd(dst + 1, acc[ct][2 * hf + 1]);
#endif
            }
          }
        }
      }
    }
  }
  cp_async_wait<0>();
  __syncthreads();

  // Stage dK (x scale) in sK and dV in sV, then store rows [j0, min(j0 + BC, Lk)).
#pragma unroll
  for (int hf = 0; hf < 2; ++hf) {
    const int r = kw + g + 8 * hf;
#pragma unroll
    for (int dt = 0; dt < DT; ++dt) {
      const int c = dt * 8 + 2 * t;
      *reinterpret_cast<uint32_t*>(sK + r * LD + c) = pack_bf16(dk[dt][2 * hf] * p.scale, dk[dt][2 * hf + 1] * p.scale);
      *reinterpret_cast<uint32_t*>(sV + r * LD + c) = pack_bf16(dv[dt][2 * hf], dv[dt][2 * hf + 1]);
    }
  }
  __syncthreads();
  const int64_t rows = imin64(BC, p.Lk - j0);
  store_tile_bf16<DH, kThreads>(static_cast<uint16_t*>(p.dk) + bh * p.Lk * Dh, sK, j0, rows, Dh, vec);
  store_tile_bf16<DH, kThreads>(static_cast<uint16_t*>(p.dv) + bh * p.Lk * Dh, sV, j0, rows, Dh, vec);
}

// dq = bf16(dq_acc * scale), dropping the padding columns.
__global__ void dq_convert_kernel(const float* __restrict__ acc, uint16_t* __restrict__ dq, int64_t rows, int Dh,
                                  int ldq, float scale) {
  const int64_t n = rows * Dh;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = e / Dh;
    const int d = static_cast<int>(e - r * Dh);
    const float x = acc[r * ldq + d] * scale;
    __nv_bfloat16 h = __float2bfloat16_rn(x);
    dq[e] = *reinterpret_cast<uint16_t*>(&h);
  }
}

template <int DH, int BR, bool DROP, bool ATOMIC_DQ>
void launch(const AttentionParams& p, bool vec, cudaStream_t s) {
  constexpr int LD = DH + 8;
  const size_t smem = static_cast<size_t>(2 * BC + 4 * BR) * LD * 2 + static_cast<size_t>(BC) * (BR + 8) * 2 +
                      4 * BR * sizeof(float);
  auto kernel = bwd_v2_kernel<DH, BR, DROP, ATOMIC_DQ>;
  cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  dim3 grid(static_cast<unsigned>((p.Lk + BC - 1) / BC), static_cast<unsigned>(p.B * p.H));
  kernel<<<grid, kThreads, smem, s>>>(p, vec);
  cuda::check_launch("attention");
}

template <int DH, int BR>
void launch_any(const AttentionParams& p, bool vec, bool atomic, cudaStream_t s) {
  const bool drop = p.dropout > 0.0f;
  if (atomic) drop ? launch<DH, BR, true, true>(p, vec, s) : launch<DH, BR, false, true>(p, vec, s);
  else drop ? launch<DH, BR, true, false>(p, vec, s) : launch<DH, BR, false, false>(p, vec, s);
}

}  // namespace

// Buckets (DH, BR). A lane holds dK and dV (DH / 2 floats each) and S^T and dP^T (BR / 2 each):
// Dh 128 takes 32-query tiles to stay under 255 registers. Dh > 128 stays on kernel 1.
bool backward_bf16_v2(const AttentionParams& p, bool vec, cudaStream_t s) {
  if (p.Dh > 128) return false;
  const bool atomic = !p.deterministic;
  if (atomic && !p.dq_acc) fail("attention", "internal: the bfloat16 backward needs dq_acc (attention_needs_dq_acc)");
  if (p.Lk > 0) {
    if (atomic && p.Lq > 0) {
      const int64_t ldq = (p.Dh + 7) / 8 * 8;
      const cudaError_t err = cudaMemsetAsync(p.dq_acc, 0, static_cast<size_t>(p.B * p.H * p.Lq * ldq) * sizeof(float), s);
      if (err != cudaSuccess) fail("attention", "zeroing the dQ accumulator: ", cudaGetErrorString(err));
    }
    if (p.Dh <= 32) launch_any<32, 64>(p, vec, atomic, s);
    else if (p.Dh <= 64) launch_any<64, 64>(p, vec, atomic, s);
    else launch_any<128, 32>(p, vec, atomic, s);
  }
  if (p.Lq > 0) {
    if (atomic) {
      const int64_t rows = p.B * p.H * p.Lq;
      const int ldq = static_cast<int>((p.Dh + 7) / 8 * 8);
      const int64_t n = rows * p.Dh;
      const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 132 * 16));
      if (p.Lk > 0) {
        dq_convert_kernel<<<blocks, 256, 0, s>>>(p.dq_acc, static_cast<uint16_t*>(p.dq), rows, static_cast<int>(p.Dh),
                                                 ldq, p.scale);
        cuda::check_launch("attention");
      } else {
        const cudaError_t err = cudaMemsetAsync(p.dq, 0, static_cast<size_t>(n) * 2, s);  // no key: dq = 0
        if (err != cudaSuccess) fail("attention", "zeroing dq: ", cudaGetErrorString(err));
      }
    } else {
      dq_bf16(p, vec, s);
    }
  }
  return true;
}

}  // namespace attn
}  // namespace ms
