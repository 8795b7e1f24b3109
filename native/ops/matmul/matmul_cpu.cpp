// matmul_cpu.cpp — the CPU GEMM driver (the Goto/BLIS loop nest), packing and threading.
//
//   for jc in N by NC:            B panel packed into NR-wide strips, KG rows of K at a time
//     for pg in K by KG:          (KG = all of K when K x NC fits in L2, else KC)
//       for ic in M by MC:        row blocks <- threads (one parallel region per B panel)
//         for pc in pg by KC:     A block (MC x KC) packed into MR-tall strips
//           for jr, ir:           micro-kernel: C[MR x NR] (+)= A strip · B strip (first pc writes)
//
// Sizes: KC = 256 (an A strip + a B strip stay in L1: (MR + NR) * 256 * 4 = 45 KB on the
// AVX-512 path), MC = 12 * MR rows (A block ~150 KB in L2; fewer when that would leave threads
// idle), NC = 2048. A narrow N (a linear layer's 100 outputs) packs B once per product, not once
// per KC slice with a barrier each. Packing reads through strides, so transposed and broadcast
// inputs cost nothing extra; rows contiguous along K go through 4x4 SSE transposes.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "../../core/thread_pool.h"
#include "matmul.h"
#include "gemm_cpu.h"
#include "matmul_kernel.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define MS_X86 1
#endif

namespace ms {
namespace gemm {

void pack_transpose(const float* src, int64_t rs, int64_t h, int64_t kc, int R, float* dst) {
  int64_t i = 0;
#ifdef MS_X86
  // Four rows at a time through 4x4 SSE transposes (4 loads, 8 shuffles, 4 stores per 16 floats
  // instead of 16 scalar loads and stores).
  for (; i + 4 <= h; i += 4) {
    const float *s0 = src + i * rs, *s1 = s0 + rs, *s2 = s1 + rs, *s3 = s2 + rs;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + k), r1 = _mm_loadu_ps(s1 + k), r2 = _mm_loadu_ps(s2 + k), r3 = _mm_loadu_ps(s3 + k);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      float* d = dst + k * R + i;
      _mm_storeu_ps(d, r0);
      _mm_storeu_ps(d + R, r1);
      _mm_storeu_ps(d + 2 * R, r2);
      _mm_storeu_ps(d + 3 * R, r3);
    }
    for (; k < kc; ++k) {
      float* d = dst + k * R + i;
      d[0] = s0[k], d[1] = s1[k], d[2] = s2[k], d[3] = s3[k];
    }
  }
#endif
  for (; i < h; ++i)
    for (int64_t k = 0; k < kc; ++k) dst[k * R + i] = src[i * rs + k];
  if (h < R)
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = h; j < R; ++j) dst[k * R + j] = 0.f;
}

// Row-major B is read a row at a time (each row once, into every strip); B stored transposed
// (a linear layer's weight, sbk == 1) is transposed per strip.
void pack_b(const float* b, int64_t sbk, int64_t sbn, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, float* dst) {
  if (sbn == 1) {
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = b + (k0 + k) * sbk + n0;
      int64_t s = 0;
      for (; s + nr <= nc; s += nr) {  // full strips: fixed-width copies the compiler vectorises
        float* row = dst + s * kc + k * nr;
        for (int j = 0; j < nr; ++j) row[j] = src[s + j];
      }
      if (s < nc) {
        const int64_t w = nc - s;
        float* row = dst + s * kc + k * nr;
        std::memcpy(row, src + s, static_cast<size_t>(w) * 4);
        for (int64_t j = w; j < nr; ++j) row[j] = 0.f;
      }
    }
    return;
  }
  for (int64_t s = 0; s < nc; s += nr) {
    const int64_t w = std::min<int64_t>(nr, nc - s);
    float* d = dst + s * kc;
    if (sbk == 1) {
      pack_transpose(b + (n0 + s) * sbn + k0, sbn, w, kc, nr, d);
      continue;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = b + (k0 + k) * sbk + (n0 + s) * sbn;
      float* row = d + k * nr;
      for (int64_t j = 0; j < w; ++j) row[j] = src[j * sbn];
      for (int64_t j = w; j < nr; ++j) row[j] = 0.f;
    }
  }
}

