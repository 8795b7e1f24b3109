// attention_fwd_bf16_v2.cu — kernel 2 of the bfloat16 forward, the only one (kernel 1, removed, was
// attention_fwd_bf16.cu; it is in git history). Same algorithm and tiling idea (FlashAttention-2:
// 4 warps x 32 query rows, Q K^T and P V on mma.sync m16n8k16, online softmax in registers, P
// fed from the accumulators into the P V A-fragments), with the per-element work cut down.
// Kernel 1 measured 100-160 TFLOP/s on an H200 where the tensor cores allow ~3x that; per
// 64-key tile a lane did ~550 non-mma instructions for 128 mma, and most of it was overhead:
//   - dropout is a template flag: kernel 1 inlined ~30 Philox calls (hundreds of instructions
//     each) into the unrolled softmax behind a runtime branch, bloating the hot loop's code;
//   - masks are evaluated only on tiles that cross a boundary (the causal diagonal or a key
//     length), with int32 offsets relative to the tile instead of int64 indices;
//   - probabilities use one MUFU.EX2 (ex2.approx.ftz) instead of exp2f's range fix-ups;
//   - Dh 128 runs 64-key tiles (kernel 1: 32), halving the per-key cost of the O rescale, the
//     barriers and the row reductions; Dh 64 runs 128-key tiles (kernel 1: 64);
//   - causal grids run the longest query blocks (most keys) first, so the last wave is short.
// Shared memory: Q (BR x DH) + double-buffered K and V (2 x 2 x BC x DH), rows padded to DH + 8
// halves (conflict-free ldmatrix, as in kernel 1).
#include "attention_cuda.cuh"
#include "../../core/cuda_api.h"
#include "../../core/error.h"

namespace ms {
namespace attn {
namespace {

constexpr int kThreads = 128;

template <int DH, int MT, int BC, bool DROP>
__global__ void __launch_bounds__(kThreads) fwd_bf16_v2_kernel(AttentionParams p, bool vec) {
  constexpr int BR = 64 * MT, LD = DH + 8, NT = BC / 8, KD = DH / 16, DT = DH / 8;
  extern __shared__ __align__(16) uint16_t smem[];
  uint16_t* sQ = smem;              // (BR, LD)
  uint16_t* sK = sQ + BR * LD;      // 2 x (BC, LD)
  uint16_t* sV = sK + 2 * BC * LD;  // 2 x (BC, LD)

  // Causal: block x = 0 gets the last query block (most keys), so heavy blocks start first.
  const unsigned bx = p.causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x;
  const int64_t bh = blockIdx.y, b = bh / p.H, i0 = static_cast<int64_t>(bx) * BR;
  const int Dh = static_cast<int>(p.Dh);
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b), diag = p.Lk - p.Lq;
  const uint16_t* q = static_cast<const uint16_t*>(p.q) + bh * p.Lq * Dh;
  const uint16_t* k = static_cast<const uint16_t*>(p.k) + bh * p.Lk * Dh;
  const uint16_t* v = static_cast<const uint16_t*>(p.v) + bh * p.Lk * Dh;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int wrow = warp * 16 * MT;

  const int64_t rows_end = imin64(i0 + BR, qlen);
  const int64_t kend = rows_end > i0 ? attn_key_end(rows_end - 1, klen, p.causal, diag) : 0;
  const int nblocks = static_cast<int>((kend + BC - 1) / BC);
  // Keys this lane's rows may see (from key 0); rows past qlen see none. int: L < 2^31.
  int row_end[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int64_t i = i0 + wrow + mt * 16 + g + 8 * hf;
      row_end[mt][hf] = i < qlen ? static_cast<int>(attn_key_end(i, klen, p.causal, diag)) : 0;
    }

  load_tile_bf16<BR, DH, kThreads>(sQ, q, i0, p.Lq - i0, Dh, vec);
  if (nblocks > 0) {
    load_tile_bf16<BC, DH, kThreads>(sK, k, 0, kend, Dh, vec);
    load_tile_bf16<BC, DH, kThreads>(sV, v, 0, kend, Dh, vec);
  }
  cp_async_commit();

  float o[MT][DT][4];
  float m[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < DT; ++dt) o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.0f;
    m[mt][0] = m[mt][1] = -INFINITY;
    l[mt][0] = l[mt][1] = 0.0f;
  }
  const float scale2 = p.scale * kLog2e;

