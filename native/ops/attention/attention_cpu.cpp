// attention_cpu.cpp — CPU attention, float32: per (b, h), blocks of Br query rows, each a few small
// GEMMs on the project's packed micro-kernel (ops/matmul/gemm_cpu.h) with the softmax between them.
//
// Br = NR, the micro-kernel's width (32 with AVX-512), and scores are kept transposed, S^T
// (keys, Br), so that every product has a long M (keys or Dh) and P^T is already in the packed
// B layout:  S^T = K · Q_blk^T;  O^T (Dh, Br) = V^T · P^T.  A block sees all its keys at once
// (kend x Br floats, 38 KB at 300 keys): a plain two-pass softmax per column, no online rescaling;
// the column ops run 32 lanes wide with a polynomial exp (core/cpu_math.h), compiled per ISA.
// Backward, per (b, h), blocks in order (FlashAttention-2's loop, no atomics):
//   P^T = exp(scale S^T - lse);  dP^T = V · dO_blk^T;  dS^T = P^T o (dP^T z - D)   (z: dropout)
//   dV^T += dO_blk^T · (P o z);  dK^T += Q_blk^T · dS;  dQ_blk^T = K^T · dS^T
// with dK, dV accumulated transposed (Dh, Lk) and written once at the end. Every output element
// is summed by one task in a fixed order: deterministic for any thread count.
// Masks: keys j >= key_len[b] are never multiplied (kend), causal keys per column are zeroed,
// query rows >= query_len[b] or with no visible key give 0 (lse = +inf) and no gradient.
// Dropout: keep bit of element ((b H + h) Lq + i) Lk + j from Philox (attention.h), 16 blocks of
// 4 consecutive keys per call of the lane-parallel generator.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../../core/cpu_isa.h"
#include "../../core/cpu_math.h"
#include "../../core/error.h"
#include "../../core/philox_cpu.h"
#include "../../core/thread_pool.h"
#include "../matmul/gemm_cpu.h"
#include "attention.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MS_ATTN_X86 1
#endif

