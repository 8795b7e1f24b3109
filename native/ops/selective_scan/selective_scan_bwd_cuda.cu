// selective_scan_bwd_cuda.cu — the selective scan backward on CUDA: the buffers and reductions
// both kernel versions share, version 2's main kernel being selective_scan_v2_bwd.cu, and kernel
// version 1 (work split: scan_cuda.cuh), which runs only for L >= 2^30 (scan::kernel_version).
//
// Per warp, chunks of 64 steps last to first. Pass A re-runs the chunk from its saved state and
// keeps the state at each tile start (shared memory). Pass B walks the chunk's tiles last to
// first: re-run the tile keeping h_k and a_k = exp(dt_k A) per step, rebuild y (for dz), then
// the reverse recurrence
//   g_k = C_k dy_k + a_{k+1} g_{k+1}        (g = dLoss/dh_k, seeded by dLoss/dlastState)
//   dC_k += dy_k h_k, dB_k += g_k dt_k u_k, du_k += g_k dt_k B_k, ddt_k += g_k (B_k u_k + A a_k h_{k-1}),
//   dA += g_k a_k h_{k-1} dt_k;  dinitialState = a_1 g_1.
// dB/dC are summed over the warp's rows in shared memory, then over warps either with float
// atomics (default) or into per-warp slots summed in a fixed order (deterministic). dA, dD and
// deltaBias are per-row sums reduced over the batch by a second kernel (always deterministic).
#include <cuda_runtime.h>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "scan_cuda.cuh"

namespace ms {
namespace scan {
namespace {

// Shared floats per warp: dt, dtu, u, dy [R][T]; B, C [T][np]; h_k and a_k [T][P][32];
// tile-start states [tiles][P][32]; two partial-sum arrays [T][32].
int64_t bwd_smem_floats(const Geometry& g) {
  const int T = g.T_bwd, tiles = kChunk / T;
  return 4 * g.R * T + 2 * T * g.np + 2 * T * g.P * 32 + tiles * g.P * 32 + 2 * T * 32;
}

template <typename TI, int P>
__global__ void __launch_bounds__(64) scan_bwd_kernel(Params p, int T, int64_t smem_per_warp) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  Place pl;
  if (!place_of(p, blockIdx.x * (blockDim.x >> 5) + warp, &pl)) return;
  const int tiles = kChunk / T;
  float* base = smem + warp * smem_per_warp;
  Stage st;
  st.dt = base;
  st.dtu = st.dt + p.R * T;
  st.u = st.dtu + p.R * T;
  float* sdy = st.u + p.R * T;
  st.Bt = sdy + p.R * T;
  st.Ct = st.Bt + T * p.np;
  float* hl = st.Ct + T * p.np;   // [T][P][32]
  float* al = hl + T * P * 32;    // [T][P][32]: a_k, then g_k dt_k u_k
  float* hs = al + T * P * 32;    // [tiles][P][32]
  float* part1 = hs + tiles * P * 32;
  float* part2 = part1 + T * 32;

  float A2[P], An[P], carried[P], dA[P];
#pragma unroll
  for (int i = 0; i < P; ++i) {
    const int n = pl.s * P + i;
    const bool on = pl.valid && n < p.nstate;
    An[i] = on ? p.A[pl.d * p.nstate + n] : 0.f;
    A2[i] = An[i] * kLog2e;
    carried[i] = on && p.dlast ? p.dlast[pl.row * p.nstate + n] : 0.f;
    dA[i] = 0.f;
  }
  const float Dv = p.Dskip ? p.Dskip[pl.d] : 0.f;
  float accD = 0.f, accBias = 0.f;
  const TI* z = static_cast<const TI*>(p.z);
  const TI* dout = static_cast<const TI*>(p.dout);
  const int64_t bgnl = p.batch * p.ngroups * p.nstate * p.len;
  float* dB_out = p.dB_acc + (p.atomic_bc ? 0 : pl.wi * 2 * bgnl);
  float* dC_out = dB_out + bgnl;

