// selective_scan_v2_bwd.cu — the selective scan backward, kernel version 2 (work split: scan_v2.cuh).
//
// Per warp (row), chunks of CH = 256 processed steps last to first; per state n:
//   1. re-run the chunk's forward scan from the state saved at its start (h_k, and
//      a_k h_{k-1} = h_k - b_k, which dA and ddelta need);
//   2. scan the adjoint against time: g_k = C_k dy_k + a_{k+1} g_{k+1}, seeded by the adjoint
//      carried from the later chunk (dLoss/dlastState for the last one);
//   3. dC_k = dy_k h_k, dB_k = g_k dt_k u_k (summed over the block's 8 rows in shared memory, then
//      one float2 atomic per block and 2 steps, or a per-block slot summed in a fixed order when
//      deterministic); du_k += g_k dt_k B_k, ddt_k += g_k (B_k u_k + A a_k h_{k-1}),
//      dA += g_k dt_k a_k h_{k-1} (per row; reduced over the batch later, deterministically).
// Exp count: one per (b, d, t, n), as the forward; nothing of size (B, D, L, N) is stored.
// Napkin math at (16, 1536, 16, 1024): ~30 instructions per (b, d, t, n) per lane -> 0.35 ms at
// full issue; dB/dC atomics 2 * B * (D / 8) * N * L / 2 = 2.5e7 float2 -> well under 0.1 ms.
#include <cuda_runtime.h>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "scan_v2.cuh"