namespace ms {
namespace {

using cpu_math::exp_fast;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int kMaxBr = 64;  // the widest micro-kernel strip

// Br = the micro-kernel's NR: 32 (AVX-512) or 16 (AVX2, portable); the column ops are built for both.
struct Dims {
  int64_t Lq, Lk, Dh, diag, Br;
  explicit Dims(const AttentionParams& p) : Lq(p.Lq), Lk(p.Lk), Dh(p.Dh), diag(p.Lk - p.Lq), Br(micro_kernel().nr) {
    if (Br != 16 && Br != 32) fail("attention", "CPU kernel expects a micro-kernel 16 or 32 wide, got ", Br);
  }
};

inline int64_t qlen_of(const AttentionParams& p, int64_t b) { return p.query_len ? p.query_len[b] : p.Lq; }
inline int64_t klen_of(const AttentionParams& p, int64_t b) { return p.key_len ? p.key_len[b] : p.Lk; }

// One query block: rows [i0, i0 + ncols) of head bh, ke[l] = keys row i0 + l sees (0: none or padding).
struct Block {
  int64_t bh, i0, ncols, kend;
  int32_t ke[kMaxBr];
  bool dense;  // every row of the block sees keys [0, kend)
  const int32_t* mask() const { return dense ? nullptr : ke; }
};

Block block_of(const AttentionParams& p, const Dims& d, int64_t bh, int64_t i0) {
  Block k;
  k.bh = bh;
  k.i0 = i0;
  k.ncols = std::min(d.Br, d.Lq - i0);
  k.kend = 0;
  const int64_t b = bh / p.H, qlen = qlen_of(p, b), klen = klen_of(p, b);
  for (int64_t l = 0; l < d.Br; ++l) {
    const int64_t i = i0 + l;
    k.ke[l] = static_cast<int32_t>((l < k.ncols && i < qlen) ? attn_key_end(i, klen, p.causal, d.diag) : 0);
    k.kend = std::max<int64_t>(k.kend, k.ke[l]);
  }
  k.dense = true;
  for (int64_t l = 0; l < k.ncols; ++l) k.dense = k.dense && k.ke[l] == k.kend;
  return k;
}

// z[j * Br + l] = dropout factor (0 or 1 / (1 - p)) of element (row i0 + l, key j), j < ke[l]:
// the row's Philox blocks (4 consecutive keys each) 16 at a time (core/philox_cpu.h).
void dropout_factors(const AttentionParams& p, const Dims& d, const Block& k, float* z) {
  const float keep = 1.0f / (1.0f - p.dropout);
  for (int64_t j = 0; j < k.kend; ++j)  // lanes past the rows: 0 (a dense block multiplies them)
    for (int64_t l = k.ncols; l < d.Br; ++l) z[j * d.Br + l] = 0.f;
  for (int64_t l = 0; l < k.ncols; ++l) {
    if (k.ke[l] == 0) continue;
    const uint64_t base = (static_cast<uint64_t>(k.bh) * d.Lq + k.i0 + l) * d.Lk;  // element of key 0
    const uint64_t b0 = base / 4, b1 = (base + k.ke[l] - 1) / 4;                  // blocks touched
    for (uint64_t b = b0; b <= b1; b += 16) {
      uint32_t w[4][16];
      philox4x32_10_x16(p.offset + b, p.seed, w);
      for (int lane = 0; lane < 16; ++lane)
        for (int word = 0; word < 4; ++word) {
          const uint64_t idx = 4 * (b + lane) + word;
          if (idx < base || idx >= base + static_cast<uint64_t>(k.ke[l])) continue;
          z[(idx - base) * d.Br + l] = philox_word_uniform(w[word][lane]) >= p.dropout ? keep : 0.0f;
        }
    }
  }
}

// ---- Column ops on a (kend, Br) block, one lane per query row; compiled once per ISA. The lane
// count is a template constant and the loops fixed-width, so each j row is a few vector ops.

// s (scores) -> P = exp(scale s - m) on visible entries, 0 elsewhere; m, l per lane; then
// z applied (P~ = P z) when given, l summing P before dropout (the normaliser). Entries off the
// visible range (and z there) may hold anything: they are selected away, never multiplied.
template <int BR, bool Z, bool DENSE>
MS_INLINE void softmax_cols_t(float* __restrict s, int64_t kend, const int32_t* __restrict ke, float scale,
                              const float* __restrict z, float* __restrict m_out, float* __restrict l_out) {
  float m[BR], l[BR];
  int32_t kv[BR];
  for (int c = 0; c < BR; ++c) m[c] = -kInf, l[c] = 0.f, kv[c] = DENSE ? 0 : ke[c];
  for (int32_t j = 0; j < static_cast<int32_t>(kend); ++j) {
    const float* row = s + j * BR;
    for (int c = 0; c < BR; ++c) {
      const float x = row[c] * scale;
      m[c] = ((DENSE || j < kv[c]) && x > m[c]) ? x : m[c];
    }
  }
  for (int32_t j = 0; j < static_cast<int32_t>(kend); ++j) {
    float* row = s + j * BR;
    for (int c = 0; c < BR; ++c) {
      const float e = exp_fast(row[c] * scale - m[c]);
      if (DENSE) {
        l[c] += e;
        row[c] = Z ? e * z[j * BR + c] : e;
      } else {
        const bool vis = j < kv[c];
        l[c] += vis ? e : 0.f;
        row[c] = vis ? (Z ? e * z[j * BR + c] : e) : 0.f;
      }
    }
  }
  for (int c = 0; c < BR; ++c) m_out[c] = m[c], l_out[c] = l[c];
}

// s (scores) -> P = exp(scale s - lse) (backward, from the saved lse), 0 off the visible entries.
template <int BR, bool DENSE>
MS_INLINE void probs_cols_t(float* __restrict s, int64_t kend, const int32_t* __restrict ke, float scale,
                            const float* __restrict lse) {
  float ls[BR];
  int32_t kv[BR];
  for (int c = 0; c < BR; ++c) ls[c] = lse[c], kv[c] = DENSE ? 0 : ke[c];
  for (int32_t j = 0; j < static_cast<int32_t>(kend); ++j) {
    float* row = s + j * BR;
    for (int c = 0; c < BR; ++c) {
      const float e = exp_fast(row[c] * scale - ls[c]);
      row[c] = (DENSE || j < kv[c]) ? e : 0.f;
    }
  }
}

// dp (dP^T) -> dS^T = P (dP z - D); p (P^T) -> P~ = P z when dropout is on.
template <int BR, bool Z, bool DENSE>
MS_INLINE void dscores_cols_t(float* __restrict p, float* __restrict dp, int64_t kend, const int32_t* __restrict ke,
                              const float* __restrict z, const float* __restrict Din) {
  float D[BR];
  int32_t kv[BR];
  for (int c = 0; c < BR; ++c) D[c] = Din[c], kv[c] = DENSE ? 0 : ke[c];
  for (int32_t j = 0; j < static_cast<int32_t>(kend); ++j) {
    float* pr = p + j * BR;
    float* dr = dp + j * BR;
    for (int c = 0; c < BR; ++c) {
      const bool vis = DENSE || j < kv[c];
      const float zz = Z ? z[j * BR + c] : 1.f;
      const float ds = pr[c] * (dr[c] * zz - D[c]);
      dr[c] = vis ? ds : 0.f;
      if (Z) pr[c] = vis ? pr[c] * zz : 0.f;
    }
  }
}

// ke == nullptr: every lane sees keys [0, kend) (no causal or per-row mask in the block): no
// selects in the loops. Lanes past the block's rows then hold finite junk (zero scores), unused.
template <int BR>
MS_INLINE void softmax_cols_br(float* s, int64_t kend, const int32_t* ke, float scale, const float* z, float* m, float* l) {
  if (!ke) {
    if (z) softmax_cols_t<BR, true, true>(s, kend, ke, scale, z, m, l);
    else softmax_cols_t<BR, false, true>(s, kend, ke, scale, z, m, l);
  } else {
    if (z) softmax_cols_t<BR, true, false>(s, kend, ke, scale, z, m, l);
    else softmax_cols_t<BR, false, false>(s, kend, ke, scale, z, m, l);
  }
}
template <int BR>
MS_INLINE void dscores_cols_br(float* p, float* dp, int64_t kend, const int32_t* ke, const float* z, const float* D) {
  if (!ke) {
    if (z) dscores_cols_t<BR, true, true>(p, dp, kend, ke, z, D);
    else dscores_cols_t<BR, false, true>(p, dp, kend, ke, z, D);
  } else {
    if (z) dscores_cols_t<BR, true, false>(p, dp, kend, ke, z, D);
    else dscores_cols_t<BR, false, false>(p, dp, kend, ke, z, D);
  }
}
MS_INLINE void softmax_cols_impl(float* s, int64_t kend, int64_t Br, const int32_t* ke, float scale, const float* z,
                                 float* m, float* l) {
  if (Br == 32) softmax_cols_br<32>(s, kend, ke, scale, z, m, l);
  else softmax_cols_br<16>(s, kend, ke, scale, z, m, l);
}
MS_INLINE void probs_cols_impl(float* s, int64_t kend, int64_t Br, const int32_t* ke, float scale, const float* lse) {
  if (Br == 32) {
    if (ke) probs_cols_t<32, false>(s, kend, ke, scale, lse);
    else probs_cols_t<32, true>(s, kend, ke, scale, lse);
  } else {
    if (ke) probs_cols_t<16, false>(s, kend, ke, scale, lse);
    else probs_cols_t<16, true>(s, kend, ke, scale, lse);
  }
}
MS_INLINE void dscores_cols_impl(float* p, float* dp, int64_t kend, int64_t Br, const int32_t* ke, const float* z,
                                 const float* D) {
  if (Br == 32) dscores_cols_br<32>(p, dp, kend, ke, z, D);
  else dscores_cols_br<16>(p, dp, kend, ke, z, D);
}

struct ColumnOps {
  void (*softmax)(float*, int64_t, int64_t, const int32_t*, float, const float*, float*, float*);
  void (*probs)(float*, int64_t, int64_t, const int32_t*, float, const float*);
  void (*dscores)(float*, float*, int64_t, int64_t, const int32_t*, const float*, const float*);
};
#define MS_ATTN_COLUMN_OPS(suffix, attr)                                                                         \
  attr void softmax_##suffix(float* s, int64_t n, int64_t Br, const int32_t* ke, float sc, const float* z,      \
                             float* m, float* l) {                                                               \
    softmax_cols_impl(s, n, Br, ke, sc, z, m, l);                                                                \
  }                                                                                                              \
  attr void probs_##suffix(float* s, int64_t n, int64_t Br, const int32_t* ke, float sc, const float* lse) {    \
    probs_cols_impl(s, n, Br, ke, sc, lse);                                                                      \
  }                                                                                                              \
  attr void dscores_##suffix(float* p, float* dp, int64_t n, int64_t Br, const int32_t* ke, const float* z,     \
                             const float* D) {                                                                   \
    dscores_cols_impl(p, dp, n, Br, ke, z, D);                                                                   \
  }
