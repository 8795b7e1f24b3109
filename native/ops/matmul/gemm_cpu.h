// gemm_cpu.h — the CPU GEMM's building blocks for ops that drive their own loops: the
// convolutions' implicit GEMM (im2col strips packed straight from x, never stored whole) and
// attention's per-tile products.
//
// Glossary: A (M, K) and B (K, N) multiply into C (M, N) with row stride ldc. The micro-kernel
// (matmul_kernel.h) wants A as MR-row strips (kc columns of MR floats each, zero-padded) and B
// as NR-column strips (kc rows of NR floats); a KC slice of K is packed at a time.
//   pack_a / pack_b   strided matrix -> strips (any strides: transposes and views cost nothing)
//   multiply_packed   C block (+)= packed A block · packed B block (edge tiles through a scratch tile)
//   gemm_serial       one thread's Goto loop nest with caller-supplied packers (run it inside
//                     the op's own parallel_for task: one parallel region per op, not per slice)
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "../../core/thread_pool.h"
#include "matmul_kernel.h"

namespace ms {
namespace gemm {

// KC x NR x 4 B = 32 KB B strip + KC x MR x 4 B = 12 KB A strip stay in L1 (AVX-512 12 x 32).
constexpr int64_t KC = 256;

// Packed buffers must be 64-byte aligned (the AVX-512 kernel loads B strips with aligned loads).
// A (mc x kc at m0, k0) -> strips of MR rows: strip s holds kc columns of MR floats, zero-padded.
void pack_a(const float* a, int64_t sam, int64_t sak, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, float* dst);
// B (kc x nc at k0, n0) -> strips of NR columns: strip s holds kc rows of NR floats, zero-padded.
void pack_b(const float* b, int64_t sbk, int64_t sbn, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, float* dst);
// dst[k * R + i] = src[i * rs + k] for i < h, k < kc; rows h..R-1 zero (4x4 SSE transposes on x86).
void pack_transpose(const float* src, int64_t rs, int64_t h, int64_t kc, int R, float* dst);

// C (mc x nc, row stride ldc) (+)= A block · B block over kc: apack holds ceil(mc / MR) strips
// `astride` columns apart (astride >= kc: a block packed for a longer K serves any shorter one),
// bpack ceil(nc / NR) strips of kc.
void multiply_packed(const MicroKernel& uk, int64_t kc, const float* apack, int64_t astride, int64_t mc, const float* bpack,
                     int64_t nc, float* c, int64_t ldc, bool accumulate);

// A packed A block as the packers hand it over: strip s (rows s MR ..) at p + s MR kstride.
struct Panel {
  const float* p;
  int64_t kstride;
};

// Per-thread buffers (core/thread_pool.h): slots 0 and 1 are the GEMM drivers' B and A packs.
using ms::thread_buffer;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// One thread's C (M x N, row stride ldc) (+)= A · B. The packers fill the strips of one block:
//   pack_a(m0, mc, k0, kc, buf) -> Panel          the strips of rows [m0, m0 + mc), K slice k0
//                                                  (written into buf: {buf, kc}; or a block of a
//                                                  PackedA packed once before the op's tasks)
//   pack_b(k0, kc, n0, nc, buf) -> const float*   the strips of columns [n0, n0 + nc) (likewise)
// N runs in blocks of `nb` columns (the packed B block, KC x nb, stays in L2); `bias_rows`
// (M floats, or nullptr) initialises C's rows instead of zero when not accumulating.
template <class PackA, class PackB>
void gemm_serial(int64_t M, int64_t N, int64_t K, PackA&& pack_a_fn, PackB&& pack_b_fn, float* c, int64_t ldc,
                 bool accumulate, const float* bias_rows = nullptr, int64_t nb = 512) {
  const MicroKernel& uk = micro_kernel();
  const int64_t MC = 12 * uk.mr;  // 144 rows x KC: a 147 KB A block, in L2
  nb = round_up(std::min(nb, N), uk.nr);
  float* bbuf = thread_buffer(0, static_cast<size_t>(KC * nb));
  float* abuf = thread_buffer(1, static_cast<size_t>(MC * KC));
  for (int64_t jc = 0; jc < N; jc += nb) {
    const int64_t nc = std::min(nb, N - jc);
    if (!accumulate && bias_rows)
      for (int64_t i = 0; i < M; ++i) std::fill(c + i * ldc + jc, c + i * ldc + jc + nc, bias_rows[i]);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const float* bp = pack_b_fn(pc, kc, jc, nc, bbuf);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        const Panel ap = pack_a_fn(ic, mc, pc, kc, abuf);
        multiply_packed(uk, kc, ap.p, ap.kstride, mc, bp, nc, c + ic * ldc + jc, ldc, accumulate || pc > 0 || bias_rows);
      }
    }
    if (K == 0 && !accumulate && !bias_rows)
      for (int64_t i = 0; i < M; ++i) std::fill(c + i * ldc + jc, c + i * ldc + jc + nc, 0.f);
  }
}

// A (M x K) packed once for every task of an op: slice pc holds round_up(M, MR) rows of strips;
// at(m0, pc) is the block gemm_serial's pack_a returns (m0 a multiple of MC, hence of MR). A
// product may use fewer rows or a shorter K than were packed.
struct PackedA {
  const float* data = nullptr;
  int64_t Mp = 0, K = 0;  // Mp: M rounded up to MR
  Panel at(int64_t m0, int64_t pc) const {
    const int64_t kcp = std::min(KC, K - pc);
    return {data + pc * Mp + m0 * kcp, kcp};
  }
};
// Packs A (M x K, strides sam, sak) into dst (packed_a_size floats) and returns the view.
size_t packed_a_size(int64_t M, int64_t K);
PackedA pack_a_all(const float* a, int64_t sam, int64_t sak, int64_t M, int64_t K, float* dst);

}  // namespace gemm
}  // namespace ms
