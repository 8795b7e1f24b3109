// attention_cuda.cuh — device helpers shared by the attention kernels: row lengths, dropout
// bits, and the PTX wrappers for the bfloat16 tensor-core path (ldmatrix, mma.sync m16n8k16,
// cp.async). Fragment layouts are those of the PTX ISA "mma.m16n8k16" section:
//   lane = 4 g + t (g = groupID 0..7, t = 0..3)
//   A (16x16, row):  a0 (g, 2t..2t+1)  a1 (g+8, 2t..)  a2 (g, 2t+8..)  a3 (g+8, 2t+8..)
//   B (16x8, col):   b0 (k 2t..2t+1, n g)  b1 (k 2t+8..2t+9, n g)
//   C (16x8, f32):   c0,c1 (g, 2t..2t+1)  c2,c3 (g+8, 2t..2t+1)
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "attention.h"

namespace ms {
namespace attn {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

__device__ __forceinline__ int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t imax64(int64_t a, int64_t b) { return a > b ? a : b; }

__device__ __forceinline__ int64_t qlen_of(const AttentionParams& p, int64_t b) {
  return p.query_len ? p.query_len[b] : p.Lq;
}
__device__ __forceinline__ int64_t klen_of(const AttentionParams& p, int64_t b) {
  return p.key_len ? p.key_len[b] : p.Lk;
}

// Dropout factors of elements idx and idx + 1 (same row, adjacent keys): one Philox block
// serves both unless idx is the last word of its block.
__device__ __forceinline__ void drop2(const AttentionParams& p, uint64_t idx, float& z0, float& z1) {
  const float keep = 1.0f / (1.0f - p.dropout);
  Philox4 r = philox4x32_10(p.offset + idx / 4, p.seed);
  const int w = static_cast<int>(idx & 3);
  const float u0 = static_cast<float>(r.v[w] >> 8) * (1.0f / 16777216.0f);
  uint32_t w1;
  if (w == 3) w1 = philox4x32_10(p.offset + idx / 4 + 1, p.seed).v[0];
  else w1 = r.v[w + 1];
  const float u1 = static_cast<float>(w1 >> 8) * (1.0f / 16777216.0f);
  z0 = u0 >= p.dropout ? keep : 0.0f;
  z1 = u1 >= p.dropout ? keep : 0.0f;
}

__device__ __forceinline__ float drop1(const AttentionParams& p, uint64_t idx) {
  return attn_keep(p.seed, p.offset, idx, p.dropout) ? 1.0f / (1.0f - p.dropout) : 0.0f;
}

// 2^x in one MUFU.EX2 (flush-to-zero; 2^-inf = 0). exp2f without --use_fast_math adds range
// fix-ups around it, 2-3 more instructions per probability.
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// ---- bfloat16 tensor-core helpers ----

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
  return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
}

// d += a * b (bf16 in, f32 accumulate)
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 16-byte async copy global -> shared; src_bytes = 0 writes zeros (padding rows and columns).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// Loads rows [r0, r0 + ROWS) of a row-major (L, Dh) bf16 matrix into a shared tile of row
// stride DH + 8 (the +8 halves = 16 bytes put the 8 rows an ldmatrix reads in 8 different bank
// groups: no conflicts). Rows >= rows_valid (relative) and columns >= Dh are zero. With vec
// (Dh % 8 == 0 and 16-byte aligned bases) the copy is cp.async and must be waited for;
// otherwise it is plain loads, visible after the next __syncthreads.
template <int ROWS, int DH, int THREADS>
__device__ __forceinline__ void load_tile_bf16(uint16_t* s, const uint16_t* g, int64_t r0, int64_t rows_valid,
                                               int Dh, bool vec) {
  constexpr int LD = DH + 8;
  if (vec) {
    constexpr int CH = DH / 8;
    for (int c = threadIdx.x; c < ROWS * CH; c += THREADS) {
      const int r = c / CH, ch = c % CH;
      const bool ok = r < rows_valid && ch * 8 < Dh;
      cp_async16(s + r * LD + ch * 8, ok ? g + (r0 + r) * Dh + ch * 8 : g, ok ? 16 : 0);
    }
  } else {
    for (int e = threadIdx.x; e < ROWS * DH; e += THREADS) {
      const int r = e / DH, d = e % DH;
      s[r * LD + d] = (r < rows_valid && d < Dh) ? g[(r0 + r) * Dh + d] : uint16_t(0);
    }
  }
}

// Stores rows [0, rows) x [0, Dh) of a shared bf16 tile (stride DH + 8) to global rows r0...
template <int DH, int THREADS>
__device__ __forceinline__ void store_tile_bf16(uint16_t* g, const uint16_t* s, int64_t r0, int64_t rows, int Dh,
                                                bool vec) {
  constexpr int LD = DH + 8;
  if (vec) {
    const int CH = Dh / 8;
    for (int64_t c = threadIdx.x; c < rows * CH; c += THREADS) {
      const int64_t r = c / CH;
      const int ch = static_cast<int>(c % CH);
      *reinterpret_cast<uint4*>(g + (r0 + r) * Dh + ch * 8) = *reinterpret_cast<const uint4*>(s + r * LD + ch * 8);
    }
  } else {
    for (int64_t e = threadIdx.x; e < rows * Dh; e += THREADS) {
      const int64_t r = e / Dh;
      const int d = static_cast<int>(e % Dh);
      g[(r0 + r) * Dh + d] = s[r * LD + d];
    }
  }
}

// Host-side entry points of the kernel files (attention_cuda.cu dispatches to them).
void forward_f32(const AttentionParams& p, cudaStream_t s);
void backward_f32(const AttentionParams& p, cudaStream_t s);
// bfloat16 (attention_{fwd,bwd}_bf16_v2.cu): the forward covers every Dh <= 256; the backward
// returns false for the head dims it does not cover (Dh > 128), which run backward_bf16_dh256.
void forward_bf16_v2(const AttentionParams& p, bool vec, cudaStream_t s);
bool backward_bf16_v2(const AttentionParams& p, bool vec, cudaStream_t s);
// attention_bwd_bf16.cu (the first-generation backward, kept where kernel 2 does not reach):
// dK/dV and dQ for 128 < Dh <= 256, and the separate, deterministic dQ pass for any Dh.
void backward_bf16_dh256(const AttentionParams& p, bool vec, cudaStream_t s);
void dq_bf16(const AttentionParams& p, bool vec, cudaStream_t s);

}  // namespace attn
}  // namespace ms
