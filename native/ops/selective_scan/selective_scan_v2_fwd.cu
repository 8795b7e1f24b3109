// selective_scan_v2_fwd.cu — the selective scan forward, kernel version 2 (work split: scan_v2.cuh).
//
// Per state n, each lane runs its K steps from a zero state (h'_i), keeping the product P_i of
// its a's; (P_K, h'_K) is the lane's map, scanned over the lanes and seeded by the state carried
// from the previous chunk. With h_in the state entering the lane, h_i = h'_i + P_i h_in, so
// y_i += C_i h'_i during the run and (C_i P_i) h_in after the scan: the items never wait on the
// scan in a second dependent pass. A (and, for bf16, B and C) of state n + 1 load during state n.
//
// Counts, (B, D, N, L) = (16, 1536, 16, 1024) bf16 on an H200 (132 SMs, 1.98 GHz):
//   exp:   4.0e8 ex2 at 16 / clock / SM = 0.096 ms.
//   issue: per (b, d, t, n) per lane ~10 instructions (dt A, ex2, dt u B, h', P, y, C P, y after
//          the scan, two bf16 unpacks) plus the per-state scan and per-step softplus/silu
//          amortized: ncu counts ~20 warp instructions per 32 elements = 0.25 ms at 4 / clock / SM.
//   bytes: u, delta, z, out = 4 * 50 MB (+ chunk-start states 25 MB when saving) = 0.05 ms.
// Measured 0.40 ms (mamba-ssm: 0.44 ms); the kernel issues on ~70% of cycles.
#include <cuda_runtime.h>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "scan_v2.cuh"

