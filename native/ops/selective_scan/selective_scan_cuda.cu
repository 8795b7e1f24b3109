// selective_scan_cuda.cu — the selective scan forward on CUDA: the dispatch to kernel version 2
// (selective_scan_v2_fwd.cu), and kernel version 1 (work split: scan_cuda.cuh), which runs only
// where version 2 cannot: L >= 2^30 (version 2 indexes time in 32 bits).
//
// Napkin math, (B, D, N, L) = (16, 1536, 16, 1024) bf16 on an H200: 4.0e8 exp2f at 16 per clock
// per SM (132 SMs, 1.98 GHz) is 0.10 ms; u, delta, z, out = 4 * 50 MB at ~4.2 TB/s is 0.05 ms; so
// the kernel is exp-bound and everything else (staging, reductions) must stay off the MUFU pipe.
// Template instantiations: input type (float, bf16) x states per lane P (4 for N <= 128, 8 above).
#include <cuda_runtime.h>

#include <algorithm>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "scan_cuda.cuh"

namespace ms {
namespace scan {

Geometry geometry(const ScanDims& dm) {
  Geometry g;
  g.P = dm.nstate <= 128 ? 4 : 8;
  const int lanes = static_cast<int>((dm.nstate + g.P - 1) / g.P);
  g.S = 1;
  while (g.S < lanes) g.S *= 2;  // power of two <= 32 (N <= 256)
  g.R = 32 / g.S;
  g.nst = g.S * g.P;
  g.np = g.nst + 4;
  g.T_fwd = g.P == 4 ? 32 : 16;
  g.T_bwd = g.P == 4 ? 16 : 8;
  const int64_t gsize = dm.dim / dm.ngroups;
  g.wpg = static_cast<int>((gsize + g.R - 1) / g.R);
  g.warps = dm.batch * dm.ngroups * g.wpg;
  return g;
}

namespace {

// Shared floats per warp in the forward: dt, dtu, u [R][T]; B, C [T][np]; partial y [T][32].
int64_t fwd_smem_floats(const Geometry& g) {
  return 3 * g.R * g.T_fwd + 2 * g.T_fwd * g.np + g.T_fwd * 32;
}

template <typename TI, int P>
__global__ void __launch_bounds__(128) scan_fwd_kernel(Params p, int T, int64_t smem_per_warp) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  Place pl;
  if (!place_of(p, blockIdx.x * (blockDim.x >> 5) + warp, &pl)) return;
  float* base = smem + warp * smem_per_warp;
  Stage st;
  st.dt = base;
  st.dtu = st.dt + p.R * T;
  st.u = st.dtu + p.R * T;
  st.Bt = st.u + p.R * T;
  st.Ct = st.Bt + T * p.np;
  float* ypart = st.Ct + T * p.np;  // [T][32]

  float A2[P], h[P];
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int n = pl.s * P + i;
    const bool on = pl.valid && n < p.nstate;
    A2[i] = on ? p.A[pl.d * p.nstate + n] * kLog2e : 0.f;
    h[i] = on && p.init ? p.init[pl.row * p.nstate + n] : 0.f;
  }
  const float Dv = p.Dskip ? p.Dskip[pl.d] : 0.f;
  const TI* z = static_cast<const TI*>(p.z);
  TI* out = static_cast<TI*>(p.out);
  const int tiles = kChunk / T;

