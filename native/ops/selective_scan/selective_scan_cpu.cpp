// selective_scan_cpu.cpp — the CPU selective scan, forward and backward: the op side (layouts,
// tasks, reductions). The per-row kernels are in selective_scan_cpu_kernels.cpp; this pair is
// also the readable reference the CUDA kernels are tested against.
//
//   * B and C are first transposed per (b, group) into BC (L, 2, Np): step t's B_t and C_t side by
//     side, zero-padded from N to Np (a multiple of 16), so that the kernels' loops over the state
//     index n read contiguous, aligned blocks.
//   * Forward: rows (b, d) spread over the thread pool.
//   * Backward: tasks (b, group, slice of the group's channels). Each task adds its rows' dB/dC
//     terms into its own partial buffer, and each row's dA, dD, dbias terms go to per-row slots;
//     both are then summed in a fixed order. The slicing depends on the sizes alone, so results
//     are bitwise the same for any number of threads.
//
// Precision: float32 state and arithmetic as the op's contract says; exp, softplus and sigmoid
// within about 1 ulp (scan_cpu_math.h). dA, dD and dbias accumulate in float within a chunk of
// K = 64 steps and in double across chunks and batch items.
#include <algorithm>
#include <memory>
#include <vector>

#include "../../core/thread_pool.h"
#include "scan_cpu.h"
#include "selective_scan.h"

namespace ms {
namespace {

using scan_cpu::K;
using scan_cpu::kLanes;

int64_t padded_state(const ScanDims& dm) { return (dm.nstate + kLanes - 1) / kLanes * kLanes; }

// BC[b, g, t, 0, n] = B[b, g, n, t], BC[b, g, t, 1, n] = C[b, g, n, t]; zeros for n >= N.
std::unique_ptr<float[]> transpose_bc(const ScanInputs& in, const ScanDims& dm, int64_t Np) {
  const int64_t N = dm.nstate, L = dm.len, BG = dm.batch * dm.ngroups, tiles = (L + K - 1) / K;
  std::unique_ptr<float[]> bc(new float[static_cast<size_t>(BG * L * 2 * Np)]);
  const float *B = in.Bm.ptr<float>(), *C = in.Cm.ptr<float>();
  parallel_for(BG * tiles, std::max<int64_t>(1, 16384 / (K * N)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t bg = i / tiles, t0 = (i % tiles) * K, t1 = std::min(L, t0 + K);
      float* dst = bc.get() + bg * L * 2 * Np;
      for (int64_t n = 0; n < N; ++n) {
        const float *Bn = B + (bg * N + n) * L, *Cn = C + (bg * N + n) * L;
        for (int64_t t = t0; t < t1; ++t) {
          dst[t * 2 * Np + n] = Bn[t];
          dst[t * 2 * Np + Np + n] = Cn[t];
        }
      }
      for (int64_t t = t0; t < t1 && N < Np; ++t) {
        std::fill(dst + t * 2 * Np + N, dst + t * 2 * Np + Np, 0.f);
        std::fill(dst + t * 2 * Np + Np + N, dst + t * 2 * Np + 2 * Np, 0.f);
      }
    }
  });
  return bc;
}

}  // namespace

void selective_scan_fwd_cpu(const ScanInputs& in, const ScanDims& dm, ScanForward& f) {
  const int64_t N = dm.nstate, L = dm.len, rows = dm.batch * dm.dim;
  const int64_t Np = padded_state(dm);
  const std::unique_ptr<float[]> bc = transpose_bc(in, dm, Np);
  scan_cpu::Ctx c{};
  c.in = &in;
  c.dm = &dm;
  c.Np = Np;
  c.BC = bc.get();
  c.out = f.out.ptr<float>();
  c.last = f.has_last ? f.last.ptr<float>() : nullptr;
  const scan_cpu::Kernels& k = scan_cpu::kernels();
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, L * N));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) { k.fwd(c, r0, r1); });
}