  for (int n = 0; n < nblocks; ++n) {
    const int cur = n & 1;
    const int64_t j0 = static_cast<int64_t>(n) * BC;
    if (n + 1 < nblocks) {
      load_tile_bf16<BC, DH, kThreads>(sK + (cur ^ 1) * BC * LD, k, j0 + BC, kend - j0 - BC, Dh, vec);
      load_tile_bf16<BC, DH, kThreads>(sV + (cur ^ 1) * BC * LD, v, j0 + BC, kend - j0 - BC, Dh, vec);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const uint16_t* k_s = sK + cur * BC * LD;
    const uint16_t* v_s = sV + cur * BC * LD;

    // S = Q K^T: (16 MT, BC) per warp, raw (unscaled) scores.
    float s[MT][NT][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < KD; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
        ldmatrix_x4(a[mt], sQ + (wrow + mt * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + kk * 16 + (lane >> 4) * 8);
#pragma unroll
      for (int nt2 = 0; nt2 < NT / 2; ++nt2) {
        uint32_t bf[4];
        ldmatrix_x4(bf, k_s + (nt2 * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma16816(s[mt][2 * nt2], a[mt], bf[0], bf[1]);
          mma16816(s[mt][2 * nt2 + 1], a[mt], bf[2], bf[3]);
        }
      }
    }

    // Only tiles crossing the key length or the causal diagonal need the per-element mask.
    const bool need_mask = j0 + BC > klen || (p.causal && j0 + BC - 1 > i0 + diag);
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        // Keys [j0, j0 + lim) are visible to this row (none past qlen); lim in [0, BC].
        const int lim = min(BC, max(0, row_end[mt][hf] - n * BC));
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            float x = s[mt][nt][2 * hf + e] * scale2;  // log2 domain
            if (need_mask && nt * 8 + 2 * t + e >= lim) x = -INFINITY;
            s[mt][nt][2 * hf + e] = x;
            mx = fmaxf(mx, x);
          }
        mx = quad_max(mx);
        const float m_new = fmaxf(m[mt][hf], mx);
        const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing visible yet
        const float corr = ex2(m[mt][hf] - m_use);
        m[mt][hf] = m_new;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          float p0 = ex2(s[mt][nt][2 * hf] - m_use), p1 = ex2(s[mt][nt][2 * hf + 1] - m_use);
          sum += p0 + p1;
          if constexpr (DROP) {
            const int64_t i = i0 + wrow + mt * 16 + g + 8 * hf;
            float z0, z1;
            drop2(p, (static_cast<uint64_t>(bh) * p.Lq + i) * p.Lk + j0 + nt * 8 + 2 * t, z0, z1);
            p0 *= z0;
            p1 *= z1;
          }
          s[mt][nt][2 * hf] = p0;
          s[mt][nt][2 * hf + 1] = p1;
        }
        l[mt][hf] = l[mt][hf] * corr + sum;  // per-lane partial sum; the quad is summed at the end
#pragma unroll
        for (int dt = 0; dt < DT; ++dt) {
          o[mt][dt][2 * hf] *= corr;
          o[mt][dt][2 * hf + 1] *= corr;
        }
      }
    }

    // O += P V: (16 MT, BC) x (BC, DH).
#pragma unroll
    for (int kk = 0; kk < BC / 16; ++kk) {
      uint32_t a[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        a[mt][0] = pack_bf16(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = pack_bf16(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = pack_bf16(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = pack_bf16(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dt2 = 0; dt2 < DT / 2; ++dt2) {
        uint32_t bf[4];
        ldmatrix_x4_trans(bf, v_s + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dt2 * 16 + (lane >> 4) * 8);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma16816(o[mt][2 * dt2], a[mt], bf[0], bf[1]);
          mma16816(o[mt][2 * dt2 + 1], a[mt], bf[2], bf[3]);
        }
      }
    }
    __syncthreads();  // buffer cur is refilled by the next iteration's prefetch
  }
  cp_async_wait<0>();
  __syncthreads();

  // Normalise, stage through sQ, store; lse = ln(sum exp(S)) = (m + log2 l) ln 2.
  float* lse = p.lse + bh * p.Lq;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int r = wrow + mt * 16 + g + 8 * hf;
      const int64_t i = i0 + r;
      const float lsum = quad_sum(l[mt][hf]);
      const bool live = i < qlen && lsum > 0.0f;
      const float inv = live ? 1.0f / lsum : 0.0f;
#pragma unroll
      for (int dt = 0; dt < DT; ++dt)
        *reinterpret_cast<uint32_t*>(sQ + r * LD + dt * 8 + 2 * t) =
            pack_bf16(o[mt][dt][2 * hf] * inv, o[mt][dt][2 * hf + 1] * inv);
      if (t == 0 && i < p.Lq) lse[i] = live ? (m[mt][hf] + log2f(lsum)) * kLn2 : INFINITY;
    }
  }
  __syncthreads();
  store_tile_bf16<DH, kThreads>(static_cast<uint16_t*>(p.o) + bh * p.Lq * Dh, sQ, i0, imin64(BR, p.Lq - i0), Dh, vec);
}

template <int DH, int MT, int BC, bool DROP>
void launch(const AttentionParams& p, bool vec, cudaStream_t s) {
  constexpr int BR = 64 * MT;
  const size_t smem = static_cast<size_t>(BR + 4 * BC) * (DH + 8) * 2;
  auto kernel = fwd_bf16_v2_kernel<DH, MT, BC, DROP>;
  cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  dim3 grid(static_cast<unsigned>((p.Lq + BR - 1) / BR), static_cast<unsigned>(p.B * p.H));
  kernel<<<grid, kThreads, smem, s>>>(p, vec);
  cuda::check_launch("attention");
}

}  // namespace

// Buckets (DH, MT, BC). A lane holds o (MT x DH / 2 floats) and s (MT x BC / 2): 128 + 64 at
// Dh 128 fits the 255-register cap without spills (ptxas -v), 64 + 128 at Dh 64 does not (100+
// bytes of spills), so Dh <= 64 keeps 64-key tiles. Dropout needs ~30 more registers for the
// Philox state: its variants take half the keys (Dh 128: half the rows).
void forward_bf16_v2(const AttentionParams& p, bool vec, cudaStream_t s) {
  const bool drop = p.dropout > 0.0f;
  if (p.Dh <= 32) drop ? launch<32, 2, 32, true>(p, vec, s) : launch<32, 2, 64, false>(p, vec, s);
  else if (p.Dh <= 64) drop ? launch<64, 2, 32, true>(p, vec, s) : launch<64, 2, 64, false>(p, vec, s);
  else if (p.Dh <= 128) drop ? launch<128, 1, 64, true>(p, vec, s) : launch<128, 2, 64, false>(p, vec, s);
  else drop ? launch<256, 1, 32, true>(p, vec, s) : launch<256, 1, 32, false>(p, vec, s);
}

}  // namespace attn
}  // namespace ms