  for (int64_t c = pl.nch - 1; c >= 0; --c) {
    float h[P];
#pragma unroll
    for (int i = 0; i < P; ++i) {
      const int n = pl.s * P + i;
      h[i] = pl.valid && n < p.nstate ? p.saved[(pl.row * p.n_chunks + c) * p.nstate + n] : 0.f;
    }
    // Pass A: states at the start of each tile of the chunk.
    for (int q = 0; q < tiles; ++q) {
#pragma unroll
      for (int i = 0; i < P; ++i) hs[(q * P + i) * 32 + lane] = h[i];
      if (q == tiles - 1) break;
      stage_tile<TI>(p, pl, c, q, T, st, false);
      __syncwarp();
      for (int kk = 0; kk < T; ++kk) {
        const float dt = st.dt[pl.r * T + kk], dtu = st.dtu[pl.r * T + kk];
        const float* Bk = st.Bt + kk * p.np + pl.s * P;
#pragma unroll
        for (int i = 0; i < P; ++i) h[i] = fmaf(exp2f(dt * A2[i]), h[i], dtu * Bk[i]);
      }
      __syncwarp();
    }
    // Pass B: tiles last to first.
    for (int q = tiles - 1; q >= 0; --q) {
      stage_tile<TI>(p, pl, c, q, T, st, true);
      __syncwarp();
#pragma unroll
      for (int i = 0; i < P; ++i) h[i] = hs[(q * P + i) * 32 + lane];
      for (int kk = 0; kk < T; ++kk) {
        const float dt = st.dt[pl.r * T + kk], dtu = st.dtu[pl.r * T + kk];
        const float* Bk = st.Bt + kk * p.np + pl.s * P;
        const float* Ck = st.Ct + kk * p.np + pl.s * P;
        float y = 0.f;
#pragma unroll
        for (int i = 0; i < P; ++i) {
          const float a = exp2f(dt * A2[i]);
          h[i] = fmaf(a, h[i], dtu * Bk[i]);
          y = fmaf(Ck[i], h[i], y);
          hl[(kk * P + i) * 32 + lane] = h[i];
          al[(kk * P + i) * 32 + lane] = a;
        }
        part1[kk * 32 + lane] = y;
      }
      __syncwarp();
      // dy (and dz) per (row, step): the gate needs y = C.h + D u, rebuilt above.
      for (int kk = pl.s; kk < T; kk += p.S) {
        const int64_t t = step_pos(p, pl, c, q, T, kk);
        const int64_t i = pl.row * p.len + t;
        float dy = 0.f;
        if (pl.valid && t >= 0 && t < pl.len) {
          const float uu = st.u[pl.r * T + kk];
          const float go = dout ? ldf(dout, i) : 0.f;
          dy = go;
          if (z) {
            float y = Dv * uu;
            for (int s2 = 0; s2 < p.S; ++s2) y += part1[kk * 32 + pl.r * p.S + s2];
            const float zz = ldf(z, i), sg = scan_sigmoid(zz);
            dy = go * zz * sg;
            stf(static_cast<TI*>(p.dz), i, go * y * sg * (1.f + zz * (1.f - sg)));
          }
          accD = fmaf(dy, uu, accD);
        } else if (pl.valid && z && t >= 0 && t < p.len) {
          stf(static_cast<TI*>(p.dz), i, 0.f);
        }
        sdy[pl.r * T + kk] = dy;
      }
      __syncwarp();
      // The reverse recurrence over the tile.
      for (int kk = T - 1; kk >= 0; --kk) {
        const float dy = sdy[pl.r * T + kk];
        const float dt = st.dt[pl.r * T + kk], dtu = st.dtu[pl.r * T + kk], uu = st.u[pl.r * T + kk];
        const float* Bk = st.Bt + kk * p.np + pl.s * P;
        const float* Ck = st.Ct + kk * p.np + pl.s * P;
        float gB = 0.f, ddt = 0.f;
#pragma unroll
        for (int i = 0; i < P; ++i) {
          const float hprev = kk > 0 ? hl[((kk - 1) * P + i) * 32 + lane] : hs[(q * P + i) * 32 + lane];
          const int ai = (kk * P + i) * 32 + lane;
          const float a = al[ai];
          const float gv = fmaf(Ck[i], dy, carried[i]);
          al[ai] = gv * dtu;
          const float ah = a * hprev;
          ddt = fmaf(gv, fmaf(Bk[i], uu, An[i] * ah), ddt);
          gB = fmaf(gv, Bk[i], gB);
          dA[i] = fmaf(gv * ah, dt, dA[i]);
          carried[i] = a * gv;
        }
        part1[kk * 32 + lane] = gB * dt;
        part2[kk * 32 + lane] = ddt;
      }
      __syncwarp();
      // du, ddelta per (row, step).
      if (pl.valid) {
        for (int kk = pl.s; kk < T; kk += p.S) {
          const int64_t t = step_pos(p, pl, c, q, T, kk);
          if (t < 0 || t >= p.len) continue;
          const int64_t i = pl.row * p.len + t;
          float du = 0.f, dd = 0.f;
          if (t < pl.len) {
            float ddt = 0.f;
            du = Dv * sdy[pl.r * T + kk];
            for (int s2 = 0; s2 < p.S; ++s2) {
              du += part1[kk * 32 + pl.r * p.S + s2];
              ddt += part2[kk * 32 + pl.r * p.S + s2];
            }
            // d softplus(x)/dx = sigmoid(x) = 1 - exp(-softplus(x))
            dd = p.softplus ? ddt * -expm1f(-st.dt[pl.r * T + kk]) : ddt;
            accBias += dd;
          }
          stf(static_cast<TI*>(p.du), i, du);
          stf(static_cast<TI*>(p.ddelta), i, dd);
        }
      }
      // dB, dC per (state, step), summed over the warp's rows.
      for (int e = lane; e < p.nst * T; e += 32) {
        const int n = e / T, kk = e % T;
        const int64_t t = step_pos(p, pl, c, q, T, kk);
        if (n >= p.nstate || t < 0 || t >= pl.len) continue;
        const int slot = n / P, i = n % P;
        float sb = 0.f, sc = 0.f;
        for (int r = 0; r < p.R; ++r) {
          const int idx = (kk * P + i) * 32 + r * p.S + slot;
          sb += al[idx];
          sc = fmaf(sdy[r * T + kk], hl[idx], sc);
        }
        const int64_t o = (pl.bg * p.nstate + n) * p.len + t;
        if (p.atomic_bc) {
          atomicAdd(dB_out + o, sb);
          atomicAdd(dC_out + o, sc);
        } else {
          dB_out[o] = sb;
          dC_out[o] = sc;
        }
      }
      __syncwarp();
    }
  }
  // Per-row results; accD/accBias summed over the row's S lanes.
  for (int off = p.S / 2; off > 0; off /= 2) {
    accD += __shfl_xor_sync(0xffffffffu, accD, off);
    accBias += __shfl_xor_sync(0xffffffffu, accBias, off);
  }
  if (pl.valid) {
#pragma unroll
    for (int i = 0; i < P; ++i) {
      const int n = pl.s * P + i;
      if (n >= p.nstate) continue;
      p.dA_rows[pl.row * p.nstate + n] = dA[i];
      if (p.dinit) p.dinit[pl.row * p.nstate + n] = carried[i];
    }
    if (pl.s == 0) {
      p.dD_rows[pl.row] = accD;
      p.dbias_rows[pl.row] = accBias;
    }
    const int64_t covered = p.reverse ? pl.hi : min64(pl.nch * kChunk, p.len);
    for (int64_t t = max64(covered, 0) + pl.s; t < p.len; t += p.S) {
      const int64_t i = pl.row * p.len + t;
      stf(static_cast<TI*>(p.du), i, 0.f);
      stf(static_cast<TI*>(p.ddelta), i, 0.f);
      if (z) stf(static_cast<TI*>(p.dz), i, 0.f);
    }
  }
}

// out[i] = sum_s in[s * n + i] in order s = 0, 1, ... (dB/dC slots; one slot = a conversion).
template <typename TO>
__global__ void sum_slots_kernel(const float* in, TO* out, int64_t slots, int64_t stride, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int64_t k = 0; k < slots; ++k) s += in[k * stride + i];
    stf(out, i, s);
  }
}