namespace ms {
namespace scan2 {
namespace {

constexpr int kR = kRowsBwd;

// Shared floats: dB | dC partials [2 (n parity)][kR][2][CH]; adjoint carry and dA per (row, n).
int64_t bwd_smem_floats(int64_t N, int CH) { return 2 * kR * 2 * CH + 2 * kR * N; }

// Puts K values (processing order) of lane `lane` at their memory offsets within the chunk
// (offset = memory step - lowest memory step of the chunk).
template <int K, bool kRev>
__device__ __forceinline__ void put_k(float* buf, int lane, const float (&v)[K]) {
  constexpr int CH = 32 * K;
  float* dst = buf + (kRev ? CH - (lane + 1) * K : lane * K);
#pragma unroll
  for (int q = 0; q < K / 4; ++q) {
    float m[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) m[j] = kRev ? v[K - 1 - 4 * q - j] : v[4 * q + j];
    reinterpret_cast<float4*>(dst)[q] = make_float4(m[0], m[1], m[2], m[3]);
  }
}

// Sums the block's dB | dC partials for state n over its rows (fixed order) and adds them to
// global memory (atomics) or writes the block's slot (deterministic). tb: the chunk's lowest
// memory step.
__device__ __forceinline__ void flush_bc(const Params& p, const Row& r, const float* part, int n, int tb,
                                         int CH) {
  const int64_t bgnl = p.batch * p.ngroups * p.nstate * p.len;
  float* base = p.dB_acc + (p.atomic_bc ? 0 : r.blk * 2 * bgnl);
  const int64_t rowoff = (r.bg * p.nstate + n) * p.len;
  for (int o = 2 * threadIdx.x; o < 2 * CH; o += 2 * blockDim.x) {
    float2 s = make_float2(0.f, 0.f);
#pragma unroll
    for (int w = 0; w < kR; ++w) {
      const float2 x = *reinterpret_cast<const float2*>(part + w * 2 * CH + o);
      s.x += x.x;
      s.y += x.y;
    }
    const int which = o / CH;  // 0: dB, 1: dC
    const int t = tb + o % CH;
    float* dst = base + which * bgnl + rowoff + t;
    const bool ok0 = t >= 0 && t < r.len, ok1 = t + 1 >= 0 && t + 1 < r.len;
    if (!p.atomic_bc) {
      if (ok0) dst[0] = s.x;
      if (ok1) dst[1] = s.y;
    } else if (ok0 && ok1 && p.len % 2 == 0) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
      atomicAdd(reinterpret_cast<float2*>(dst), s);
#else
      atomicAdd(dst, s.x);
      atomicAdd(dst + 1, s.y);
#endif
    } else {
      if (ok0) atomicAdd(dst, s.x);
      if (ok1) atomicAdd(dst + 1, s.y);
    }
  }
}

template <typename TI, int K, bool kRev>
__global__ void __launch_bounds__(kR * 32, 2) scan_bwd_v2_kernel(Params p) {
  constexpr int CH = 32 * K;
  constexpr bool rev = kRev;
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  // Every warp runs every loop (block barriers); a missing channel reads zeros and stores nothing.
  const Row r = row_of(p, warp);
  const int N = static_cast<int>(p.nstate), L = static_cast<int>(p.len);
  const bool vec = p.vec_io;
  const int len = r.valid ? r.len : 0;  // a missing channel sees every step as padding
  float* part = smem;                       // [2][kR][2][CH]
  float* carry = part + 2 * kR * 2 * CH + warp * N;
  float* sdA = part + 2 * kR * 2 * CH + kR * N + warp * N;
  for (int n = lane; n < N; n += 32) {
    carry[n] = r.valid && p.dlast ? p.dlast[r.row * N + n] : 0.f;
    sdA[n] = 0.f;
  }
  __syncwarp();

  const TI* u = static_cast<const TI*>(p.u) + r.row * p.len;
  const TI* delta = static_cast<const TI*>(p.delta) + r.row * p.len;
  const TI* z = p.z ? static_cast<const TI*>(p.z) + r.row * p.len : nullptr;
  const TI* dout = p.dout ? static_cast<const TI*>(p.dout) + r.row * p.len : nullptr;
  const TI* Bg = static_cast<const TI*>(p.B) + r.bg * p.nstate * p.len;
  const TI* Cg = static_cast<const TI*>(p.C) + r.bg * p.nstate * p.len;
  const float* A = p.A + r.d * N;
  const float bias = p.bias ? p.bias[r.d] : 0.f;
  const float Dv = p.Dskip ? p.Dskip[r.d] : 0.f;
  const int nch = (r.hi + CH - 1) / CH;
  float accD = 0.f, accBias = 0.f;
  int parity = 0;

  for (int c = nch - 1; c >= 0; --c) {
    const int k0 = c * CH + lane * K;
    const int t0 = lane_t0(p, r, k0, K);
    const int tb = rev ? r.hi - (c + 1) * CH : c * CH;
    float dt[K], dtu[K], dy[K], y[K], gB[K], gAh[K];
    {
      float uu[K], dd[K], go[K], zz[K];
      load_k<K>(u, t0, rev, len, vec, uu);
      load_k<K>(delta, t0, rev, len, vec, dd);
      if (dout) load_k<K>(dout, t0, rev, len, vec, go);
      if (z) load_k<K>(z, t0, rev, len, vec, zz);
#pragma unroll
      for (int i = 0; i < K; ++i) {
        const int t = item_t<K>(rev, t0, i);
        dt[i] = t >= 0 && t < len ? scan_dt(dd[i] + bias, p.softplus) : 0.f;
        dtu[i] = dt[i] * uu[i];
        const float g = dout ? go[i] : 0.f;
        dy[i] = z ? g * scan_silu(zz[i]) : g;
        y[i] = Dv * uu[i];
        gB[i] = 0.f;
        gAh[i] = 0.f;
      }
    }
    const int slot = c * CH / kSave;  // the saved state at the chunk's start
    for (int n = 0; n < N; ++n, parity ^= 1) {
      const float An = __ldg(A + n), A2 = An * scan::kLog2e;
      float* mine = part + (parity * kR + warp) * 2 * CH;
      float Bv[K], a[K], hb[K], cd[K];
      // 1. Forward re-run.
      float at = 1.f, bt = 0.f;
      {
        float b[K];
        load_k<K>(Bg + static_cast<int64_t>(n) * L, t0, rev, len, vec, Bv);
#pragma unroll
        for (int i = 0; i < K; ++i) {
          a[i] = ex2(dt[i] * A2);
          b[i] = dtu[i] * Bv[i];
          bt = fmaf(a[i], bt, b[i]);
          at *= a[i];
        }
        warp_scan_up(at, bt);
        float ain = __shfl_up_sync(0xffffffffu, at, 1), bin = __shfl_up_sync(0xffffffffu, bt, 1);
        if (lane == 0) ain = 1.f, bin = 0.f;
        const float h0 = r.valid ? __ldg(p.saved + (r.row * p.n_chunks + slot) * N + n) : 0.f;
        float h = fmaf(ain, h0, bin);
        float Cv[K], dC[K];
        load_k<K>(Cg + static_cast<int64_t>(n) * L, t0, rev, len, vec, Cv);
#pragma unroll
        for (int i = 0; i < K; ++i) {
          hb[i] = a[i] * h;  // a_k h_{k-1}
          h = fmaf(a[i], h, b[i]);
          dC[i] = dy[i] * h;
          y[i] = fmaf(Cv[i], h, y[i]);
          cd[i] = Cv[i] * dy[i];
        }
        put_k<K, kRev>(mine + CH, lane, dC);
      }
      // 2. Adjoint scan against time. The map of step k multiplies by a_{k+1}: the next item's,
      // the next lane's first, or 1 at the chunk's end (the carry already holds a_next g_next).
      {
        float anext = __shfl_down_sync(0xffffffffu, a[0], 1);
        if (lane == 31) anext = 1.f;
        float m = 1.f, v = 0.f;
#pragma unroll
        for (int i = K - 1; i >= 0; --i) {
          const float mult = i == K - 1 ? anext : a[i + 1];
          v = fmaf(mult, v, cd[i]);
          m *= mult;
        }
        warp_scan_down(m, v);
        float mex = __shfl_down_sync(0xffffffffu, m, 1), vex = __shfl_down_sync(0xffffffffu, v, 1);
        if (lane == 31) mex = 1.f, vex = 0.f;
        float g = fmaf(mex, carry[n], vex);  // adjoint after the lane's last step, times its a
        float dB[K], dAl = 0.f;
#pragma unroll
        for (int i = K - 1; i >= 0; --i) {
          const float mult = i == K - 1 ? anext : a[i + 1];
          g = fmaf(mult, g, cd[i]);
          dB[i] = g * dtu[i];
          gB[i] = fmaf(g, Bv[i], gB[i]);
          const float gh = g * hb[i];
          gAh[i] = fmaf(An, gh, gAh[i]);
          dAl = fmaf(dt[i], gh, dAl);
        }
        put_k<K, kRev>(mine, lane, dB);
        dAl = warp_sum(dAl);
        __syncwarp();
        if (lane == 0) {
          carry[n] = a[0] * g;
          sdA[n] += dAl;
        }
      }
      // 3. dB, dC over the block's rows.
      __syncthreads();
      flush_bc(p, r, part + parity * kR * 2 * CH, n, tb, CH);
    }
    // du, ddelta, dz of the chunk; steps outside [0, len) get 0.
    {
      float uu[K], du[K], dd[K], dz[K], go[K], zz[K];
      load_k<K>(u, t0, rev, len, vec, uu);
      if (dout) load_k<K>(dout, t0, rev, len, vec, go);
      if (z) load_k<K>(z, t0, rev, len, vec, zz);
#pragma unroll
      for (int i = 0; i < K; ++i) {
        const int t = item_t<K>(rev, t0, i);
        const bool on = t >= 0 && t < len;
        const float ddt = fmaf(uu[i], gB[i], gAh[i]);
        // d softplus(x)/dx = sigmoid(x) = 1 - exp(-softplus(x))
        dd[i] = on ? (p.softplus ? ddt * -expm1f(-dt[i]) : ddt) : 0.f;
        du[i] = on ? fmaf(dt[i], gB[i], Dv * dy[i]) : 0.f;
        dz[i] = on && z && dout ? go[i] * y[i] * scan_dsilu(zz[i]) : 0.f;
        accD = fmaf(dy[i], uu[i], accD);
        accBias += dd[i];
      }
      if (r.valid) {
        store_k<K>(static_cast<TI*>(p.du) + r.row * p.len, t0, rev, L, vec, du);
        store_k<K>(static_cast<TI*>(p.ddelta) + r.row * p.len, t0, rev, L, vec, dd);
        if (z) store_k<K>(static_cast<TI*>(p.dz) + r.row * p.len, t0, rev, L, vec, dz);
      }
    }
  }
  if (!r.valid) return;
  const int from = covered_end(p, r, nch, CH);
  zero_tail(static_cast<TI*>(p.du) + r.row * p.len, from, L);
  zero_tail(static_cast<TI*>(p.ddelta) + r.row * p.len, from, L);
  if (z) zero_tail(static_cast<TI*>(p.dz) + r.row * p.len, from, L);
  accD = warp_sum(accD);
  accBias = warp_sum(accBias);
  __syncwarp();
  for (int n = lane; n < N; n += 32) {
    p.dA_rows[r.row * N + n] = sdA[n];
    if (p.dinit) p.dinit[r.row * N + n] = carry[n];
  }
  if (lane == 0) {
    p.dD_rows[r.row] = accD;
    p.dbias_rows[r.row] = accBias;
  }
}

template <typename TI, bool kRev>
void launch_bwd(const Params& p, cudaStream_t s) {
  auto kernel = scan_bwd_v2_kernel<TI, kItemsBwd, kRev>;
  const size_t smem = static_cast<size_t>(bwd_smem_floats(p.nstate, 32 * kItemsBwd)) * sizeof(float);
  if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  const int64_t blocks = p.batch * p.ngroups * p.bpg;
  kernel<<<static_cast<unsigned>(blocks), kR * 32, smem, s>>>(p);
}

}  // namespace

void run_bwd(Params p, bool bf16) {
  ScanDims dm{p.batch, p.dim, p.len, p.nstate, p.ngroups, p.n_chunks};
  p.rpb = kR;
  p.bpg = blocks_per_group(dm, true);
  p.vec_io = rows_aligned(p, bf16 ? 2 : 4);
  if (p.batch * p.ngroups * p.bpg == 0) return;
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  if (bf16) {
    if (p.reverse) launch_bwd<uint16_t, true>(p, s);
    else launch_bwd<uint16_t, false>(p, s);
  } else {
    if (p.reverse) launch_bwd<float, true>(p, s);
    else launch_bwd<float, false>(p, s);
  }
  cuda::check_launch("selectiveScan.backward");
}

}  // namespace scan2
}  // namespace ms
