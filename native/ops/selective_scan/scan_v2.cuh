// scan_v2.cuh — kernel version 2 of the CUDA selective scan: what its forward and backward share.
//
// Work split: a warp per row (b, d); a block is kRows consecutive channels of one (batch, group),
// so B/C reads are shared through L1; consecutive blocks take different (batch, group)s (see
// row_of). Time goes in chunks of CH = 32 K processed steps: lane j holds steps [j K, j K + K)
// of the chunk in registers (u, dt, dt u, the output). For each state n a chunk is one scan of
// the affine maps h -> a h + b (a = exp(dt A), b = dt u B): a lane composes its K maps, 5
// shuffle steps compose them over the lanes, the state carried from the previous chunk (shared
// memory, one float per (row, n)) seeds them, and each lane applies its incoming state to its K
// steps. The backward runs the same scan the other way for the adjoint (scan_v2_bwd_kernel.cuh).
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
// Rows (warps) per block, steps per lane (K: 4, 8 or 16, so lane boundaries meet the 64-step
// save points) and blocks per SM (the register budget: 65536 / (32 rows * blocks)). Measured on an
// H200 with bench/native/scan_sweep.sh (kernel time, CUDA events):
//   forward  K = 16, 4 rows, 4 blocks (128 registers): 16-step chains amortize the 5-level
//            shuffle scan; K = 8 is 1.4-1.9x slower, 3 blocks at 168 registers 1.1-1.3x slower.
//   backward K = 4, 4 rows, 4 blocks (128 registers): K = 8 needs ~230 registers (8 warps per
//            SM, 1.6x slower); 8 rows per block are within 3%.
// The macros exist so the harness can sweep them (nvcc -DMS_SCAN_KF=8 ...); the addon uses these.
#ifndef MS_SCAN_KF
#define MS_SCAN_KF 16
#endif
#ifndef MS_SCAN_RF
#define MS_SCAN_RF 4
#endif
#ifndef MS_SCAN_FWD_MINB
#define MS_SCAN_FWD_MINB 4
#endif
#ifndef MS_SCAN_KB
#define MS_SCAN_KB 4
#endif
#ifndef MS_SCAN_RB
#define MS_SCAN_RB 4
#endif
#ifndef MS_SCAN_BWD_MINB
#define MS_SCAN_BWD_MINB 4
#endif
constexpr int kRowsFwd = MS_SCAN_RF, kItemsFwd = MS_SCAN_KF, kMinBlocksFwd = MS_SCAN_FWD_MINB;
constexpr int kRowsBwd = MS_SCAN_RB, kItemsBwd = MS_SCAN_KB, kMinBlocksBwd = MS_SCAN_BWD_MINB;

// Host: every row of the (B, D, L) and (B, G, N, L) tensors in p starts 16-byte aligned.
bool rows_aligned(const Params& p, int elem_bytes);

// 2^x on the SFU in one instruction (exp2f adds range fix-ups); denormal results flush to 0.
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Fast forms of the per-(row, step) math on the SFU (relative error ~1e-6, against 20-40
// instructions each for the IEEE-accurate expf / log1pf / division): sigmoid, and softplus with
// log1p(e) by its series below e = 1/8 (6 terms, relative error < 4e-7) and log(1 + e) above.
__device__ __forceinline__ float fast_sigmoid(float x) { return __frcp_rn(1.f + __expf(-x)); }
__device__ __forceinline__ float fast_softplus(float x) {
  const float e = __expf(x);
  const float series = e * fmaf(e, fmaf(e, fmaf(e, fmaf(e, fmaf(e, -1.f / 6, 0.2f), -0.25f), 1.f / 3), -0.5f), 1.f);
  const float v = e < 0.125f ? series : __logf(1.f + e);
  return x <= 20.f ? v : x;
}
__device__ __forceinline__ float fast_dt(float x, bool softplus) { return softplus ? fast_softplus(x) : x; }

// A row's place: its block's (b, g) and the time extent shared by the block.
struct Row {
  int64_t b, g, bg, d, row;  // row = b * D + d
  int64_t blk;               // block index within (b, g): the deterministic dB/dC slot
  bool valid;                // the channel exists (the last block of a group may be partial)
  int len, hi;               // valid steps; end of the processed range (L < 2^31 - 2^10, checked)
};

__device__ __forceinline__ Row row_of(const Params& p, int warp) {
  Row r;
  // Blocks launched together take different (batch, group)s: the backward's dB/dC atomics then
  // spread over B G accumulator rows instead of piling onto one (1.26x faster backward at
  // (16, 1536, 16, 1024) on an H200).
  const int64_t nbg = p.batch * p.ngroups;
  r.bg = blockIdx.x % nbg;
  r.blk = blockIdx.x / nbg;
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

// K consecutive memory steps [t0, t0 + K) of a row kept as loaded (memory order; bf16 packed two
// per register), for values loaded one state ahead (prefetch) at half the registers in bf16.
// get(j): the value at memory index j (item i of a lane is j = i, or K - 1 - i in reverse).
// load(at, t0, lim, full): at = row + t0; full = the chunk-constant "aligned and all K steps in
// [0, lim)" (16-byte vector loads), else steps outside [0, lim) read as 0.
template <typename TI, int K>
struct RawK;
template <int K>
struct RawK<float, K> {
  float m[K];
  __device__ __forceinline__ float get(int j) const { return m[j]; }
  __device__ __forceinline__ void load(const float* at, int t0, int lim, bool full) {
    if (full) {
#pragma unroll
      for (int q = 0; q < K / 4; ++q) {
        const float4 x = __ldg(reinterpret_cast<const float4*>(at) + q);
        m[4 * q] = x.x, m[4 * q + 1] = x.y, m[4 * q + 2] = x.z, m[4 * q + 3] = x.w;
      }
    } else {
#pragma unroll
      for (int j = 0; j < K; ++j) m[j] = t0 + j >= 0 && t0 + j < lim ? __ldg(at + j) : 0.f;
    }
  }
};
template <int K>
struct RawK<uint16_t, K> {
  uint32_t w[K / 2];
  __device__ __forceinline__ float get(int j) const { return j & 1 ? bf_hi(w[j >> 1]) : bf_lo(w[j >> 1]); }
  __device__ __forceinline__ void load(const uint16_t* at, int t0, int lim, bool full) {
    if (full) {
      if constexpr (K % 8 == 0) {
#pragma unroll
        for (int q = 0; q < K / 8; ++q) {
          const uint4 x = __ldg(reinterpret_cast<const uint4*>(at) + q);
          w[4 * q] = x.x, w[4 * q + 1] = x.y, w[4 * q + 2] = x.z, w[4 * q + 3] = x.w;
        }
      } else {
#pragma unroll
        for (int q = 0; q < K / 4; ++q) {
          const uint2 x = __ldg(reinterpret_cast<const uint2*>(at) + q);
          w[2 * q] = x.x, w[2 * q + 1] = x.y;
        }
      }
    } else {
#pragma unroll
      for (int j = 0; j < K / 2; ++j) {
        const int t = t0 + 2 * j;
        const uint32_t lo = t >= 0 && t < lim ? __ldg(at + 2 * j) : 0u;
        const uint32_t hi = t + 1 >= 0 && t + 1 < lim ? __ldg(at + 2 * j + 1) : 0u;
        w[j] = lo | (hi << 16);
      }
    }
  }
};

// Whether a lane's K steps from t0 take the vector path of RawK::load / load_k (chunk-constant).
template <int K>
__device__ __forceinline__ bool full_k(bool vec, int t0, int lim) {
  return vec && t0 >= 0 && t0 + K <= lim;
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