void selective_scan_bwd_cpu(const ScanInputs& in, const ScanDims& dm, const Tensor* dout_t, const Tensor* dlast_t,
                            ScanGrads& g, const std::shared_ptr<Accounting>& acct) {
  const char* op = "selectiveScan.backward";
  const int64_t Bn = dm.batch, Dn = dm.dim, L = dm.len, N = dm.nstate, G = dm.ngroups, gsize = Dn / G;
  const Device cpu = Device::CPU;
  g.du = empty(op, in.u.shape, DType::F32, cpu, acct);
  g.ddelta = empty(op, in.u.shape, DType::F32, cpu, acct);
  g.dA = empty(op, {Dn, N}, DType::F32, cpu, acct);
  g.dB = empty(op, in.Bm.shape, DType::F32, cpu, acct);
  g.dC = empty(op, in.Cm.shape, DType::F32, cpu, acct);
  if (in.has_D) g.dD = empty(op, {Dn}, DType::F32, cpu, acct);
  if (in.has_z) g.dz = empty(op, in.u.shape, DType::F32, cpu, acct);
  if (in.has_bias) g.dbias = empty(op, {Dn}, DType::F32, cpu, acct);
  if (in.has_init) g.dinit = empty(op, {Bn, Dn, N}, DType::F32, cpu, acct);

  const int64_t Np = padded_state(dm);
  const std::unique_ptr<float[]> bc = transpose_bc(in, dm, Np);
  // Slices of at least 32 channels (when the group has that many), about 64 tasks in all, and the
  // partials capped at 256 MiB: from the sizes alone, never from the thread count.
  const int64_t per_split = Bn * G * L * 2 * Np;
  int64_t splits = std::clamp<int64_t>((64 + Bn * G - 1) / (Bn * G), 1, std::max<int64_t>(1, gsize / 32));
  splits = std::max<int64_t>(1, std::min<int64_t>(splits, (int64_t(64) << 20) / std::max<int64_t>(1, per_split)));
  std::unique_ptr<float[]> part(new float[static_cast<size_t>(splits * per_split)]);  // tasks zero their own
  std::vector<double> rowA(static_cast<size_t>(Bn * Dn * N)), rowD(Bn * Dn), rowBias(Bn * Dn);

  scan_cpu::Ctx c{};
  c.in = &in;
  c.dm = &dm;
  c.Np = Np;
  c.BC = bc.get();
  c.dout = dout_t ? dout_t->ptr<float>() : nullptr;
  c.dlast = dlast_t ? dlast_t->ptr<float>() : nullptr;
  c.g = &g;
  c.splits = splits;
  // A segment keeps h and exp(dt A) of each of its steps: 2 seg Np floats, 1 MiB per thread.
  c.seg = K * std::max<int64_t>(1, std::min<int64_t>((int64_t(1) << 17) / (K * Np), (L + K - 1) / K));
  c.part = part.get();
  c.rowA = rowA.data();
  c.rowD = rowD.data();
  c.rowBias = rowBias.data();
  const scan_cpu::Kernels& k = scan_cpu::kernels();
  parallel_for(Bn * G * splits, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) k.bwd(c, t);
  });

  // dB, dC: the partials summed (split 0, 1, ...) and transposed back to (B, G, N, L), K steps at a time.
  float* dB = g.dB.ptr<float>();
  float* dC = g.dC.ptr<float>();
  const int64_t tiles = (L + K - 1) / K;
  parallel_for(Bn * G * tiles, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> sum(static_cast<size_t>(2 * Np * K));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t bg = i / tiles, t0 = (i % tiles) * K, nt = std::min(K, L - t0);
      std::fill(sum.begin(), sum.end(), 0.f);
      for (int64_t sp = 0; sp < splits; ++sp) {
        const float* p = part.get() + sp * per_split + (bg * L + t0) * 2 * Np;
        for (int64_t e = 0; e < nt * 2 * Np; ++e) sum[e] += p[e];
      }
      for (int64_t n = 0; n < N; ++n)
        for (int64_t t = 0; t < nt; ++t) {
          dB[(bg * N + n) * L + t0 + t] = sum[t * 2 * Np + n];
          dC[(bg * N + n) * L + t0 + t] = sum[t * 2 * Np + Np + n];
        }
    }
  });
  // dA, dD, dbias: batch sums in a fixed order (b = 0, 1, ...).
  float* dA = g.dA.ptr<float>();
  for (int64_t d = 0; d < Dn; ++d) {
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t b = 0; b < Bn; ++b) s += rowA[(b * Dn + d) * N + n];
      dA[d * N + n] = static_cast<float>(s);
    }
    double sD = 0, sB = 0;
    for (int64_t b = 0; b < Bn; ++b) {
      sD += rowD[b * Dn + d];
      sB += rowBias[b * Dn + d];
    }
    if (in.has_D) g.dD.ptr<float>()[d] = static_cast<float>(sD);
    if (in.has_bias) g.dbias.ptr<float>()[d] = static_cast<float>(sB);
  }
}

}  // namespace ms