MS_ATTN_COLUMN_OPS(base, )
#ifdef MS_ATTN_X86
MS_ATTN_COLUMN_OPS(avx2, __attribute__((target("avx2,fma"))))
MS_ATTN_COLUMN_OPS(avx512, __attribute__((target("avx512f,fma"))))
#endif

const ColumnOps& column_ops() {
  static const ColumnOps ops = [] {
#ifdef MS_ATTN_X86
    if (cpu_isa() == CpuIsa::Avx512) return ColumnOps{softmax_avx512, probs_avx512, dscores_avx512};
    if (cpu_isa() == CpuIsa::Avx2) return ColumnOps{softmax_avx2, probs_avx2, dscores_avx2};
#endif
    return ColumnOps{softmax_base, probs_base, dscores_base};
  }();
  return ops;
}

// ---- GEMM pieces. Every A here is (rows, Dh) row-major or its transpose; B = Q_blk^T or a
// (kend, Br) block that is already in the packed layout (Br = NR).

// C (M, Br) = A (M, Dh), prepacked, · X_blk^T where X_blk = rows [i0, i0 + ncols) of X (L, Dh);
// columns past ncols come out 0 (the packed strip is zero-padded).
void times_rows_t(const gemm::PackedA& A, int64_t M, const float* x_blk, int64_t ncols, int64_t Dh, float* c, int64_t Br) {
  gemm::gemm_serial(
      M, Br, Dh, [&](int64_t m0, int64_t, int64_t k0, int64_t, float*) { return A.at(m0, k0); },
      [&](int64_t k0, int64_t kc, int64_t, int64_t, float* buf) {
        gemm::pack_b(x_blk, 1, Dh, k0, kc, 0, ncols, static_cast<int>(Br), buf);
        return static_cast<const float*>(buf);
      },
      c, Br, false, nullptr, Br);
}