// dA (D, N), dD (D), dbias (D): per-row sums reduced over the batch in order b = 0, 1, ...
__global__ void sum_batch_kernel(const float* rows, float* out, int64_t batch, int64_t inner) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < inner;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int64_t b = 0; b < batch; ++b) s += rows[b * inner + i];
    out[i] = s;
  }
}

unsigned grid_for(int64_t n) { return static_cast<unsigned>(min64((n + 255) / 256, 132 * 8)); }

template <typename TI, int P>
void launch_bwd(const Params& p, const Geometry& g, cudaStream_t s) {
  const int64_t per_warp = (bwd_smem_floats(g) + 3) / 4 * 4;
  const int warps = per_warp * 4 * 2 <= 96 * 1024 ? 2 : 1;
  const size_t smem = static_cast<size_t>(warps * per_warp * 4);
  auto kernel = scan_bwd_kernel<TI, P>;
  if (smem > 48 * 1024) cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  const int64_t blocks = (g.warps + warps - 1) / warps;
  kernel<<<static_cast<unsigned>(blocks), warps * 32, smem, s>>>(p, g.T_bwd, per_warp);
}

}  // namespace
}  // namespace scan

void selective_scan_bwd_cuda(const ScanInputs& in, const ScanDims& dm, const Tensor& saved, const Tensor* dout,
                             const Tensor* dlast, bool deterministic, ScanGrads& gr,
                             const std::shared_ptr<Accounting>& acct) {
  const char* op = "selectiveScan.backward";
  const Device dev = Device::CUDA;
  const DType io = in.u.dtype;
  const scan::Geometry geo = scan::geometry(dm);
  gr.du = empty(op, in.u.shape, io, dev, acct);
  gr.ddelta = empty(op, in.u.shape, io, dev, acct);
  gr.dA = empty(op, {dm.dim, dm.nstate}, DType::F32, dev, acct);
  gr.dB = empty(op, in.Bm.shape, io, dev, acct);
  gr.dC = empty(op, in.Cm.shape, io, dev, acct);
  if (in.has_D) gr.dD = empty(op, {dm.dim}, DType::F32, dev, acct);
  if (in.has_z) gr.dz = empty(op, in.u.shape, io, dev, acct);
  if (in.has_bias) gr.dbias = empty(op, {dm.dim}, DType::F32, dev, acct);
  if (in.has_init) gr.dinit = empty(op, {dm.batch, dm.dim, dm.nstate}, DType::F32, dev, acct);
  const int64_t rows = dm.batch * dm.dim, bgnl = dm.batch * dm.ngroups * dm.nstate * dm.len;
  Tensor dA_rows = empty(op, {rows, dm.nstate}, DType::F32, dev, acct);
  Tensor dD_rows = empty(op, {rows}, DType::F32, dev, acct);
  Tensor dbias_rows = empty(op, {rows}, DType::F32, dev, acct);
  // dB/dC accumulators: [slots][2][B*G*N*L] f32 (one slot for atomics, one per warp otherwise).
  const int version = scan::kernel_version(dm.len);
  const int64_t slots = !deterministic ? 1 : version == 2 ? scan2::blocks_per_group(dm, true) : geo.wpg;
  Tensor acc = empty(op, {slots, 2, bgnl}, DType::F32, dev, acct);
  cudaStream_t s = static_cast<cudaStream_t>(cuda::stream(0));
  cudaMemsetAsync(acc.data(), 0, static_cast<size_t>(acc.nbytes()), s);
  cudaMemsetAsync(dA_rows.data(), 0, static_cast<size_t>(dA_rows.nbytes()), s);
  cudaMemsetAsync(dD_rows.data(), 0, static_cast<size_t>(dD_rows.nbytes()), s);
  cudaMemsetAsync(dbias_rows.data(), 0, static_cast<size_t>(dbias_rows.nbytes()), s);
  if (in.has_init) cudaMemsetAsync(gr.dinit.data(), 0, static_cast<size_t>(gr.dinit.nbytes()), s);

  scan::Params p = scan::make_params(in, dm, geo);
  p.saved = const_cast<float*>(saved.ptr<float>());
  p.dout = dout ? dout->data() : nullptr;
  p.dlast = dlast ? dlast->ptr<float>() : nullptr;
  p.du = gr.du.data();
  p.ddelta = gr.ddelta.data();
  p.dz = in.has_z ? gr.dz.data() : nullptr;
  p.dinit = in.has_init ? gr.dinit.ptr<float>() : nullptr;
  p.dA_rows = dA_rows.ptr<float>();
  p.dD_rows = dD_rows.ptr<float>();
  p.dbias_rows = dbias_rows.ptr<float>();
  p.dB_acc = acc.ptr<float>();
  p.atomic_bc = !deterministic;
  if (geo.warps > 0 && dm.len > 0 && version == 2) {
    scan2::run_bwd(p, io == DType::BF16);
  } else if (geo.warps > 0 && dm.len > 0) {
    const bool bf16 = io == DType::BF16;
    if (bf16) {
      if (geo.P == 4) scan::launch_bwd<uint16_t, 4>(p, geo, s);
      else scan::launch_bwd<uint16_t, 8>(p, geo, s);
    } else {
      if (geo.P == 4) scan::launch_bwd<float, 4>(p, geo, s);
      else scan::launch_bwd<float, 8>(p, geo, s);
    }
    cuda::check_launch(op);
  } else if (dm.len == 0 && in.has_init && dlast) {
    cudaMemcpyAsync(gr.dinit.data(), dlast->data(), static_cast<size_t>(gr.dinit.nbytes()), cudaMemcpyDeviceToDevice, s);
  }
  // Slot k of the accumulator holds [dB | dC] of warp k (or of all warps, with atomics).
  const float* accp = acc.ptr<float>();
  if (bgnl > 0) {
    if (io == DType::BF16) {
      scan::sum_slots_kernel<uint16_t><<<scan::grid_for(bgnl), 256, 0, s>>>(accp, gr.dB.ptr<uint16_t>(), slots, 2 * bgnl, bgnl);
      scan::sum_slots_kernel<uint16_t><<<scan::grid_for(bgnl), 256, 0, s>>>(accp + bgnl, gr.dC.ptr<uint16_t>(), slots, 2 * bgnl, bgnl);
    } else {
      scan::sum_slots_kernel<float><<<scan::grid_for(bgnl), 256, 0, s>>>(accp, gr.dB.ptr<float>(), slots, 2 * bgnl, bgnl);
      scan::sum_slots_kernel<float><<<scan::grid_for(bgnl), 256, 0, s>>>(accp + bgnl, gr.dC.ptr<float>(), slots, 2 * bgnl, bgnl);
    }
  }
  const int64_t dn = dm.dim * dm.nstate;
  if (dn > 0) scan::sum_batch_kernel<<<scan::grid_for(dn), 256, 0, s>>>(dA_rows.ptr<float>(), gr.dA.ptr<float>(), dm.batch, dn);
  if (in.has_D && dm.dim > 0)
    scan::sum_batch_kernel<<<scan::grid_for(dm.dim), 256, 0, s>>>(dD_rows.ptr<float>(), gr.dD.ptr<float>(), dm.batch, dm.dim);
  if (in.has_bias && dm.dim > 0)
    scan::sum_batch_kernel<<<scan::grid_for(dm.dim), 256, 0, s>>>(dbias_rows.ptr<float>(), gr.dbias.ptr<float>(), dm.batch, dm.dim);
  cuda::check_launch(op);
}

}  // namespace ms
