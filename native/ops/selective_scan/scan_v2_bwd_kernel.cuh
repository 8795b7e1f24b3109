// scan_v2_bwd_kernel.cuh — the selective scan backward kernel, version 2 (work split: scan_v2.cuh).
//
// Per warp (row), chunks of CH = 32 K processed steps, last to first; per state n:
//   1. Local aggregates (no communication): each lane composes its K forward maps h -> a h + b
//      (a = exp(dt A), b = dt u B) into (P, h'), and its K adjoint maps g -> a_{i+1} g + C_i dy_i
//      into (Q, g').
//   2. One interleaved pair of warp scans: the forward maps with time, seeded by the state saved
//      at the chunk's start, and the adjoint maps against it, seeded by the adjoint carried from
//      the later chunk (dLoss/dlastState for the last one). Their shuffles overlap.
//   3. Both recurrences again from the scanned states, the forward with time (keeping a_i h_{i-1},
//      dC_i = dy_i h_i, y_i for dz), then the adjoint against it: dB_i = g_i dt_i u_i,
//      du_i += g_i dt_i B_i, ddt_i += g_i (B_i u_i + A a_i h_{i-1}), dA += g_i dt_i a_i h_{i-1}.
//   dB/dC leave each lane as one float4 atomic add each per 4 steps (kAtomic), or are summed over
//   the block's rows in shared memory into a per-block slot summed in a fixed order later
//   (deterministic). dA accumulates per (row, n, lane) in shared memory when N <= 64 (no
//   per-state shuffle reduction), else by a warp sum. A, B, C and the saved state of state n + 1
//   load during state n.
// Exp count: one per (b, d, t, n), as the forward; nothing of size (B, D, L, N) is stored.
// Measured on an H200 at (16, 1536, 16, 1024) bf16: 1.49 ms (mamba-ssm's backward: ~1.76 ms).
// Against the previous design (one state at a time: scan, re-run, adjoint scan, re-run; the
// block's 8 rows reduced dB/dC in shared memory behind a barrier per state): 2.3 ms.
#pragma once
#include "scan_v2.cuh"

namespace ms {
namespace scan2 {

constexpr int kR = kRowsBwd;
constexpr int kSmemDAMaxN = 64;  // dA partials per lane in shared memory up to this N

// Shared floats: [dB | dC partials [2 (n parity)][kR][2][CH] when deterministic] | adjoint carry
// [kR][N] | dA [kR][N][32] (per lane) or [kR][N].
__host__ __device__ inline int64_t bwd_smem_floats(int64_t N, int CH, bool atomic) {
  return (atomic ? 0 : 2 * kR * 2 * CH) + kR * N + kR * N * (N <= kSmemDAMaxN ? 32 : 1);
}

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

// Adds K values (processing order) to memory steps [t0, t0 + K) of a float row (at = row + t0),
// those in [0, L): float4 atomics when the row offset allows (vec4), else one per value.
template <int K, bool kRev>
__device__ __forceinline__ void atomic_add_k(float* at, int t0, int L, bool vec4, const float (&v)[K]) {
  if (vec4 && t0 >= 0 && t0 + K <= L) {
#pragma unroll
    for (int q = 0; q < K / 4; ++q) {
      float m[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) m[j] = kRev ? v[K - 1 - 4 * q - j] : v[4 * q + j];
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
      atomicAdd(reinterpret_cast<float4*>(at) + q, make_float4(m[0], m[1], m[2], m[3]));
#else
#pragma unroll
      for (int j = 0; j < 4; ++j) atomicAdd(at + 4 * q + j, m[j]);
#endif
    }
  } else {
#pragma unroll
    for (int i = 0; i < K; ++i) {
      const int j = kRev ? K - 1 - i : i;
      if (t0 + j >= 0 && t0 + j < L) atomicAdd(at + j, v[i]);
    }
  }
}

// Sums the block's dB | dC partials for state n over its rows (fixed order) into the block's
// slot (deterministic mode). tb: the chunk's lowest memory step.
__device__ __forceinline__ void flush_bc_slot(const Params& p, const Row& r, const float* part, int n, int tb, int CH) {
  const int64_t bgnl = p.batch * p.ngroups * p.nstate * p.len;
  float* base = p.dB_acc + r.blk * 2 * bgnl + (r.bg * p.nstate + n) * p.len;
  for (int o = threadIdx.x; o < 2 * CH; o += blockDim.x) {
    float s = 0.f;
#pragma unroll
    for (int w = 0; w < kR; ++w) s += part[w * 2 * CH + o];
    const int which = o / CH;  // 0: dB, 1: dC
    const int t = tb + o % CH;
    if (t >= 0 && t < r.len) base[which * bgnl + t] = s;
  }
}

// Both warp scans of step 2 at once: (a, b) forward maps with the lanes (inclusive, earlier map
// first) and (m, v) adjoint maps against them (lane j: lanes j..31, later map first).
__device__ __forceinline__ void warp_scan_pair(float& a, float& b, float& m, float& v) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int off = 1; off < 32; off <<= 1) {
    const float ap = __shfl_up_sync(0xffffffffu, a, off), bp = __shfl_up_sync(0xffffffffu, b, off);
    const float mn = __shfl_down_sync(0xffffffffu, m, off), vn = __shfl_down_sync(0xffffffffu, v, off);
    if (lane >= off) {
      b = fmaf(a, bp, b);
      a *= ap;
    }
    if (lane + off < 32) {
      v = fmaf(m, vn, v);
      m *= mn;
    }
  }
}