// C (Dh, Br) = A (Dh, kend) · blk (kend, Br): A = Y^T of a (L, Dh) Y, prepacked; blk in the packed B layout.
void t_times_block(const gemm::PackedA& A, int64_t Dh, const float* blk, int64_t kend, float* c, int64_t Br) {
  gemm::gemm_serial(
      Dh, Br, kend, [&](int64_t m0, int64_t, int64_t k0, int64_t, float*) { return A.at(m0, k0); },
      [&](int64_t k0, int64_t, int64_t, int64_t, float*) { return blk + k0 * Br; }, c, Br, false, nullptr, Br);
}

// C (Dh, kend) += X_blk^T (Dh, ncols) · blk^T (ncols, kend), blk (kend, Br); C row stride ldc.
void t_times_block_t(const float* x_blk, int64_t Dh, int64_t ncols, const float* blk, int64_t kend, int64_t Br,
                     float* c, int64_t ldc) {
  const int mr = micro_kernel().mr, nr = micro_kernel().nr;
  gemm::gemm_serial(
      Dh, kend, ncols,
      [&](int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* buf) {
        gemm::pack_a(x_blk, 1, Dh, m0, mc, k0, kc, mr, buf);
        return gemm::Panel{buf, kc};
      },
      [&](int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* buf) {
        gemm::pack_b(blk, 1, Br, k0, kc, n0, nc, nr, buf);
        return static_cast<const float*>(buf);
      },
      c, ldc, true);
}

// Per-thread workspace for one head: carved from thread buffer 2. kp: K as A (keys, Dh); tp: V^T
// (forward) or K^T (backward) as A (Dh, keys); vp: V as A (backward).
struct Work {
  float *kp, *tp, *vp, *s, *dp, *z, *ot, *dkt, *dvt;
  gemm::PackedA K, T, V;
};
Work workspace(const Dims& d, bool backward) {
  const int64_t Lp = gemm::round_up(std::max<int64_t>(d.Lk, 1), micro_kernel().mr);
  // Every part starts on a 64-byte boundary: the micro-kernel loads packed strips aligned.
  const auto al = [](size_t n) { return (n + 15) / 16 * 16; };
  const size_t pk = al(gemm::packed_a_size(d.Lk, d.Dh)), pt = al(gemm::packed_a_size(d.Dh, d.Lk));
  const size_t blk = al(static_cast<size_t>(Lp * d.Br)), ot = al(static_cast<size_t>(d.Dh * d.Br));
  const size_t acc = al(static_cast<size_t>(d.Dh * d.Lk));
  float* base = thread_buffer(2, backward ? 2 * pk + pt + 3 * blk + ot + 2 * acc : pk + pt + 2 * blk + ot);
  Work w;
  w.kp = base;
  w.tp = w.kp + pk;
  w.vp = backward ? w.tp + pt : nullptr;
  w.s = backward ? w.vp + pk : w.tp + pt;
  w.z = w.s + blk;
  w.dp = backward ? w.z + blk : nullptr;
  w.ot = (backward ? w.dp : w.z) + blk;
  w.dkt = backward ? w.ot + ot : nullptr;
  w.dvt = backward ? w.dkt + acc : nullptr;
  return w;
}