namespace ms {
namespace scan2 {
namespace {

template <typename TI, int K, bool kRev>
__global__ void __launch_bounds__(kRowsFwd * 32, kMinBlocksFwd) scan_fwd_v2_kernel(Params p) {
  constexpr int CH = 32 * K;
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const Row r = row_of(p, warp);
  if (!r.valid) return;  // no block-wide synchronization in the forward
  const int N = static_cast<int>(p.nstate), L = static_cast<int>(p.len);
  constexpr bool rev = kRev;
  const bool vec = p.vec_io;
  float* carry = smem + warp * N;  // [N] state at the start of the next chunk
  for (int n = lane; n < N; n += 32) carry[n] = p.init ? p.init[r.row * N + n] : 0.f;
  __syncwarp();

  const TI* u = static_cast<const TI*>(p.u) + r.row * p.len;
  const TI* delta = static_cast<const TI*>(p.delta) + r.row * p.len;
  const TI* z = p.z ? static_cast<const TI*>(p.z) + r.row * p.len : nullptr;
  const TI* Bg = static_cast<const TI*>(p.B) + r.bg * p.nstate * p.len;
  const TI* Cg = static_cast<const TI*>(p.C) + r.bg * p.nstate * p.len;
  TI* out = static_cast<TI*>(p.out) + r.row * p.len;
  const float* A = p.A + r.d * N;
  const float bias = p.bias ? p.bias[r.d] : 0.f;
  const float Dv = p.Dskip ? p.Dskip[r.d] : 0.f;
  const int nch = (r.hi + CH - 1) / CH;

  for (int c = 0; c < nch; ++c) {
    const int k0 = c * CH + lane * K;
    const int t0 = lane_t0(p, r, k0, K);
    float dt[K], dtu[K], y[K];
    {
      float uu[K], dd[K];
      load_k<K>(u, t0, rev, r.len, vec, uu);
      load_k<K>(delta, t0, rev, r.len, vec, dd);
#pragma unroll
      for (int i = 0; i < K; ++i) {
        const int t = item_t<K>(rev, t0, i);
        dt[i] = t >= 0 && t < r.len ? fast_dt(dd[i] + bias, p.softplus) : 0.f;
        dtu[i] = dt[i] * uu[i];
        y[i] = Dv * uu[i];
      }
    }
    // Pointers advance by one row per state (no 64-bit index math in the loop). B/C prefetch for
    // bf16 only: f32 B/C of the next state spill at K = 16 (f32 is 1.1x slower with it).
    constexpr bool pf = sizeof(TI) == 2;
    const bool full = full_k<K>(vec, t0, r.len);
    const TI* Bp = Bg + t0;
    const TI* Cp = Cg + t0;
    float* sv = p.saved && k0 % kSave == 0 && k0 < r.hi ? p.saved + (r.row * p.n_chunks + k0 / kSave) * N : nullptr;
    float An = __ldg(A);
    RawK<TI, K> Bn, Cn;
    if (pf) {
      Bn.load(Bp, t0, r.len, full);
      Cn.load(Cp, t0, r.len, full);
    }
    for (int n = 0; n < N; ++n) {
      const float A2 = An * scan::kLog2e;
      if (n + 1 < N) An = __ldg(A + n + 1);
      RawK<TI, K> Bc, Cc;
      if (pf) {
        Bc = Bn;
        Cc = Cn;
        Bp += L, Cp += L;
        if (n + 1 < N) {
          Bn.load(Bp, t0, r.len, full);
          Cn.load(Cp, t0, r.len, full);
        }
      } else {
        Bc.load(Bp, t0, r.len, full);
        Cc.load(Cp, t0, r.len, full);
        Bp += L, Cp += L;
      }
      float q[K], hp = 0.f, P = 1.f;
#pragma unroll
      for (int i = 0; i < K; ++i) {
        const int j = rev ? K - 1 - i : i;
        const float a = ex2(dt[i] * A2), c = Cc.get(j);
        hp = fmaf(a, hp, dtu[i] * Bc.get(j));
        P *= a;
        y[i] = fmaf(c, hp, y[i]);
        q[i] = c * P;
      }
      float at = P, bt = hp;
      warp_scan_up(at, bt);
      const float h0 = carry[n];
      float ain = __shfl_up_sync(0xffffffffu, at, 1), bin = __shfl_up_sync(0xffffffffu, bt, 1);
      if (lane == 0) ain = 1.f, bin = 0.f;
      const float h = fmaf(ain, h0, bin);  // state before the lane's first step
      const float hend = __shfl_sync(0xffffffffu, fmaf(at, h0, bt), 31);
      if (sv) sv[n] = h;
      __syncwarp();
      if (lane == 0) carry[n] = hend;
#pragma unroll
      for (int i = 0; i < K; ++i) y[i] = fmaf(q[i], h, y[i]);
    }
    if (z) {
      float zz[K];
      load_k<K>(z, t0, rev, r.len, vec, zz);
#pragma unroll
      for (int i = 0; i < K; ++i) y[i] *= zz[i] * fast_sigmoid(zz[i]);
    }
    // Steps outside [0, len) already give 0 (every input read as 0 there).
    store_k<K>(out, t0, rev, L, vec, y);
  }
  zero_tail(out, covered_end(p, r, nch, CH), L);
  if (p.last) {
    __syncwarp();
    for (int n = lane; n < N; n += 32) p.last[r.row * N + n] = carry[n];
  }
}

template <typename TI>
void launch_fwd(const Params& p, cudaStream_t s) {
  auto kernel = p.reverse ? scan_fwd_v2_kernel<TI, kItemsFwd, true> : scan_fwd_v2_kernel<TI, kItemsFwd, false>;
  const size_t smem = static_cast<size_t>(kRowsFwd * p.nstate) * sizeof(float);
  const int64_t blocks = p.batch * p.ngroups * p.bpg;
  kernel<<<static_cast<unsigned>(blocks), kRowsFwd * 32, smem, s>>>(p);
}

}  // namespace

int64_t blocks_per_group(const ScanDims& dm, bool backward) {
  const int64_t rows = backward ? kRowsBwd : kRowsFwd;
  return (dm.dim / dm.ngroups + rows - 1) / rows;
}

bool rows_aligned(const Params& p, int elem_bytes) {
  const auto ok = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  if ((p.len * elem_bytes) % 16 != 0) return false;
  for (const void* q : {p.u, p.delta, p.z, p.B, p.C, p.dout, static_cast<const void*>(p.out), static_cast<const void*>(p.du),
                        static_cast<const void*>(p.ddelta), static_cast<const void*>(p.dz)})
    if (q && !ok(q)) return false;
  return true;
}

void run_fwd(Params p, bool bf16) {
  ScanDims dm{p.batch, p.dim, p.len, p.nstate, p.ngroups, p.n_chunks};
  p.rpb = kRowsFwd;
  p.bpg = blocks_per_group(dm, false);
  p.vec_io = rows_aligned(p, bf16 ? 2 : 4);
  if (p.batch * p.ngroups * p.bpg == 0) return;
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  if (bf16) launch_fwd<uint16_t>(p, s);
  else launch_fwd<float>(p, s);
  cuda::check_launch("selectiveScan");
}

}  // namespace scan2
}  // namespace ms