// kAtomic: dB/dC by float4 atomics from each lane, else per-block slots (deterministic).
template <typename TI, int K, bool kRev, bool kAtomic, bool kSmemDA>
__global__ void __launch_bounds__(kR * 32, kMinBlocksBwd) scan_bwd_v2_kernel(Params p) {
  constexpr int CH = 32 * K;
  constexpr bool rev = kRev;
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  // Every warp runs every loop (block barriers when deterministic); a missing channel reads
  // zeros and stores nothing.
  const Row r = row_of(p, warp);
  const int N = static_cast<int>(p.nstate), L = static_cast<int>(p.len);
  const bool vec = p.vec_io;
  const int len = r.valid ? r.len : 0;  // a missing channel sees every step as padding
  float* part = smem;                                 // [2][kR][2][CH] (deterministic)
  float* carry = smem + (kAtomic ? 0 : 2 * kR * 2 * CH) + warp * N;
  float* sdA = smem + (kAtomic ? 0 : 2 * kR * 2 * CH) + kR * N + warp * N * (kSmemDA ? 32 : 1);
  for (int n = lane; n < N; n += 32) carry[n] = r.valid && p.dlast ? p.dlast[r.row * N + n] : 0.f;
  for (int i = lane; i < N * (kSmemDA ? 32 : 1); i += 32) sdA[i] = 0.f;
  __syncwarp();

  const TI* u = static_cast<const TI*>(p.u) + r.row * p.len;
  const TI* delta = static_cast<const TI*>(p.delta) + r.row * p.len;
  const TI* z = p.z ? static_cast<const TI*>(p.z) + r.row * p.len : nullptr;
  const TI* dout = p.dout ? static_cast<const TI*>(p.dout) + r.row * p.len : nullptr;
  const TI* Bg = static_cast<const TI*>(p.B) + r.bg * p.nstate * p.len;
  const TI* Cg = static_cast<const TI*>(p.C) + r.bg * p.nstate * p.len;
  const int64_t bgnl = p.batch * p.ngroups * p.nstate * p.len;
  float* dBg = p.dB_acc + r.bg * p.nstate * p.len;  // atomic mode: the one slot
  const bool vec4 = p.len % 4 == 0;
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
        dt[i] = t >= 0 && t < len ? fast_dt(dd[i] + bias, p.softplus) : 0.f;
        dtu[i] = dt[i] * uu[i];
        const float g = dout ? go[i] : 0.f;
        dy[i] = z ? g * zz[i] * fast_sigmoid(zz[i]) : g;
        y[i] = Dv * uu[i];
        gB[i] = 0.f;
        gAh[i] = 0.f;
      }
    }
    const float* saved = p.saved + (r.row * p.n_chunks + c * CH / kSave) * N;  // state at the chunk's start
    // Pointers advance by one row per state (no 64-bit index math in the loop); A, B, C and the
    // saved state of state n + 1 load during state n.
    const bool full = full_k<K>(vec, t0, len);
    const TI* Bp = Bg + t0;
    const TI* Cp = Cg + t0;
    float* dBp = dBg + t0;
    RawK<TI, K> Bn, Cn;
    float hn = r.valid ? __ldg(saved) : 0.f, Anx = __ldg(A);
    Bn.load(Bp, t0, len, full);
    Cn.load(Cp, t0, len, full);
    for (int n = 0; n < N; ++n, parity ^= 1) {
      const float An = Anx, A2 = An * scan::kLog2e, h0 = hn;
      if (n + 1 < N) {
        Anx = __ldg(A + n + 1);
        hn = r.valid ? __ldg(saved + n + 1) : 0.f;
      }
      const RawK<TI, K> Bc = Bn, Cc = Cn;
      Bp += L, Cp += L;
      if (n + 1 < N) {
        Bn.load(Bp, t0, len, full);
        Cn.load(Cp, t0, len, full);
      }
      float a[K], dB[K], dC[K], dAl = 0.f, g0;
      {
        // 1. Local aggregates.
        float hv = 0.f, Pv = 1.f;
#pragma unroll
        for (int i = 0; i < K; ++i) {
          const int j = rev ? K - 1 - i : i;
          a[i] = ex2(dt[i] * A2);
          hv = fmaf(a[i], hv, dtu[i] * Bc.get(j));
          Pv *= a[i];
        }
        float anext = __shfl_down_sync(0xffffffffu, a[0], 1);
        if (lane == 31) anext = 1.f;
        float gv = 0.f, Qv = 1.f;
#pragma unroll
        for (int i = K - 1; i >= 0; --i) {
          const int j = rev ? K - 1 - i : i;
          const float mult = i == K - 1 ? anext : a[i + 1];
          gv = fmaf(mult, gv, Cc.get(j) * dy[i]);
          Qv *= mult;
        }
        // 2. Both scans.
        float at = Pv, bt = hv, mt = Qv, vt = gv;
        warp_scan_pair(at, bt, mt, vt);
        float ain = __shfl_up_sync(0xffffffffu, at, 1), bin = __shfl_up_sync(0xffffffffu, bt, 1);
        float mex = __shfl_down_sync(0xffffffffu, mt, 1), vex = __shfl_down_sync(0xffffffffu, vt, 1);
        if (lane == 0) ain = 1.f, bin = 0.f;
        if (lane == 31) mex = 1.f, vex = 0.f;
        const float hin = fmaf(ain, h0, bin);
        const float gin = fmaf(mex, carry[n], vex);
        // 3. Both recurrences again from their scanned states: the forward with time (keeping
        // a_i h_{i-1}), then the adjoint against it with the per-item gradients.
        float hb[K], h = hin;
#pragma unroll
        for (int i = 0; i < K; ++i) {
          const int j = rev ? K - 1 - i : i;
          hb[i] = a[i] * h;
          h = fmaf(a[i], h, dtu[i] * Bc.get(j));
          dC[i] = dy[i] * h;
          y[i] = fmaf(Cc.get(j), h, y[i]);
        }
        float g = gin;
#pragma unroll
        for (int i = K - 1; i >= 0; --i) {
          const int j = rev ? K - 1 - i : i;
          const float mult = i == K - 1 ? anext : a[i + 1];
          g = fmaf(mult, g, Cc.get(j) * dy[i]);
          dB[i] = g * dtu[i];
          gB[i] = fmaf(g, Bc.get(j), gB[i]);
          const float gh = g * hb[i];
          gAh[i] = fmaf(An, gh, gAh[i]);
          dAl = fmaf(dt[i], gh, dAl);
        }
        g0 = g;
      }
      __syncwarp();
      if (lane == 0) carry[n] = a[0] * g0;
      if (kSmemDA) {
        sdA[n * 32 + lane] += dAl;
      } else {
        dAl = warp_sum(dAl);
        if (lane == 0) sdA[n] += dAl;
      }
      if (kAtomic) {
        if (r.valid) {
          atomic_add_k<K, kRev>(dBp, t0, L, vec4, dB);
          atomic_add_k<K, kRev>(dBp + bgnl, t0, L, vec4, dC);
        }
        dBp += L;
      } else {
        float* mine = part + (parity * kR + warp) * 2 * CH;
        put_k<K, kRev>(mine, lane, dB);
        put_k<K, kRev>(mine + CH, lane, dC);
        __syncthreads();
        flush_bc_slot(p, r, part + parity * kR * 2 * CH, n, tb, CH);
      }
    }
    // du, ddelta, dz of the chunk; steps outside [0, len) get 0.
    {
      float uu[K], du[K], dd[K], dz[K], go[K], zz[K], xx[K];
      load_k<K>(u, t0, rev, len, vec, uu);
      if (p.softplus) load_k<K>(delta, t0, rev, len, vec, xx);
      if (dout) load_k<K>(dout, t0, rev, len, vec, go);
      if (z) load_k<K>(z, t0, rev, len, vec, zz);
#pragma unroll
      for (int i = 0; i < K; ++i) {
        const int t = item_t<K>(rev, t0, i);
        const bool on = t >= 0 && t < len;
        const float ddt = fmaf(uu[i], gB[i], gAh[i]);
        // d softplus(x)/dx = sigmoid(x)
        dd[i] = on ? (p.softplus ? ddt * fast_sigmoid(xx[i] + bias) : ddt) : 0.f;
        du[i] = on ? fmaf(dt[i], gB[i], Dv * dy[i]) : 0.f;
        if (z) {
          const float s = fast_sigmoid(zz[i]);  // d silu(z)/dz = s (1 + z (1 - s))
          dz[i] = on && dout ? go[i] * y[i] * s * fmaf(zz[i], 1.f - s, 1.f) : 0.f;
        } else {
          dz[i] = 0.f;
        }
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
    float s = 0.f;
    if (kSmemDA) {
      for (int l = 0; l < 32; ++l) s += sdA[n * 32 + l];
    } else {
      s = sdA[n];
    }
    p.dA_rows[r.row * N + n] = s;
    if (p.dinit) p.dinit[r.row * N + n] = carry[n];
  }
  if (lane == 0) {
    p.dD_rows[r.row] = accD;
    p.dbias_rows[r.row] = accBias;
  }
}

}  // namespace scan2
}  // namespace ms
