// scan_cuda.cuh — what the selective-scan forward and backward kernels share: the parameter
// struct, the warp's place in the problem, and tile staging.
//
// Work split (both kernels): one warp owns R = 32 / S rows (b, d) of one (batch, group) and scans
// them sequentially over time; within a row, S lanes hold P states each (N <= S * P), so the
// state lives in registers and never touches memory. Time advances in tiles of T steps: the warp
// stages dt, dt*u, u and the tile's B/C into shared memory with coalesced loads (computing
// softplus once per (row, step), not once per state), scans the tile, then writes the tile's
// outputs after summing the S lanes' partial C.h in shared memory. All rows of a warp share
// (b, g), so B/C reads are broadcasts and dB/dC can be pre-summed over the warp's rows.
//
// Exp count: one exp2f per (b, d, t, n) in the forward (A pre-scaled by log2 e), two per element
// in the backward (chunk re-run + tile re-run). Chunks: kScanSaveEvery = 64 processed steps,
// aligned to 32-step blocks of memory so forward and backward tiles (32, 16 or 8 steps) agree.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../../core/dtype.h"
#include "scan_math.h"
#include "selective_scan.h"

namespace ms {
namespace scan {

constexpr int kAlign = 32;  // memory alignment of tiles and chunks (steps)
constexpr int kChunk = static_cast<int>(kScanSaveEvery);
constexpr float kLog2e = 1.4426950408889634f;

struct Params {
  const void *u, *delta, *z, *B, *C, *dout;
  const float *A, *Dskip, *bias, *init, *dlast;
  const int32_t* lengths;
  void *out, *du, *ddelta, *dz;
  float *last, *saved, *dinit;
  float *dA_rows, *dD_rows, *dbias_rows;  // (B, D, N), (B, D), (B, D): per-row partial sums
  float *dB_acc, *dC_acc;                 // (slots, B, G, N, L) f32: atomics (1 slot) or per-warp partials
  int64_t batch, dim, len, nstate, ngroups, n_chunks;
  int S, R, wpg;       // lanes per row, rows per warp, warps per (b, g)
  int nst, np;         // staged states (S * P, zero-padded past N) and their stride (nst + 4)
  bool softplus, reverse, atomic_bc;
  // Kernel version 2 (scan_v2.cuh): rows per block (a warp each), blocks per (b, g), and whether
  // every (B, D, L) / (B, G, N, L) row starts 16-byte aligned (vector loads and stores).
  int rpb;
  int64_t bpg;
  bool vec_io;
};

__device__ __forceinline__ float ldf(const float* p, int64_t i) { return __ldg(p + i); }
__device__ __forceinline__ float ldf(const uint16_t* p, int64_t i) { return bf16_to_f32(__ldg(p + i)); }
__device__ __forceinline__ void stf(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void stf(uint16_t* p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

// Where a lane is: its warp's (b, g) and rows, its row and state slot, and the row's time extent.
struct Place {
  int64_t b, g, bg, d, row;  // row = b * D + d
  int64_t wi;                // warp index within its (b, g)
  int r, s;                  // row in warp, slot in row
  bool valid;                // the row exists (the last warp of a group may be partial)
  int64_t len;               // valid steps of this batch item
  int64_t hi;                // end (exclusive) of the memory range the chunks cover
  int64_t nch;               // chunks to process
};

__device__ __forceinline__ bool place_of(const Params& p, int warp_global, Place* pl) {
  const int64_t total = p.batch * p.ngroups * p.wpg;
  if (warp_global >= total) return false;
  const int lane = threadIdx.x & 31;
  pl->bg = warp_global / p.wpg;
  const int64_t wi = warp_global % p.wpg;
  pl->wi = wi;
  pl->b = pl->bg / p.ngroups;
  pl->g = pl->bg % p.ngroups;
  pl->r = lane / p.S;
  pl->s = lane % p.S;
  const int64_t gsize = p.dim / p.ngroups;
  const int64_t dloc = wi * p.R + pl->r;
  pl->valid = pl->r < p.R && dloc < gsize;
  pl->d = pl->g * gsize + (pl->valid ? dloc : 0);
  pl->row = pl->b * p.dim + pl->d;
  int64_t len = p.len;
  if (p.lengths) len = min64(max64(p.lengths[pl->b], 0), p.len);  // CUDA lengths are clamped
  pl->len = len;
  if (len == 0) {
    pl->hi = 0;
  } else if (p.reverse) {
    pl->hi = ((len - 1) / kAlign + 1) * kAlign;
  } else {
    pl->hi = len;
  }
  pl->nch = (pl->hi + kChunk - 1) / kChunk;
  return true;
}

// Memory position of step kk (processing order) of tile q of chunk c, tile size T.
__device__ __forceinline__ int64_t step_pos(const Params& p, const Place& pl, int64_t c, int q, int T, int kk) {
  if (!p.reverse) return c * kChunk + static_cast<int64_t>(q) * T + kk;
  return pl.hi - c * kChunk - static_cast<int64_t>(q + 1) * T + (T - 1 - kk);
}

// Per-warp staging arrays for one tile (floats in shared memory).
struct Stage {
  float *dt, *dtu, *u;  // [R][T]
  float *Bt, *Ct;       // [T][np]
};

// Stages a tile: dt, dt*u, u per (row, step) and B, C per (step, state). Steps outside
// [0, len) and rows that do not exist stage zeros, which makes their scan step the identity
// (exp(0) = 1, no input).
template <typename TI>
__device__ __forceinline__ void stage_tile(const Params& p, const Place& pl, int64_t c, int q, int T, const Stage& st,
                                           bool want_bc_c) {
  const int lane = threadIdx.x & 31;
  const TI* u = static_cast<const TI*>(p.u);
  const TI* delta = static_cast<const TI*>(p.delta);
  const float bias = p.bias ? p.bias[pl.d] : 0.f;
  if (pl.r < p.R) {
    for (int kk = pl.s; kk < T; kk += p.S) {
      const int64_t t = step_pos(p, pl, c, q, T, kk);
      float dt = 0.f, uu = 0.f;
      if (pl.valid && t >= 0 && t < pl.len) {
        const int64_t i = pl.row * p.len + t;
        uu = ldf(u, i);
        dt = scan_dt(ldf(delta, i) + bias, p.softplus);
      }
      st.dt[pl.r * T + kk] = dt;
      st.dtu[pl.r * T + kk] = dt * uu;
      st.u[pl.r * T + kk] = uu;
    }
  }
  const TI* Bm = static_cast<const TI*>(p.B);
  const TI* Cm = static_cast<const TI*>(p.C);
  const int64_t base = pl.bg * p.nstate * p.len;
  for (int e = lane; e < p.nst * T; e += 32) {
    const int n = e / T, kk = e % T;
    const int64_t t = step_pos(p, pl, c, q, T, kk);
    float bv = 0.f, cv = 0.f;
    if (n < p.nstate && t >= 0 && t < pl.len) {
      bv = ldf(Bm, base + n * p.len + t);
      if (want_bc_c) cv = ldf(Cm, base + n * p.len + t);
    }
    st.Bt[kk * p.np + n] = bv;
    if (want_bc_c) st.Ct[kk * p.np + n] = cv;
  }
}

}  // namespace scan

// Launch geometry and parameters (selective_scan_cuda.cu), shared with the backward.
namespace scan {
struct Geometry {
  int P, S, R, wpg, nst, np, T_fwd, T_bwd;
  int64_t warps;
};
Geometry geometry(const ScanDims& dm);
Params make_params(const ScanInputs& in, const ScanDims& dm, const Geometry& g);
void run_fwd(const Params& p, const Geometry& g, bool bf16);
// Which kernels run: version 2 (scan_v2.cuh) for L < 2^30, version 1 (warp per 8 rows, time
// serial; 64-bit time indices) for L >= 2^30. Both save the same chunk-start states.
int kernel_version(int64_t len);
}  // namespace scan

// Kernel version 2 (selective_scan_v2_fwd.cu / selective_scan_v2_bwd.cu). p comes from
// make_params; these set rpb, bpg and vec_io themselves.
namespace scan2 {
int64_t blocks_per_group(const ScanDims& dm, bool backward);  // deterministic dB/dC slots = this
void run_fwd(scan::Params p, bool bf16);
void run_bwd(scan::Params p, bool bf16);
}  // namespace scan2

}  // namespace ms