// Query blocks [qb0, qb1) of head bh: K packed once for all of them.
void forward_blocks(const AttentionParams& p, const Dims& d, int64_t bh, int64_t qb0, int64_t qb1) {
  const int64_t Dh = d.Dh, Br = d.Br;
  const float* q = static_cast<const float*>(p.q) + bh * d.Lq * Dh;  // (Lq, Dh)
  const float* k = static_cast<const float*>(p.k) + bh * d.Lk * Dh;  // (Lk, Dh)
  const float* v = static_cast<const float*>(p.v) + bh * d.Lk * Dh;  // (Lk, Dh)
  float* out = static_cast<float*>(p.o) + bh * d.Lq * Dh;            // (Lq, Dh)
  float* lse = p.lse + bh * d.Lq;                                     // (Lq)
  Work w = workspace(d, false);
  // K and V^T packed once for every block, as far as the furthest-seeing block reads.
  int64_t kmax = 0;
  for (int64_t qb = qb0; qb < qb1; ++qb) kmax = std::max(kmax, block_of(p, d, bh, qb * Br).kend);
  if (kmax > 0) {
    w.K = gemm::pack_a_all(k, Dh, 1, kmax, Dh, w.kp);  // (keys, Dh)
    w.T = gemm::pack_a_all(v, 1, Dh, Dh, kmax, w.tp);  // V^T (Dh, keys)
  }
  for (int64_t qb = qb0; qb < qb1; ++qb) {
    const int64_t i0 = qb * Br;
    const Block blk = block_of(p, d, bh, i0);
    float m[kMaxBr], l[kMaxBr];
    std::fill(l, l + Br, 0.f);
    if (blk.kend > 0) {
      times_rows_t(w.K, blk.kend, q + i0 * Dh, blk.ncols, Dh, w.s, Br);  // S^T (kend, Br)
      if (p.dropout > 0.f) dropout_factors(p, d, blk, w.z);
      column_ops().softmax(w.s, blk.kend, Br, blk.mask(), p.scale, p.dropout > 0.f ? w.z : nullptr, m, l);
      t_times_block(w.T, Dh, w.s, blk.kend, w.ot, Br);  // O^T (Dh, Br) = V^T P~^T
    }
    for (int64_t c = 0; c < blk.ncols; ++c) {
      float* o = out + (i0 + c) * Dh;
      if (l[c] == 0.f) {  // padded query row, or no visible key
        std::fill(o, o + Dh, 0.f);
        lse[i0 + c] = kInf;
        continue;
      }
      const float inv = 1.0f / l[c];
      for (int64_t t = 0; t < Dh; ++t) o[t] = w.ot[t * Br + c] * inv;
      lse[i0 + c] = m[c] + std::log(l[c]);
    }
  }
}

