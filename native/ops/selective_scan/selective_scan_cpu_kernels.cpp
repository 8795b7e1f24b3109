// selective_scan_cpu_kernels.cpp — the CPU selective scan's kernels, one row (b, d) at a time,
// with the state index n as the vector dimension (the op side is selective_scan_cpu.cpp).
//
// Every inner loop is a fixed 16-wide loop over a block of n (N is zero-padded to Np, a multiple
// of 16: padded lanes have A = B = C = 0, stay 0 and add exact zeros) that reads memory and
// writes locals only, so compilers vectorize it without alias checks; exp and friends come from
// scan_cpu_math.h. The kernels are inlined into one function per ISA at the end of this file
// (AVX-512, AVX2 + FMA, baseline; x86 with GCC or clang) and picked at run time; elsewhere the
// baseline copy is vectorized for the target's own ISA.
//
// A row runs in chunks of K steps: the chunk's step inputs (dt, dt u, ...) are computed for all
// its steps at once, then the recurrence runs step by step, and sums over n (y = C.h, ...) are
// left as 16 lanes per step and reduced per chunk by lane_sums.
//
// Backward of a row: in segments of c.seg steps (thousands; memory 2 seg Np floats per thread),
// last segment first. The segment's forward keeps h_t and exp(dt_t A) of every step; then its
// chunks step backward through them, last step first. A row of one segment runs its forward once;
// a longer one first runs the whole forward keeping each segment's start state.
#include <algorithm>
#include <vector>

#include "scan_cpu.h"
#include "scan_cpu_math.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MS_SCAN_X86 1
#endif

namespace ms {
namespace scan_cpu {
namespace {

// 64-byte aligned float scratch, uninitialized. Kept per thread between calls (it is at most
// about 1.5 MiB), so that a call does not page-fault its way through fresh memory.
float* thread_scratch(int64_t n) {
  struct alignas(64) Line {
    float f[16];
  };
  thread_local std::vector<Line> buf;
  if (static_cast<int64_t>(buf.size()) * 16 < n) buf.resize(static_cast<size_t>((n + 15) / 16));
  return buf.data()->f;
}

// One row's view of the inputs; pointers at element t = 0 of the row (BC: of its group).
struct Row {
  const float *u, *delta, *z, *BC, *init;
  float Dv, bias;
  int64_t len;
  bool softplus, reverse;
};

Row row_of(const Ctx& c, int64_t b, int64_t d) {
  const ScanInputs& in = *c.in;
  const ScanDims& dm = *c.dm;
  const int64_t L = dm.len, off = (b * dm.dim + d) * L, gsize = dm.dim / dm.ngroups;
  Row r;
  r.u = in.u.ptr<float>() + off;
  r.delta = in.delta.ptr<float>() + off;
  r.z = in.has_z ? in.z.ptr<float>() + off : nullptr;
  r.BC = c.BC + (b * dm.ngroups + d / gsize) * L * 2 * c.Np;
  r.init = in.has_init ? in.init.ptr<float>() + (b * dm.dim + d) * dm.nstate : nullptr;
  r.Dv = in.has_D ? in.Dskip.ptr<float>()[d] : 0.f;
  r.bias = in.has_bias ? in.delta_bias.ptr<float>()[d] : 0.f;
  r.len = in.has_lengths ? in.lengths.ptr<int32_t>()[b] : L;
  r.softplus = in.softplus;
  r.reverse = in.reverse;
  return r;
}

// Memory position of processed step k.
MS_INLINE int64_t pos(const Row& r, int64_t k) { return r.reverse ? r.len - 1 - k : k; }

// A chunk's nk steps of a row array, in processed order: scanning forward, the array itself; in
// reverse, a reversed copy in buf.
MS_INLINE const float* steps_in(const Row& r, const float* src, int64_t k0, int64_t nk, float* buf) {
  if (!r.reverse) return src + k0;
  const float* s = src + r.len - 1 - k0;
  for (int64_t i = 0; i < nk; ++i) buf[i] = s[-i];
  return buf;
}
// Where a chunk's outputs for row array dst are computed: dst itself scanning forward; in reverse
// buf, which steps_out then copies into dst.
MS_INLINE float* steps_buf(const Row& r, float* dst, int64_t k0, float* buf) { return r.reverse ? buf : dst + k0; }
MS_INLINE void steps_out(const Row& r, const float* buf, int64_t k0, int64_t nk, float* dst) {
  if (!r.reverse) return;
  float* d = dst + r.len - 1 - k0;
  for (int64_t i = 0; i < nk; ++i) d[-i] = buf[i];
}

// Per-thread scratch for one row at a time: padded A and state, per-step arrays in processed order
// (K steps for the forward; a segment of `seg` steps for the backward), lane tiles (K x kLanes) for
// sums over n, and for the backward the states and decays of the segment's steps, hs and as
// (seg x Np), the segment-start states ck and the gradients flowing back.
struct Work {
  float *A, *h, *x, *uu, *dt, *dtu, *y, *zz, *o, *lanes, *tmp;
  float *ck = nullptr, *h0 = nullptr, *hs = nullptr, *as = nullptr, *carried = nullptr, *accA = nullptr,
        *go = nullptr, *dy = nullptr, *du = nullptr, *ddt = nullptr, *dz = nullptr, *lanes2 = nullptr;
  double* accAd = nullptr;