void pack_a(const float* a, int64_t sam, int64_t sak, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, float* dst) {
  for (int64_t s = 0; s < mc; s += mr) {
    const int64_t h = std::min<int64_t>(mr, mc - s);
    float* d = dst + s * kc;
    if (sak == 1) {
      pack_transpose(a + (m0 + s) * sam + k0, sam, h, kc, mr, d);
      continue;
    }
    if (sam == 1 && h == mr) {  // columns contiguous (a transposed operand): fixed-width copies
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = a + (m0 + s) + (k0 + k) * sak;
        float* col = d + k * mr;
        for (int i = 0; i < mr; ++i) col[i] = src[i];
      }
      continue;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = a + (m0 + s) * sam + (k0 + k) * sak;
      float* col = d + k * mr;
      if (sam == 1) {
        std::memcpy(col, src, static_cast<size_t>(h) * 4);
      } else {
        for (int64_t i = 0; i < h; ++i) col[i] = src[i * sam];
      }
      for (int64_t i = h; i < mr; ++i) col[i] = 0.f;
    }
  }
}

void multiply_packed(const MicroKernel& uk, int64_t kc, const float* apack, int64_t astride, int64_t mc, const float* bpack,
                     int64_t nc, float* c, int64_t ldc, bool accumulate) {
  const int mr = uk.mr, nr = uk.nr;
  alignas(64) float tile[16 * 64];
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int64_t w = std::min<int64_t>(nr, nc - jr);
    for (int64_t ir = 0; ir < mc; ir += mr) {
      const int64_t h = std::min<int64_t>(mr, mc - ir);
      float* cptr = c + ir * ldc + jr;
      const float* astrip = apack + ir * astride;
      const float* bstrip = bpack + jr * kc;
      if (h == mr && w == nr) {
        uk.run(kc, astrip, bstrip, cptr, ldc, accumulate);
      } else {
        // Edge tile: a full tile into scratch, then the valid part into C.
        uk.run(kc, astrip, bstrip, tile, nr, false);
        for (int64_t i = 0; i < h; ++i)
          for (int64_t j = 0; j < w; ++j) cptr[i * ldc + j] = (accumulate ? cptr[i * ldc + j] : 0.f) + tile[i * nr + j];
      }
    }
  }
}

size_t packed_a_size(int64_t M, int64_t K) {
  return static_cast<size_t>(round_up(M, micro_kernel().mr) * std::max<int64_t>(K, 1));
}

PackedA pack_a_all(const float* a, int64_t sam, int64_t sak, int64_t M, int64_t K, float* dst) {
  const int mr = micro_kernel().mr;
  PackedA p;
  p.data = dst;
  p.Mp = round_up(M, mr);
  p.K = K;
  for (int64_t pc = 0; pc < K; pc += KC) pack_a(a, sam, sak, 0, M, pc, std::min(KC, K - pc), mr, dst + pc * p.Mp);
  return p;
}

}  // namespace gemm

