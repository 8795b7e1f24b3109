// selective_scan_cpu.cpp — the readable reference of the selective scan: one row (b, d) at a time,
// rows spread over the thread pool. Forward is a plain loop over time; backward re-runs the
// forward of each row with a saved state every kScanSaveEvery steps, then walks each chunk
// backward from its recomputed states (memory per thread: n_chunks * N + 3 * K * N floats).
//
// Reductions over rows (dB, dC over the channels of a group; dA, dD, dbias over the batch) go
// through per-task partial buffers summed in a fixed order, so results do not depend on threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../../core/thread_pool.h"
#include "selective_scan.h"
#include "scan_math.h"

namespace ms {
namespace {

// One row's view of the inputs; pointers at element t = 0 (B, C at state 0: stride L per state).
struct Row {
  const float *u, *delta, *z, *B, *C, *A, *init;
  float Dv, bias;
  int64_t len;
};

Row row_of(const ScanInputs& in, const ScanDims& dm, int64_t b, int64_t d) {
  const int64_t L = dm.len, N = dm.nstate, gsize = dm.dim / dm.ngroups;
  const int64_t off = (b * dm.dim + d) * L;
  const int64_t goff = (b * dm.ngroups + d / gsize) * N * L;
  Row r;
  r.u = in.u.ptr<float>() + off;
  r.delta = in.delta.ptr<float>() + off;
  r.z = in.has_z ? in.z.ptr<float>() + off : nullptr;
  r.B = in.Bm.ptr<float>() + goff;
  r.C = in.Cm.ptr<float>() + goff;
  r.A = in.A.ptr<float>() + d * N;
  r.init = in.has_init ? in.init.ptr<float>() + (b * dm.dim + d) * N : nullptr;
  r.Dv = in.has_D ? in.Dskip.ptr<float>()[d] : 0.f;
  r.bias = in.has_bias ? in.delta_bias.ptr<float>()[d] : 0.f;
  r.len = in.has_lengths ? in.lengths.ptr<int32_t>()[b] : L;
  return r;
}

// Memory position of processed step k.
inline int64_t pos(const Row& r, bool reverse, int64_t k) { return reverse ? r.len - 1 - k : k; }

// Runs steps [k0, k1) from state h (updated in place). When hs is given, stores h after each
// step (K x N) and the decay a (K x N); y gets the pre-gate output C.h + D u per step.
void run_steps(const Row& r, const ScanDims& dm, bool softplus, bool reverse, int64_t k0, int64_t k1, float* h,
               float* hs, float* as, float* y) {
  const int64_t N = dm.nstate, L = dm.len;
  for (int64_t k = k0; k < k1; ++k) {
    const int64_t t = pos(r, reverse, k);
    const float dt = scan_dt(r.delta[t] + r.bias, softplus);
    const float dtu = dt * r.u[t];
    float acc = 0.f;
    for (int64_t n = 0; n < N; ++n) {
      const float a = std::exp(dt * r.A[n]);
      h[n] = a * h[n] + dtu * r.B[n * L + t];
      acc += r.C[n * L + t] * h[n];
      if (hs) {
        hs[(k - k0) * N + n] = h[n];
        as[(k - k0) * N + n] = a;
      }
    }
    if (y) y[k - k0] = acc + r.Dv * r.u[t];
  }
}

}  // namespace

void selective_scan_fwd_cpu(const ScanInputs& in, const ScanDims& dm, ScanForward& f) {
  const int64_t N = dm.nstate, L = dm.len, rows = dm.batch * dm.dim;
  float* out = f.out.ptr<float>();
  float* last = f.has_last ? f.last.ptr<float>() : nullptr;
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, L * N));
  parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
    std::vector<float> h(N), y(kScanSaveEvery);
    for (int64_t row = r0; row < r1; ++row) {
      const Row r = row_of(in, dm, row / dm.dim, row % dm.dim);
      for (int64_t n = 0; n < N; ++n) h[n] = r.init ? r.init[n] : 0.f;
      float* o = out + row * L;
      for (int64_t k0 = 0; k0 < r.len; k0 += kScanSaveEvery) {
        const int64_t k1 = std::min(r.len, k0 + kScanSaveEvery);
        run_steps(r, dm, in.softplus, in.reverse, k0, k1, h.data(), nullptr, nullptr, y.data());
        for (int64_t k = k0; k < k1; ++k) {
          const int64_t t = pos(r, in.reverse, k);
          o[t] = r.z ? y[k - k0] * scan_silu(r.z[t]) : y[k - k0];
        }
      }
      for (int64_t t = r.len; t < L; ++t) o[t] = 0.f;
      if (last) std::copy(h.begin(), h.end(), last + row * N);
    }
  });
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

  // Tasks: (b, g, split); each split owns a slice of the group's channels and its own dB/dC
  // partial, so no two threads add into the same element.
  const int64_t splits = std::clamp<int64_t>((2 * num_threads() + Bn * G - 1) / std::max<int64_t>(1, Bn * G), 1,
                                             std::max<int64_t>(1, gsize));
  const int64_t bcn = Bn * G * N * L;
  std::vector<float> part(static_cast<size_t>(splits > 1 ? 2 * splits * bcn : 0));
  float* dB_all = g.dB.ptr<float>();
  float* dC_all = g.dC.ptr<float>();
  std::vector<double> rowA(static_cast<size_t>(Bn * Dn * N)), rowD(Bn * Dn), rowBias(Bn * Dn);
  const float* dout = dout_t ? dout_t->ptr<float>() : nullptr;
  const float* dlast = dlast_t ? dlast_t->ptr<float>() : nullptr;
  const int64_t K = kScanSaveEvery;

  parallel_for(Bn * G * splits, 1, [&](int64_t task0, int64_t task1) {
    std::vector<float> h(N), carried(N), gk(N), hs(K * N), as(K * N), y(K), ck;
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t split = task % splits, bg = task / splits, b = bg / G, grp = bg % G;
      float* dB = splits > 1 ? part.data() + (2 * split) * bcn : dB_all;
      float* dC = splits > 1 ? part.data() + (2 * split + 1) * bcn : dC_all;
      dB += bg * N * L;
      dC += bg * N * L;
      std::fill(dB, dB + N * L, 0.f);
      std::fill(dC, dC + N * L, 0.f);
      const int64_t c0 = grp * gsize + split * gsize / splits, c1 = grp * gsize + (split + 1) * gsize / splits;
      for (int64_t d = c0; d < c1; ++d) {
        const Row r = row_of(in, dm, b, d);
        const int64_t row = b * Dn + d, off = row * L;
        float* du = g.du.ptr<float>() + off;
        float* ddelta = g.ddelta.ptr<float>() + off;
        float* dz = in.has_z ? g.dz.ptr<float>() + off : nullptr;
        // Pass 1: states at the start of every chunk of K steps.
        const int64_t nch = (r.len + K - 1) / K;
        ck.assign(static_cast<size_t>(std::max<int64_t>(nch, 1) * N), 0.f);
        for (int64_t n = 0; n < N; ++n) h[n] = r.init ? r.init[n] : 0.f;
        for (int64_t c = 0; c < nch; ++c) {
          std::copy(h.begin(), h.end(), ck.begin() + c * N);
          run_steps(r, dm, in.softplus, in.reverse, c * K, std::min(r.len, c * K + K), h.data(), nullptr, nullptr,
                    nullptr);
        }
        // Pass 2: chunks last to first; within a chunk, steps last to first.
        for (int64_t n = 0; n < N; ++n) carried[n] = dlast ? dlast[row * N + n] : 0.f;
        double accD = 0, accBias = 0;
        double* accA = rowA.data() + row * N;
        for (int64_t n = 0; n < N; ++n) accA[n] = 0;
        for (int64_t c = nch - 1; c >= 0; --c) {
          const int64_t k0 = c * K, k1 = std::min(r.len, k0 + K);
          std::copy(ck.begin() + c * N, ck.begin() + c * N + N, h.begin());
          run_steps(r, dm, in.softplus, in.reverse, k0, k1, h.data(), hs.data(), as.data(), y.data());
          for (int64_t k = k1 - 1; k >= k0; --k) {
            const int64_t t = pos(r, in.reverse, k), i = k - k0;
            const float x = r.delta[t] + r.bias;
            const float dt = scan_dt(x, in.softplus), uu = r.u[t], dtu = dt * uu;
            const float go = dout ? dout[off + t] : 0.f;
            float dy = go;
            if (r.z) {
              const float zz = r.z[t], s = scan_sigmoid(zz);
              dy = go * zz * s;
              dz[t] = go * y[i] * s * (1.f + zz * (1.f - s));
            }
            accD += double(dy) * uu;
            float duv = r.Dv * dy, ddt = 0.f;
            const float* hprev = i > 0 ? hs.data() + (i - 1) * N : ck.data() + c * N;
            for (int64_t n = 0; n < N; ++n) {
              const float Bv = r.B[n * L + t], Cv = r.C[n * L + t], a = as[i * N + n];
              const float gv = carried[n] + Cv * dy;
              dC[n * L + t] += dy * hs[i * N + n];
              dB[n * L + t] += gv * dtu;
              const float ah = a * hprev[n];
              ddt += gv * (Bv * uu + r.A[n] * ah);
              duv += gv * dt * Bv;
              accA[n] += double(gv) * ah * dt;
              carried[n] = a * gv;
            }
            const float dx = in.softplus ? ddt * scan_sigmoid(x) : ddt;
            du[t] = duv;
            ddelta[t] = dx;
            accBias += dx;
          }
        }
        for (int64_t t = r.len; t < L; ++t) {
          du[t] = 0.f;
          ddelta[t] = 0.f;
          if (dz) dz[t] = 0.f;
        }
        rowD[row] = accD;
        rowBias[row] = accBias;
        if (in.has_init) std::copy(carried.begin(), carried.end(), g.dinit.ptr<float>() + row * N);
      }
    }
  });
  if (splits > 1) {
    parallel_for(bcn, 1 << 14, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float sb = 0.f, sc = 0.f;
        for (int64_t s = 0; s < splits; ++s) {
          sb += part[(2 * s) * bcn + i];
          sc += part[(2 * s + 1) * bcn + i];
        }
        dB_all[i] = sb;
        dC_all[i] = sc;
      }
    });
  }
  // Batch sums in a fixed order (b = 0, 1, ...).
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