  // seg_steps: steps per backward segment (a multiple of K), n_seg: segment-start states to hold;
  // 0, 0 for the forward.
  Work(int64_t Np, int64_t seg_steps, int64_t n_seg) {
    // Every piece is a multiple of 16 floats, so all stay 64-byte aligned.
    float* p = thread_scratch(2 * Np + 5 * std::max(K, seg_steps) + 2 * K + 2 * K * kLanes +
                              (seg_steps > 0 ? (n_seg + 6 + 2 * seg_steps) * Np + 5 * K + K * kLanes : 0));
    auto take = [&p](int64_t n) {
      float* q = p;
      p += n;
      return q;
    };
    const int64_t steps = std::max(K, seg_steps);
    A = take(Np), h = take(Np), x = take(steps), uu = take(steps), dt = take(steps), dtu = take(steps);
    y = take(steps), zz = take(K), o = take(K), lanes = take(K * kLanes), tmp = take(K * kLanes);
    if (seg_steps > 0) {
      ck = take(n_seg * Np), h0 = take(Np), hs = take(seg_steps * Np), as = take(seg_steps * Np);
      carried = take(Np), accA = take(Np), accAd = reinterpret_cast<double*>(take(2 * Np));
      go = take(K), dy = take(K), du = take(K), ddt = take(K), dz = take(K), lanes2 = take(K * kLanes);
    }
  }