namespace {

using gemm::KC;
constexpr int64_t NC = 2048;
constexpr int64_t kWholeB = 512 * 1024;  // floats: 2 MB, one core's L2 on the machines we measure
constexpr int64_t kParallelPack = 128 * 1024;  // floats (512 KB): smaller B panels are packed by one thread (a wake-up costs more)

void gemm_one(const MicroKernel& uk, const float* a, int64_t sam, int64_t sak, const float* b, int64_t sbk, int64_t sbn,
              float* c, int64_t M, int64_t N, int64_t K, bool parallel) {
  const int mr = uk.mr, nr = uk.nr;
  // Row blocks of 12 strips, unless that gives fewer blocks than threads (a batch of 128 rows
  // is one block): then one block per thread, so each packs and multiplies only its own rows.
  const int threads = parallel ? num_threads() : 1;
  const int64_t mstrips = (M + mr - 1) / mr;
  const int64_t per_block = (mstrips + 11) / 12 >= threads ? 12 : (mstrips + threads - 1) / threads;
  const int64_t MC = mr * std::max<int64_t>(1, per_block);
  const int64_t nc_max = std::min<int64_t>(NC, (N + nr - 1) / nr * nr);
  // B is packed KG rows at a time: all of K when that fits in L2 (a narrow N, e.g. a linear
  // layer's 100 outputs: one packing and one parallel region per product instead of two per KC
  // slice), else KC (Goto's panel).
  const int64_t KG = K * nc_max <= kWholeB ? K : KC;
  float* const bpack = gemm::thread_buffer(0, static_cast<size_t>(KG * nc_max));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, N - jc);
    const int64_t ncp = (nc + nr - 1) / nr * nr;  // packed width of one KC slice
    for (int64_t pg = 0; pg < K; pg += KG) {
      const int64_t kg = std::min<int64_t>(KG, K - pg);
      // Slice pc (a KC block of rows) starts at (pc - pg) * ncp; its strips are kc x nr each.
      // Packing task t is strip t % bstrips of slice t / bstrips; a range of tasks packs each
      // slice's run of strips with one pack_b call. In parallel only when the group is big
      // enough to pay for a wake-up.
      const int64_t bstrips = ncp / nr;
      const int64_t ptasks = (kg + KC - 1) / KC * bstrips;
      auto pack_strips = [&](int64_t t0, int64_t t1) {
        while (t0 < t1) {
          const int64_t first = t0 % bstrips, last = std::min(bstrips, first + (t1 - t0));
          const int64_t pc = pg + (t0 / bstrips) * KC, kc = std::min<int64_t>(KC, K - pc);
          const int64_t lo = first * nr, hi = std::min<int64_t>(nc, last * nr);
          gemm::pack_b(b, sbk, sbn, pc, kc, jc + lo, hi - lo, nr, bpack + (pc - pg) * ncp + lo * kc);
          t0 += last - first;
        }
      };
      if (parallel && ptasks >= 2 && kg * nc >= kParallelPack) parallel_for(ptasks, 1, pack_strips);
      else pack_strips(0, ptasks);
      const int64_t mblocks = (M + MC - 1) / MC;
      // Split C's rows across threads; when M is small (a few rows) split the columns instead.
      const bool by_rows = mblocks >= 2 || bstrips < 2;
      const int64_t tasks = by_rows ? mblocks : bstrips;
      auto work = [&](int64_t t0, int64_t t1) {
        float* const apack = gemm::thread_buffer(1, static_cast<size_t>(MC * KC + mr * KC));
        for (int64_t t = t0; t < t1; ++t) {
          // Row mode: task t owns rows [t*MC, ...); column mode (M <= MC): task t owns strip t.
          const int64_t ic = by_rows ? t * MC : 0;
          const int64_t mc = by_rows ? std::min<int64_t>(MC, M - ic) : M;
          const int64_t j_lo = by_rows ? 0 : t * nr, j_hi = by_rows ? nc : std::min<int64_t>(nc, (t + 1) * nr);
          for (int64_t pc = pg; pc < pg + kg; pc += KC) {
            const int64_t kc = std::min<int64_t>(KC, K - pc);
            gemm::pack_a(a, sam, sak, ic, mc, pc, kc, mr, apack);
            gemm::multiply_packed(uk, kc, apack, kc, mc, bpack + (pc - pg) * ncp + j_lo * kc, j_hi - j_lo,
                                  c + ic * N + jc + j_lo, N, pc > 0);
          }
        }
      };
      if (parallel) parallel_for(tasks, 1, work);
      else work(0, tasks);
    }
  }
}

}  // namespace

const char* matmul_cpu_kernel_name() { return micro_kernel().name; }

void matmul_cpu(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t Bt = a.shape[0], M = a.shape[1], K = a.shape[2], N = b.shape[2];
  float* c = out.ptr<float>();
  if (K == 0) {
    std::memset(c, 0, static_cast<size_t>(out.nbytes()));
    return;
  }
  const MicroKernel& uk = micro_kernel();
  const float* pa = a.ptr<float>();
  const float* pb = b.ptr<float>();
  // Many small matrices: one per task; else parallelise inside each product. A batch whose
  // whole work is tiny (under ~1 MFLOP, e.g. 15 critics' (8 x 4) @ (4 x 4)) runs on this thread:
  // waking the pool costs more than the arithmetic (15 products took 91 us through it).
  const double flops = 2.0 * M * N * K;
  const bool tiny = flops * Bt < 1024.0 * 1024;
  if (!tiny && Bt >= num_threads() && flops < 64.0 * 1024 * 1024) {
    parallel_for(Bt, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i)
        gemm_one(uk, pa + i * a.strides[0], a.strides[1], a.strides[2], pb + i * b.strides[0], b.strides[1], b.strides[2],
                 c + i * M * N, M, N, K, false);
    });
    return;
  }
  for (int64_t i = 0; i < Bt; ++i)
    gemm_one(uk, pa + i * a.strides[0], a.strides[1], a.strides[2], pb + i * b.strides[0], b.strides[1], b.strides[2],
             c + i * M * N, M, N, K, !tiny && flops >= 2.0 * 64 * 64 * 64);
}

}  // namespace ms