  for (int64_t c = 0; c < pl.nch; ++c) {
    if (p.saved && pl.valid) {
#pragma unroll
      for (int i = 0; i < P; ++i) {
        const int n = pl.s * P + i;
        if (n < p.nstate) p.saved[(pl.row * p.n_chunks + c) * p.nstate + n] = h[i];
      }
    }
    for (int q = 0; q < tiles; ++q) {
      stage_tile<TI>(p, pl, c, q, T, st, true);
      __syncwarp();
      if (pl.r < p.R) {
        const float* dtr = st.dt + pl.r * T;
        const float* dtur = st.dtu + pl.r * T;
        for (int kk = 0; kk < T; ++kk) {
          const float dt = dtr[kk], dtu = dtur[kk];
          const float* Bk = st.Bt + kk * p.np + pl.s * P;
          const float* Ck = st.Ct + kk * p.np + pl.s * P;
          float y = 0.f;
#pragma unroll
          for (int i = 0; i < P; i += 4) {
            const float4 b4 = *reinterpret_cast<const float4*>(Bk + i);
            const float4 c4 = *reinterpret_cast<const float4*>(Ck + i);
            const float bv[4] = {b4.x, b4.y, b4.z, b4.w}, cv[4] = {c4.x, c4.y, c4.z, c4.w};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              const float a = exp2f(dt * A2[i + j]);
              h[i + j] = fmaf(a, h[i + j], dtu * bv[j]);
              y = fmaf(cv[j], h[i + j], y);
            }
          }
          ypart[kk * 32 + lane] = y;
        }
      }
      __syncwarp();
      // Epilogue: lanes of a row split the tile's steps; sum the S partials, skip, gate, store.
      if (pl.valid) {
        for (int kk = pl.s; kk < T; kk += p.S) {
          const int64_t t = step_pos(p, pl, c, q, T, kk);
          if (t < 0 || t >= p.len) continue;
          const int64_t i = pl.row * p.len + t;
          float y = 0.f;
          if (t < pl.len) {
            for (int s2 = 0; s2 < p.S; ++s2) y += ypart[kk * 32 + pl.r * p.S + s2];
            y += Dv * st.u[pl.r * T + kk];
            if (z) y *= scan_silu(ldf(z, i));
          }
          stf(out, i, y);
        }
      }
      __syncwarp();
    }
  }
  if (pl.valid) {
    const int64_t covered = p.reverse ? pl.hi : min64(pl.nch * kChunk, p.len);
    for (int64_t t = max64(covered, 0) + pl.s; t < p.len; t += p.S) stf(out, pl.row * p.len + t, 0.f);
    if (p.last) {
#pragma unroll
      for (int i = 0; i < P; ++i) {
        const int n = pl.s * P + i;
        if (n < p.nstate) p.last[pl.row * p.nstate + n] = h[i];
      }
    }
  }
}

template <typename TI, int P>
void launch_fwd(const Params& p, const Geometry& g, cudaStream_t s) {
  const int64_t per_warp = (fwd_smem_floats(g) + 3) / 4 * 4;
  int warps = 4;
  while (warps > 1 && warps * per_warp * 4 > 96 * 1024) warps /= 2;
  const size_t smem = static_cast<size_t>(warps * per_warp * 4);
  auto kernel = scan_fwd_kernel<TI, P>;
  if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  const int64_t blocks = (g.warps + warps - 1) / warps;
  kernel<<<static_cast<unsigned>(blocks), warps * 32, smem, s>>>(p, g.T_fwd, per_warp);
}

}  // namespace

Params make_params(const ScanInputs& in, const ScanDims& dm, const Geometry& g) {
  Params p{};
  p.u = in.u.data();
  p.delta = in.delta.data();
  p.z = in.has_z ? in.z.data() : nullptr;
  p.B = in.Bm.data();
  p.C = in.Cm.data();
  p.A = in.A.ptr<float>();
  p.Dskip = in.has_D ? in.Dskip.ptr<float>() : nullptr;
  p.bias = in.has_bias ? in.delta_bias.ptr<float>() : nullptr;
  p.init = in.has_init ? in.init.ptr<float>() : nullptr;
  p.lengths = in.has_lengths ? in.lengths.ptr<int32_t>() : nullptr;
  p.batch = dm.batch;
  p.dim = dm.dim;
  p.len = dm.len;
  p.nstate = dm.nstate;
  p.ngroups = dm.ngroups;
  p.n_chunks = dm.n_chunks;
  p.S = g.S;
  p.R = g.R;
  p.wpg = g.wpg;
  p.nst = g.nst;
  p.np = g.np;
  p.softplus = in.softplus;
  p.reverse = in.reverse;
  return p;
}

int kernel_version(int64_t len) {
  return len < (int64_t{1} << 30) ? 2 : 1;  // version 2 indexes time in 32 bits
}

void run_fwd(const Params& p, const Geometry& g, bool bf16) {
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  if (g.warps == 0) return;
  if (bf16) {
    if (g.P == 4) launch_fwd<uint16_t, 4>(p, g, s);
    else launch_fwd<uint16_t, 8>(p, g, s);
  } else {
    if (g.P == 4) launch_fwd<float, 4>(p, g, s);
    else launch_fwd<float, 8>(p, g, s);
  }
  cuda::check_launch("selectiveScan");
}

}  // namespace scan

void selective_scan_fwd_cuda(const ScanInputs& in, const ScanDims& dm, ScanForward& f) {
  const scan::Geometry g = scan::geometry(dm);
  scan::Params p = scan::make_params(in, dm, g);
  p.out = f.out.data();
  p.last = f.has_last ? f.last.ptr<float>() : nullptr;
  p.saved = f.has_saved ? f.saved.ptr<float>() : nullptr;
  const bool bf16 = in.u.dtype == DType::BF16;
  if (scan::kernel_version(dm.len) == 2) scan2::run_fwd(p, bf16);
  else scan::run_fwd(p, g, bf16);
}

}  // namespace ms