  // Padded copies of row d's A and initial state (zeros past N) into A and h.
  MS_INLINE void load_row(const Ctx& c, const Row& r, int64_t d) {
    const int64_t N = c.dm->nstate;
    const float* Ad = c.in->A.ptr<float>() + d * N;
    for (int64_t n = 0; n < c.Np; ++n) {
      A[n] = n < N ? Ad[n] : 0.f;
      h[n] = n < N && r.init ? r.init[n] : 0.f;
    }
  }
};

// Sum of v[0, n) in float in a fixed order (per-chunk sums of dD and dbias).
MS_INLINE float chunk_sum(const float* v, int64_t n, Work& w) {
  float* p = w.lanes;
  std::fill(p, p + kLanes, 0.f);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) p[j] += v[i + j];
  for (int64_t j = 0; i + j < n; ++j) p[j] += v[i + j];
  float s;
  lane_sums(p, w.tmp, 1, &s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Kernels (always inlined into one function per ISA, see the end of this namespace). `off` is
// the chunk's offset in w's per-step arrays (0 in the forward; its place in the segment in the
// backward).

// Step inputs of processed steps [k0, k0 + nk): x = delta + bias, uu = u, dt = softplus(x) or x, dtu = dt u.
// (uu: see u_steps).
MS_INLINE void prep_chunk(const Row& r, int64_t k0, int64_t nk, Work& w, int64_t off) {
  float *x = w.x + off, *dt = w.dt + off, *dtu = w.dtu + off;
  const float* delta = steps_in(r, r.delta, k0, nk, x);
  const float* uu = steps_in(r, r.u, k0, nk, w.uu + off);
  for (int64_t i = 0; i < nk; ++i) x[i] = delta[i] + r.bias;
  if (r.softplus) {
    for (int64_t i = 0; i < nk; ++i) dt[i] = softplus_fast(x[i]);
  } else {
    for (int64_t i = 0; i < nk; ++i) dt[i] = x[i];
  }
  for (int64_t i = 0; i < nk; ++i) dtu[i] = dt[i] * uu[i];
}
// u at a chunk's steps, processed order, after prep_chunk.
MS_INLINE const float* u_steps(const Row& r, const Work& w, int64_t k0, int64_t off) {
  return r.reverse ? w.uu + off : r.u + k0;
}

// Runs processed steps [k0, k0 + nk) from state w.h (updated in place):
//   h_t = exp(dt_t A) h_{t-1} + dt_t u_t B_t;  with kY: y_t = C_t . h_t;
//   with kKeep: w.hs, w.as get h_t and exp(dt_t A) (Np floats per step, for the backward).
// NB > 0 compiles for Np = NB * kLanes with the state in registers; NB = 0 takes any Np.
template <int NB, bool kY, bool kKeep>
MS_INLINE void run_chunk_nb(const Row& r, int64_t Np_any, int64_t k0, int64_t nk, Work& w, int64_t off) {
  const int64_t Np = NB > 0 ? NB * kLanes : Np_any;
  float h_reg[NB > 0 ? NB * kLanes : 1];  // NB = 0: the state stays in w.h
  if (NB > 0) std::memcpy(h_reg, w.h, sizeof h_reg);
  const float *dt = w.dt + off, *dtu = w.dtu + off;
  float *hs = w.hs + off * Np, *as = w.as + off * Np;
  const int64_t step = (r.reverse ? -2 : 2) * Np;  // BC advances one step per processed step
  const float* Bt = r.BC + pos(r, k0) * 2 * Np;
  for (int64_t i = 0; i < nk; ++i, Bt += step) {
    const float* Ct = Bt + Np;
    const float dti = dt[i], dtui = dtu[i];
    float acc[kLanes] = {};
    for (int64_t nb = 0; nb < Np; nb += kLanes) {
      // The loop reads memory and writes locals only, so it vectorizes without alias checks.
      float h_mem[kLanes], ab[kLanes];
      float* hb = NB > 0 ? h_reg + nb : h_mem;
      if (NB == 0) std::memcpy(h_mem, w.h + nb, sizeof h_mem);
      for (int j = 0; j < kLanes; ++j) {
        ab[j] = exp_fast(dti * w.A[nb + j]);
        hb[j] = ab[j] * hb[j] + dtui * Bt[nb + j];
        if (kY) acc[j] += Ct[nb + j] * hb[j];
      }
      if (NB == 0) std::memcpy(w.h + nb, h_mem, sizeof h_mem);
      if (kKeep) {
        std::memcpy(hs + i * Np + nb, hb, sizeof h_mem);
        std::memcpy(as + i * Np + nb, ab, sizeof ab);
      }
    }
    if (kY) std::memcpy(w.lanes + i * kLanes, acc, sizeof acc);
  }
  if (NB > 0) std::memcpy(w.h, h_reg, sizeof h_reg);
  if (kY) lane_sums(w.lanes, w.tmp, nk, w.y + off);
}

template <bool kY, bool kKeep>
MS_INLINE void run_chunk(const Row& r, int64_t Np, int64_t k0, int64_t nk, Work& w, int64_t off) {
  if (Np == kLanes) {
    run_chunk_nb<1, kY, kKeep>(r, Np, k0, nk, w, off);
  } else if (Np == 2 * kLanes) {
    run_chunk_nb<2, kY, kKeep>(r, Np, k0, nk, w, off);
  } else {
    run_chunk_nb<0, kY, kKeep>(r, Np, k0, nk, w, off);
  }
}

// Steps back through a chunk that run_chunk<true, true> ran (w.hs, w.as at off hold h_t and
// exp(dt_t A)), last step first; hp0 = h before the chunk's first step. w.carried = dL/dh after the
// chunk on entry, before it on return; w.accA += sum_t g_t a_t h_{t-1} dt_t; the task's dB/dC rows
// (dBC) get their terms; w.lanes, w.lanes2 get per step the lanes of sum_n g B and of
// sum_n g A a h_{t-1}, where g = dL/dh_t. NB as for run_chunk.
template <int NB>
MS_INLINE void back_chunk_nb(const Row& r, int64_t Np_any, int64_t k0, int64_t nk, Work& w, int64_t off,
                             const float* dy, const float* hp0, float* dBC) {
  const int64_t Np = NB > 0 ? NB * kLanes : Np_any;
  float car_reg[NB > 0 ? NB * kLanes : 1], accA_reg[NB > 0 ? NB * kLanes : 1];  // NB = 0: in w
  if (NB > 0) {
    std::memcpy(car_reg, w.carried, sizeof car_reg);
    std::memcpy(accA_reg, w.accA, sizeof accA_reg);
  }
  const float *dt = w.dt + off, *dtu = w.dtu + off, *hs = w.hs + off * Np, *as = w.as + off * Np;
  const int64_t step = (r.reverse ? 2 : -2) * Np, t_last = pos(r, k0 + nk - 1);
  const float* Bt = r.BC + t_last * 2 * Np;
  float* dBt = dBC + t_last * 2 * Np;
  for (int64_t i = nk - 1; i >= 0; --i, Bt += step, dBt += step) {
    const float *Ct = Bt + Np, *hi = hs + i * Np, *ai = as + i * Np;
    const float* hp = i > 0 ? hi - Np : hp0;  // h_{t-1}
    float* dCt = dBt + Np;
    const float dyi = dy[i], dti = dt[i], dtui = dtu[i];
    float sgb[kLanes] = {}, sgah[kLanes] = {};
    for (int64_t nb = 0; nb < Np; nb += kLanes) {
      // As in run_chunk: memory is only read in the loop, results go to locals.
      float g_mem[kLanes], aA_mem[kLanes], dBb[kLanes], dCb[kLanes];
      float* g = NB > 0 ? car_reg + nb : g_mem;
      float* aA = NB > 0 ? accA_reg + nb : aA_mem;
      if (NB == 0) {
        std::memcpy(g_mem, w.carried + nb, sizeof g_mem);
        std::memcpy(aA_mem, w.accA + nb, sizeof aA_mem);
      }
      std::memcpy(dBb, dBt + nb, sizeof dBb);
      std::memcpy(dCb, dCt + nb, sizeof dCb);
      MS_INDEPENDENT
      for (int j = 0; j < kLanes; ++j) {
        const int64_t n = nb + j;
        const float gv = g[j] + Ct[n] * dyi;  // dL/dh_t
        dCb[j] += dyi * hi[n];
        dBb[j] += gv * dtui;
        const float gah = gv * ai[n] * hp[n];
        sgb[j] += gv * Bt[n];
        sgah[j] += gah * w.A[n];
        aA[j] += gah * dti;
        g[j] = ai[n] * gv;  // dL/dh_{t-1} through the recurrence
      }
      if (NB == 0) {
        std::memcpy(w.carried + nb, g_mem, sizeof g_mem);
        std::memcpy(w.accA + nb, aA_mem, sizeof aA_mem);
      }
      std::memcpy(dBt + nb, dBb, sizeof dBb);
      std::memcpy(dCt + nb, dCb, sizeof dCb);
    }
    std::memcpy(w.lanes + i * kLanes, sgb, sizeof sgb);
    std::memcpy(w.lanes2 + i * kLanes, sgah, sizeof sgah);
  }
  if (NB > 0) {
    std::memcpy(w.carried, car_reg, sizeof car_reg);
    std::memcpy(w.accA, accA_reg, sizeof accA_reg);
  }
}

MS_INLINE void back_chunk(const Row& r, int64_t Np, int64_t k0, int64_t nk, Work& w, int64_t off, const float* dy,
                          const float* hp0, float* dBC) {
  if (Np == kLanes) {
    back_chunk_nb<1>(r, Np, k0, nk, w, off, dy, hp0, dBC);
  } else if (Np == 2 * kLanes) {
    back_chunk_nb<2>(r, Np, k0, nk, w, off, dy, hp0, dBC);
  } else {
    back_chunk_nb<0>(r, Np, k0, nk, w, off, dy, hp0, dBC);
  }
}

// Forward of rows [r0, r1).
MS_INLINE void fwd_rows_impl(const Ctx& c, int64_t r0, int64_t r1) {
  const ScanDims& dm = *c.dm;
  const int64_t Np = c.Np, L = dm.len;
  Work w(Np, 0, 0);
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t d = row % dm.dim;
    const Row r = row_of(c, row / dm.dim, d);
    w.load_row(c, r, d);
    float* out = c.out + row * L;
    for (int64_t k0 = 0; k0 < r.len; k0 += K) {
      const int64_t nk = std::min(K, r.len - k0);
      prep_chunk(r, k0, nk, w, 0);
      run_chunk<true, false>(r, Np, k0, nk, w, 0);
      const float* uu = u_steps(r, w, k0, 0);
      float* o = steps_buf(r, out, k0, w.o);
      for (int64_t i = 0; i < nk; ++i) o[i] = w.y[i] + r.Dv * uu[i];
      if (r.z) {
        const float* zz = steps_in(r, r.z, k0, nk, w.zz);
        for (int64_t i = 0; i < nk; ++i) o[i] *= zz[i] * sigmoid_fast(zz[i]);
      }
      steps_out(r, o, k0, nk, out);
    }
    std::fill(out + r.len, out + L, 0.f);
    if (c.last) std::copy(w.h, w.h + dm.nstate, c.last + row * dm.nstate);
  }
}

// Backward of one chunk of a segment that run_chunk<true, true> has run (see bwd_task_impl).
MS_INLINE void bwd_chunk(const Ctx& c, const Row& r, int64_t row, int64_t k0, int64_t nk, int64_t off, Work& w,
                         float* dBC, double& accD, double& accBias) {
  const int64_t Np = c.Np, L = c.dm->len;
  // Output gate: out = (y + D u) silu(z); dy = dL/dy.
  const float* go = w.go;
  if (c.dout) {
    go = steps_in(r, c.dout + row * L, k0, nk, w.go);
  } else {
    std::fill(w.go, w.go + nk, 0.f);
  }
  const float *y = w.y + off, *uu = u_steps(r, w, k0, off), *dt = w.dt + off, *x = w.x + off;
  float* gdz = r.z ? c.g->dz.ptr<float>() + row * L : nullptr;
  float* dz = r.z ? steps_buf(r, gdz, k0, w.dz) : nullptr;
  const float* dy = go;
  if (r.z) {
    const float* zz = steps_in(r, r.z, k0, nk, w.zz);
    MS_INDEPENDENT
    for (int64_t i = 0; i < nk; ++i) {
      const float zi = zz[i], sg = sigmoid_fast(zi);
      w.dy[i] = go[i] * zi * sg;
      dz[i] = go[i] * (y[i] + r.Dv * uu[i]) * sg * (1.f + zi * (1.f - sg));
    }
    dy = w.dy;
  }
  std::fill(w.accA, w.accA + Np, 0.f);
  back_chunk(r, Np, k0, nk, w, off, dy, off > 0 ? w.hs + (off - 1) * Np : w.h0, dBC);
  for (int64_t n = 0; n < Np; ++n) w.accAd[n] += w.accA[n];
  // du = D dy + dt sum_n g B;  d dt = u sum_n g B + sum_n g A a h_{t-1};  then through softplus.
  float* gdu = c.g->du.ptr<float>() + row * L;
  float* gddelta = c.g->ddelta.ptr<float>() + row * L;
  float *du = steps_buf(r, gdu, k0, w.du), *ddt = steps_buf(r, gddelta, k0, w.ddt);
  lane_sums(w.lanes, w.tmp, nk, du);
  lane_sums(w.lanes2, w.tmp, nk, ddt);
  for (int64_t i = 0; i < nk; ++i) {
    const float sgb = du[i];
    du[i] = sgb * dt[i] + r.Dv * dy[i];
    ddt[i] += sgb * uu[i];
  }
  if (r.softplus)
    for (int64_t i = 0; i < nk; ++i) ddt[i] *= sigmoid_fast(x[i]);
  for (int64_t i = 0; i < nk; ++i) w.o[i] = dy[i] * uu[i];
  accD += chunk_sum(w.o, nk, w);
  accBias += chunk_sum(ddt, nk, w);
  steps_out(r, du, k0, nk, gdu);
  steps_out(r, ddt, k0, nk, gddelta);
  if (r.z) steps_out(r, dz, k0, nk, gdz);
}

// Backward of task (b, group, split): the split's channels of the group, into its dB/dC partial.
// Each row runs in segments of c.seg steps, last first: the segment's forward keeps h_t and
// exp(dt_t A) of every step, then its chunks step backward. A row of one segment (the usual case:
// seg is thousands of steps) runs its forward once; longer ones first run the whole forward to
// keep each segment's start state.
MS_INLINE void bwd_task_impl(const Ctx& c, int64_t task) {
  const ScanDims& dm = *c.dm;
  const int64_t Np = c.Np, N = dm.nstate, L = dm.len, G = dm.ngroups, gsize = dm.dim / G;
  const int64_t split = task % c.splits, bg = task / c.splits, b = bg / G, grp = bg % G;
  float* dBC = c.part + (split * dm.batch * G + bg) * L * 2 * Np;  // (L, 2, Np), this task's alone
  std::fill(dBC, dBC + L * 2 * Np, 0.f);
  const int64_t seg = c.seg, n_seg_max = std::max<int64_t>(1, (L + seg - 1) / seg);
  Work w(Np, seg, n_seg_max);
  const int64_t c0 = grp * gsize + split * gsize / c.splits, c1 = grp * gsize + (split + 1) * gsize / c.splits;

  for (int64_t d = c0; d < c1; ++d) {
    const Row r = row_of(c, b, d);
    const int64_t row = b * dm.dim + d;
    w.load_row(c, r, d);
    const int64_t n_seg = (r.len + seg - 1) / seg;
    if (n_seg > 1) {
      for (int64_t k0 = 0; k0 < r.len; k0 += K) {
        if (k0 % seg == 0) std::copy(w.h, w.h + Np, w.ck + k0 / seg * Np);
        prep_chunk(r, k0, std::min(K, r.len - k0), w, 0);
        run_chunk<false, false>(r, Np, k0, std::min(K, r.len - k0), w, 0);
      }
    }
    for (int64_t n = 0; n < Np; ++n) {
      w.carried[n] = n < N && c.dlast ? c.dlast[row * N + n] : 0.f;
      w.accAd[n] = 0.0;
    }
    double accD = 0, accBias = 0;
    for (int64_t sg = n_seg - 1; sg >= 0; --sg) {
      const int64_t s0 = sg * seg, s1 = std::min(r.len, s0 + seg);
      if (n_seg > 1) std::copy(w.ck + sg * Np, w.ck + sg * Np + Np, w.h);
      std::copy(w.h, w.h + Np, w.h0);
      for (int64_t k0 = s0; k0 < s1; k0 += K) {
        prep_chunk(r, k0, std::min(K, s1 - k0), w, k0 - s0);
        run_chunk<true, true>(r, Np, k0, std::min(K, s1 - k0), w, k0 - s0);
      }
      for (int64_t k0 = s0 + (s1 - s0 - 1) / K * K; k0 >= s0; k0 -= K)
        bwd_chunk(c, r, row, k0, std::min(K, s1 - k0), k0 - s0, w, dBC, accD, accBias);
    }
    for (float* gr : {c.g->du.ptr<float>(), c.g->ddelta.ptr<float>(), r.z ? c.g->dz.ptr<float>() : nullptr})
      if (gr) std::fill(gr + row * L + r.len, gr + row * L + L, 0.f);
    c.rowD[row] = accD;
    c.rowBias[row] = accBias;
    std::copy(w.accAd, w.accAd + N, c.rowA + row * N);
    if (c.in->has_init) std::copy(w.carried, w.carried + N, c.g->dinit.ptr<float>() + row * N);
  }
}

// One copy of the kernels per ISA.
void fwd_base(const Ctx& c, int64_t r0, int64_t r1) { fwd_rows_impl(c, r0, r1); }
void bwd_base(const Ctx& c, int64_t task) { bwd_task_impl(c, task); }
#ifdef MS_SCAN_X86
__attribute__((target("avx2,fma"))) void fwd_avx2(const Ctx& c, int64_t r0, int64_t r1) { fwd_rows_impl(c, r0, r1); }
__attribute__((target("avx2,fma"))) void bwd_avx2(const Ctx& c, int64_t task) { bwd_task_impl(c, task); }
__attribute__((target("avx512f,fma"))) void fwd_avx512(const Ctx& c, int64_t r0, int64_t r1) {
  fwd_rows_impl(c, r0, r1);
}
__attribute__((target("avx512f,fma"))) void bwd_avx512(const Ctx& c, int64_t task) { bwd_task_impl(c, task); }
#endif

Kernels choose() {
#ifdef MS_SCAN_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return {"avx512", fwd_avx512, bwd_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2", fwd_avx2, bwd_avx2};
#endif
  return {"baseline", fwd_base, bwd_base};
}

}  // namespace

const Kernels& kernels() {
  static const Kernels k = choose();
  return k;
}

}  // namespace scan_cpu
}  // namespace ms