void backward_head(const AttentionParams& p, const Dims& d, int64_t bh) {
  const int64_t Dh = d.Dh, Br = d.Br, b = bh / p.H, klen = klen_of(p, b);
  const float* q = static_cast<const float*>(p.q) + bh * d.Lq * Dh;
  const float* k = static_cast<const float*>(p.k) + bh * d.Lk * Dh;
  const float* v = static_cast<const float*>(p.v) + bh * d.Lk * Dh;
  const float* o = static_cast<const float*>(p.out) + bh * d.Lq * Dh;
  const float* dout = static_cast<const float*>(p.dout) + bh * d.Lq * Dh;
  const float* lse = p.lse + bh * d.Lq;
  float* dq = static_cast<float*>(p.dq) + bh * d.Lq * Dh;
  float* dk = static_cast<float*>(p.dk) + bh * d.Lk * Dh;
  float* dv = static_cast<float*>(p.dv) + bh * d.Lk * Dh;
  const bool drop = p.dropout > 0.f;
  Work w = workspace(d, true);
  std::fill(w.dkt, w.dkt + Dh * d.Lk, 0.f);
  std::fill(w.dvt, w.dvt + Dh * d.Lk, 0.f);
  const int64_t kmax = std::min(klen, d.Lk);
  if (kmax > 0) {
    w.K = gemm::pack_a_all(k, Dh, 1, kmax, Dh, w.kp);  // (keys, Dh)
    w.V = gemm::pack_a_all(v, Dh, 1, kmax, Dh, w.vp);  // (keys, Dh)
    w.T = gemm::pack_a_all(k, 1, Dh, Dh, kmax, w.tp);  // K^T (Dh, keys)
  }
  for (int64_t i0 = 0; i0 < d.Lq; i0 += Br) {
    const Block blk = block_of(p, d, bh, i0);
    float* dqb = dq + i0 * Dh;
    if (blk.kend == 0) {
      std::fill(dqb, dqb + blk.ncols * Dh, 0.f);
      continue;
    }
    // D_i = dO_i . O_i (rowsum(P~ o dP) without forming it); lse of dead lanes is unused.
    float D[kMaxBr], ls[kMaxBr];
    for (int64_t c = 0; c < Br; ++c) {
      D[c] = 0.f;
      ls[c] = c < blk.ncols ? lse[i0 + c] : 0.f;
      if (c < blk.ncols && blk.ke[c] > 0)
        for (int64_t t = 0; t < Dh; ++t) D[c] += dout[(i0 + c) * Dh + t] * o[(i0 + c) * Dh + t];
    }
    times_rows_t(w.K, blk.kend, q + i0 * Dh, blk.ncols, Dh, w.s, Br);      // S^T
    column_ops().probs(w.s, blk.kend, Br, blk.mask(), p.scale, ls);      // P^T
    times_rows_t(w.V, blk.kend, dout + i0 * Dh, blk.ncols, Dh, w.dp, Br);  // dP^T
    if (drop) dropout_factors(p, d, blk, w.z);
    column_ops().dscores(w.s, w.dp, blk.kend, Br, blk.mask(), drop ? w.z : nullptr, D);  // dS^T; P~^T
    t_times_block_t(dout + i0 * Dh, Dh, blk.ncols, w.s, blk.kend, Br, w.dvt, d.Lk);  // dV^T += dO^T P~
    t_times_block_t(q + i0 * Dh, Dh, blk.ncols, w.dp, blk.kend, Br, w.dkt, d.Lk);    // dK^T += Q^T dS
    t_times_block(w.T, Dh, w.dp, blk.kend, w.ot, Br);                                // dQ^T = K^T dS^T
    for (int64_t c = 0; c < blk.ncols; ++c)
      for (int64_t t = 0; t < Dh; ++t) dqb[c * Dh + t] = w.ot[t * Br + c] * p.scale;
  }
  for (int64_t j = 0; j < d.Lk; ++j)
    for (int64_t t = 0; t < Dh; ++t) {
      dk[j * Dh + t] = w.dkt[t * d.Lk + j] * p.scale;
      dv[j * Dh + t] = w.dvt[t * d.Lk + j];
    }
}

}  // namespace

void attention_forward_cpu(const AttentionParams& p) {
  const Dims d(p);
  const int64_t nq = (p.Lq + d.Br - 1) / d.Br, BH = p.B * p.H;
  // One task per head (K packed once), or per run of query blocks when there are few heads.
  const int64_t split = std::min<int64_t>(nq, std::max<int64_t>(1, (2 * num_threads() + BH - 1) / std::max<int64_t>(BH, 1)));
  const int64_t run = (nq + split - 1) / std::max<int64_t>(split, 1);
  parallel_for(BH * split, 1, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; ++t) {
      const int64_t qb0 = (t % split) * run;
      forward_blocks(p, d, t / split, qb0, std::min(nq, qb0 + run));
    }
  });
}

void attention_backward_cpu(const AttentionParams& p) {
  const Dims d(p);
  parallel_for(p.B * p.H, 1, [&](int64_t s, int64_t e) {
    for (int64_t bh = s; bh < e; ++bh) backward_head(p, d, bh);
  });
}

}  // namespace ms
