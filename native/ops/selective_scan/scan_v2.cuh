// scan_v2.cuh — kernel version 2 of the CUDA selective scan: what its forward and backward share.
//
// Work split: a warp per row (b, d); a block is kRows consecutive channels of one (batch, group),
// so B/C reads are shared through L1 and, in the backward, dB/dC are summed over the block's rows
// in shared memory before one atomic per block. Time goes in chunks of CH = 32 K processed steps:
// lane j holds steps [j K, j K + K) of the chunk in registers (u, dt, dt u, the output). For each
// state n a chunk is one scan of the affine maps h -> a h + b (a = exp(dt A), b = dt u B): a lane
// composes its K maps, 5 shuffle steps compose them over the lanes, the state carried from the
// previous chunk (shared memory, one float per (row, n)) seeds them, and each lane re-runs its K
// steps from its incoming state. The backward runs the same scan the other way for the adjoint.
//
// Why it is faster than version 1 (one warp stepping 8 rows serially through 32-step tiles staged
// in shared memory): all 32 lanes work on one row's time axis with the state in registers, loads
// are 16-byte vectors straight into registers (no staging, no per-step shared-memory traffic),
// and the exp count stays one per (b, d, t, n) per pass.
//
// Steps: processing step k maps to memory step t = k (forward) or t = hi - 1 - k (reverse, hi =
// len rounded up to 32, as version 1, so both versions save the same chunk-start states). Steps
// with t outside [0, len) are the identity map (dt = 0, B = C = 0) and produce 0.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "scan_cuda.cuh"

