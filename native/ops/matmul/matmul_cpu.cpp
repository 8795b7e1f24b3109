// matmul_cpu.cpp — the CPU GEMM driver (the Goto/BLIS loop nest), packing and threading.
//
//   for jc in N by NC:            B panel (KC x NC) packed into NR-wide strips
//     for pc in K by KC:          (first pc writes C, later ones accumulate)
//       for ic in M by MC:        A block (MC x KC) packed into MR-tall strips   <- threads
//         for jr, ir:             micro-kernel: C[MR x NR] (+)= A strip · B strip
//
// Sizes: KC = 256 (an A strip + a B strip stay in L1: (MR + NR) * 256 * 4 = 45 KB on the
// AVX-512 path), MC = 12 * MR rows (A block ~150 KB in L2), NC = 2048 (B panel 2 MB, L3).
// Packing reads through strides, so transposed and broadcast inputs cost nothing extra.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "../../core/thread_pool.h"
#include "matmul.h"
#include "matmul_kernel.h"

namespace ms {
namespace {

constexpr int64_t KC = 256;
constexpr int64_t NC = 2048;

// Packing buffers, one pair per thread, grown on demand and reused: a fresh 1 MB buffer per
// call costs page faults that, at 256^3, took longer than the multiply itself.
struct Scratch {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      cap = n;
      p = static_cast<float*>(std::aligned_alloc(64, ((n * 4 + 63) / 64) * 64 + 64));
      if (!p) throw std::bad_alloc();
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch scratch_a, scratch_b;

// B (kc x nc at k0, n0) -> strips of NR columns: strip s holds kc rows of NR floats, zero-padded.
void pack_b(const float* b, int64_t sbk, int64_t sbn, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int nr, float* dst) {
  for (int64_t s = 0; s < nc; s += nr) {
    const int64_t w = std::min<int64_t>(nr, nc - s);
    float* d = dst + s * kc;
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = b + (k0 + k) * sbk + (n0 + s) * sbn;
      float* row = d + k * nr;
      if (sbn == 1) {
        std::memcpy(row, src, static_cast<size_t>(w) * 4);
      } else {
        for (int64_t j = 0; j < w; ++j) row[j] = src[j * sbn];
      }
      for (int64_t j = w; j < nr; ++j) row[j] = 0.f;
    }
  }
}

// A (mc x kc at m0, k0) -> strips of MR rows: strip s holds kc columns of MR floats, zero-padded.
void pack_a(const float* a, int64_t sam, int64_t sak, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int mr, float* dst) {
  for (int64_t s = 0; s < mc; s += mr) {
    const int64_t h = std::min<int64_t>(mr, mc - s);
    float* d = dst + s * kc;
    if (sak == 1) {
      for (int64_t i = 0; i < h; ++i) {
        const float* src = a + (m0 + s + i) * sam + k0;
        for (int64_t k = 0; k < kc; ++k) d[k * mr + i] = src[k];
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = a + (m0 + s) * sam + (k0 + k) * sak;
        for (int64_t i = 0; i < h; ++i) d[k * mr + i] = src[i * sam];
      }
    }
    for (int64_t i = h; i < mr; ++i)
      for (int64_t k = 0; k < kc; ++k) d[k * mr + i] = 0.f;
  }
}

void gemm_one(const MicroKernel& uk, const float* a, int64_t sam, int64_t sak, const float* b, int64_t sbk, int64_t sbn,
              float* c, int64_t M, int64_t N, int64_t K, bool parallel) {
  const int mr = uk.mr, nr = uk.nr;
  const int64_t MC = 12 * mr;
  const int64_t nc_max = std::min<int64_t>(NC, (N + nr - 1) / nr * nr);
  float* const bpack = scratch_b.get(static_cast<size_t>(KC * nc_max));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, K - pc);
      const bool accumulate = pc > 0;
      pack_b(b, sbk, sbn, pc, kc, jc, nc, nr, bpack);
      const int64_t mblocks = (M + MC - 1) / MC;
      // Split C's rows across threads; when M is small (a few rows) split the columns instead.
      const int64_t nstrips = (nc + nr - 1) / nr;
      const bool by_rows = mblocks >= 2 || nstrips < 2;
      const int64_t tasks = by_rows ? mblocks : nstrips;
      auto work = [&](int64_t t0, int64_t t1) {
        float* const apack = scratch_a.get(static_cast<size_t>(MC * kc + mr * kc));
        alignas(64) float tile[16 * 64];
        for (int64_t t = t0; t < t1; ++t) {
          // Row mode: task t owns rows [t*MC, ...); column mode (M <= MC): task t owns strip t.
          const int64_t ic = by_rows ? t * MC : 0;
          const int64_t mc = by_rows ? std::min<int64_t>(MC, M - ic) : M;
          const int64_t j_lo = by_rows ? 0 : t * nr, j_hi = by_rows ? nc : std::min<int64_t>(nc, (t + 1) * nr);
          pack_a(a, sam, sak, ic, mc, pc, kc, mr, apack);
          for (int64_t jr = j_lo; jr < j_hi; jr += nr) {
            const int64_t w = std::min<int64_t>(nr, nc - jr);
            for (int64_t ir = 0; ir < mc; ir += mr) {
              const int64_t h = std::min<int64_t>(mr, mc - ir);
              float* cptr = c + (ic + ir) * N + jc + jr;
              const float* astrip = apack + ir * kc;
              const float* bstrip = bpack + jr * kc;
              if (h == mr && w == nr) {
                uk.run(kc, astrip, bstrip, cptr, N, accumulate);
              } else {
                // Edge tile: a full tile into scratch, then the valid part into C.
                uk.run(kc, astrip, bstrip, tile, nr, false);
                for (int64_t i = 0; i < h; ++i)
                  for (int64_t j = 0; j < w; ++j)
                    cptr[i * N + j] = (accumulate ? cptr[i * N + j] : 0.f) + tile[i * nr + j];
              }
            }
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