namespace ms {
namespace scan2 {

using scan::Params;
constexpr int kSave = static_cast<int>(kScanSaveEvery);
// Rows (warps) per block and steps per lane (K: a multiple of 4 dividing 32). Forward: 4 rows
// share B/C through L1; K = 16 gives 512-step chunks at 128 registers. Backward: 8 rows cut the
// dB/dC atomics 8x against one row per block; K = 4 fits 128 registers (2 blocks of 8 warps per
// SM); K = 8 needs ~200 (ptxas: ~340 bytes of spills at 128) — a tuning knob for the GPU runs.
constexpr int kRowsFwd = 4, kItemsFwd = 16;
constexpr int kRowsBwd = 8, kItemsBwd = 4;

// Host: every row of the (B, D, L) and (B, G, N, L) tensors in p starts 16-byte aligned.
bool rows_aligned(const Params& p, int elem_bytes);

// 2^x on the SFU in one instruction (exp2f adds range fix-ups); denormal results flush to 0.
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// A row's place: its block's (b, g) and the time extent shared by the block.
struct Row {
  int64_t b, g, bg, d, row;  // row = b * D + d
  int64_t blk;               // block index within (b, g): the deterministic dB/dC slot
  bool valid;                // the channel exists (the last block of a group may be partial)
  int len, hi;               // valid steps; end of the processed range (L < 2^31 - 2^10, checked)
};

__device__ __forceinline__ Row row_of(const Params& p, int warp) {
  Row r;
  r.bg = blockIdx.x / p.bpg;
  r.blk = blockIdx.x % p.bpg;
  r.b = r.bg / p.ngroups;
  r.g = r.bg % p.ngroups;
  const int64_t gsize = p.dim / p.ngroups, dloc = r.blk * p.rpb + warp;
  r.valid = dloc < gsize;
  r.d = r.g * gsize + (r.valid ? dloc : 0);
  r.row = r.b * p.dim + r.d;
  int64_t len = p.len;
  if (p.lengths) len = min64(max64(p.lengths[r.b], 0), p.len);  // CUDA lengths are clamped
  r.len = static_cast<int>(len);
  r.hi = len == 0 ? 0 : p.reverse ? static_cast<int>((len - 1) / 32 + 1) * 32 : r.len;
  return r;
}

// Lowest memory step of the K steps starting at processing step k0.
__device__ __forceinline__ int lane_t0(const Params& p, const Row& r, int k0, int K) {
  return p.reverse ? r.hi - k0 - K : k0;
}

// Memory step of item i of a lane whose lowest memory step is t0.
template <int K>
__device__ __forceinline__ int item_t(bool rev, int t0, int i) {
  return rev ? t0 + K - 1 - i : t0 + i;
}

__device__ __forceinline__ float bf_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }

// K consecutive memory steps [t0, t0 + K) of a row into registers in processing order; steps
// outside [0, lim) read as 0. One 16-byte load per 8 bf16 / 4 f32 values when aligned and in range.
template <int K>
__device__ __forceinline__ void load_k(const float* row, int t0, bool rev, int lim, bool vec, float (&v)[K]) {
  if (vec && t0 >= 0 && t0 + K <= lim) {
    float m[K];
#pragma unroll
    for (int q = 0; q < K / 4; ++q) {
      const float4 x = __ldg(reinterpret_cast<const float4*>(row + t0) + q);
      m[4 * q] = x.x;
      m[4 * q + 1] = x.y;
      m[4 * q + 2] = x.z;
      m[4 * q + 3] = x.w;
    }
#pragma unroll
    for (int i = 0; i < K; ++i) v[i] = rev ? m[K - 1 - i] : m[i];
  } else {
#pragma unroll
    for (int i = 0; i < K; ++i) {
      const int t = item_t<K>(rev, t0, i);
      v[i] = t >= 0 && t < lim ? __ldg(row + t) : 0.f;
    }
  }
}

template <int K>
__device__ __forceinline__ void load_k(const uint16_t* row, int t0, bool rev, int lim, bool vec, float (&v)[K]) {
  if (vec && t0 >= 0 && t0 + K <= lim) {
    float m[K];
    uint32_t w[K / 2];
    if constexpr (K % 8 == 0) {
#pragma unroll
      for (int q = 0; q < K / 8; ++q) {
        const uint4 x = __ldg(reinterpret_cast<const uint4*>(row + t0) + q);
        w[4 * q] = x.x, w[4 * q + 1] = x.y, w[4 * q + 2] = x.z, w[4 * q + 3] = x.w;
      }
    } else {
#pragma unroll
      for (int q = 0; q < K / 4; ++q) {
        const uint2 x = __ldg(reinterpret_cast<const uint2*>(row + t0) + q);
        w[2 * q] = x.x, w[2 * q + 1] = x.y;
      }
    }
#pragma unroll
    for (int j = 0; j < K / 2; ++j) {
      m[2 * j] = bf_lo(w[j]);
      m[2 * j + 1] = bf_hi(w[j]);
    }
#pragma unroll
    for (int i = 0; i < K; ++i) v[i] = rev ? m[K - 1 - i] : m[i];
  } else {
#pragma unroll
    for (int i = 0; i < K; ++i) {
      const int t = item_t<K>(rev, t0, i);
      v[i] = t >= 0 && t < lim ? bf16_to_f32(__ldg(row + t)) : 0.f;
    }
  }
}

// Stores K values (processing order) to memory steps [t0, t0 + K) of a row, those in [0, L).
template <int K>
__device__ __forceinline__ void store_k(float* row, int t0, bool rev, int L, bool vec, const float (&v)[K]) {
  if (vec && t0 >= 0 && t0 + K <= L) {
#pragma unroll
    for (int q = 0; q < K / 4; ++q) {
      float m[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) m[j] = rev ? v[K - 1 - 4 * q - j] : v[4 * q + j];
      reinterpret_cast<float4*>(row + t0)[q] = make_float4(m[0], m[1], m[2], m[3]);
    }
  } else {
#pragma unroll
    for (int i = 0; i < K; ++i) {
      const int t = item_t<K>(rev, t0, i);
      if (t >= 0 && t < L) row[t] = v[i];
    }
  }
}

template <int K>
__device__ __forceinline__ void store_k(uint16_t* row, int t0, bool rev, int L, bool vec, const float (&v)[K]) {
  if (vec && t0 >= 0 && t0 + K <= L) {
    uint32_t w[K / 2];
#pragma unroll
    for (int j = 0; j < K / 2; ++j) {
      const float lo = rev ? v[K - 1 - 2 * j] : v[2 * j], hi = rev ? v[K - 2 - 2 * j] : v[2 * j + 1];
      w[j] = static_cast<uint32_t>(f32_to_bf16(lo)) | (static_cast<uint32_t>(f32_to_bf16(hi)) << 16);
    }
    if constexpr (K % 8 == 0) {
#pragma unroll
      for (int q = 0; q < K / 8; ++q)
        reinterpret_cast<uint4*>(row + t0)[q] = make_uint4(w[4 * q], w[4 * q + 1], w[4 * q + 2], w[4 * q + 3]);
    } else {
#pragma unroll
      for (int q = 0; q < K / 4; ++q) reinterpret_cast<uint2*>(row + t0)[q] = make_uint2(w[2 * q], w[2 * q + 1]);
    }
  } else {
#pragma unroll
    for (int i = 0; i < K; ++i) {
      const int t = item_t<K>(rev, t0, i);
      if (t >= 0 && t < L) row[t] = f32_to_bf16(v[i]);
    }
  }
}

// Inclusive scan over the lanes (time order) of the maps h -> a h + b: lane j ends with the
// composition of lanes 0..j (earlier map applied first).
__device__ __forceinline__ void warp_scan_up(float& a, float& b) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int off = 1; off < 32; off <<= 1) {
    const float ap = __shfl_up_sync(0xffffffffu, a, off), bp = __shfl_up_sync(0xffffffffu, b, off);
    if (lane >= off) {
      b = fmaf(a, bp, b);
      a *= ap;
    }
  }
}

// The same against time: lane j ends with the composition of lanes j..31 for the adjoint maps
// g -> m g + v (the later lane's map applied first).
__device__ __forceinline__ void warp_scan_down(float& m, float& v) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int off = 1; off < 32; off <<= 1) {
    const float mn = __shfl_down_sync(0xffffffffu, m, off), vn = __shfl_down_sync(0xffffffffu, v, off);
    if (lane + off < 32) {
      v = fmaf(m, vn, v);
      m *= mn;
    }
  }
}

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
  return x;
}

template <typename T>
__device__ __forceinline__ void store_one(T* p, int64_t i, float v);
template <>
__device__ __forceinline__ void store_one(float* p, int64_t i, float v) { p[i] = v; }
template <>
__device__ __forceinline__ void store_one(uint16_t* p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

// Zeros memory steps [from, L) of a row (steps no chunk covered).
template <typename T>
__device__ __forceinline__ void zero_tail(T* row, int from, int L) {
  for (int t = max(from, 0) + (threadIdx.x & 31); t < L; t += 32) store_one(row, t, 0.f);
}

// First memory step no chunk covers: forward chunks cover [0, nch * CH), reverse [.., hi).
__device__ __forceinline__ int covered_end(const Params& p, const Row& r, int nch, int CH) {
  return p.reverse ? r.hi : nch * CH;
}

}  // namespace scan2
}  // namespace ms
