// attention_cpu.cpp — the readable reference: FlashAttention-2 tiling on the CPU, float32.
//
// Forward: one task per (b, h, block of kBr query rows); key blocks of kBc columns stream
// through with an online softmax (running max m, running sum l), so the (Lq, Lk) matrix never
// exists. Backward: D = rowsum(dO * O); then one task per (b, h, key block) accumulates dK, dV
// over the query rows that see it, and one task per (b, h, query block) accumulates dQ over the
// keys it sees. Each output element is summed by one task in a fixed order: bitwise
// deterministic. Inner loops run over a contiguous axis without reductions (K and V blocks are
// transposed to (Dh, kBc)), so -O3 vectorises them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../core/thread_pool.h"
#include "attention.h"

namespace ms {
namespace {

constexpr int64_t kBr = 32;  // query rows per task: 32 x 256 x 4 B = 32 KiB of q, in L1/L2
constexpr int64_t kBc = 64;  // keys per block: two (256, 64) float tiles = 128 KiB, in L2
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Dims {
  int64_t H, Lq, Lk, Dh, diag;
  explicit Dims(const AttentionParams& p) : H(p.H), Lq(p.Lq), Lk(p.Lk), Dh(p.Dh), diag(p.Lk - p.Lq) {}
};

inline int64_t qlen_of(const AttentionParams& p, int64_t b) { return p.query_len ? p.query_len[b] : p.Lq; }
inline int64_t klen_of(const AttentionParams& p, int64_t b) { return p.key_len ? p.key_len[b] : p.Lk; }

// xt (Dh, n) = x rows [j0, j0 + n) transposed; x is (L, Dh) row-major.
void transpose_block(const float* x, int64_t j0, int64_t n, int64_t Dh, float* xt) {
  for (int64_t c = 0; c < n; ++c)
    for (int64_t d = 0; d < Dh; ++d) xt[d * kBc + c] = x[(j0 + c) * Dh + d];
}

// s[c] = row . xt[:, c] for c < n (xt has row stride kBc).
void row_dots(const float* row, const float* xt, int64_t n, int64_t Dh, float* s) {
  for (int64_t c = 0; c < n; ++c) s[c] = 0.0f;
  for (int64_t d = 0; d < Dh; ++d) {
    const float a = row[d];
    const float* x = xt + d * kBc;
    for (int64_t c = 0; c < n; ++c) s[c] += a * x[c];
  }
}

inline void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t d = 0; d < n; ++d) y[d] += a * x[d];
}

// Dropout factor of element (bh, i, j): 0 or 1 / (1 - p).
inline float drop_factor(const AttentionParams& p, int64_t bh, int64_t i, int64_t j) {
  const uint64_t idx = (static_cast<uint64_t>(bh) * p.Lq + i) * p.Lk + j;
  return attn_keep(p.seed, p.offset, idx, p.dropout) ? 1.0f / (1.0f - p.dropout) : 0.0f;
}

// One (b, h, query block): out rows [i0, i0 + kBr) and their lse.
void forward_block(const AttentionParams& p, int64_t bh, int64_t i0) {
  const Dims d(p);
  const int64_t b = bh / d.H, Dh = d.Dh;
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b);
  const int64_t i1 = std::min(i0 + kBr, d.Lq);
  const float* q = static_cast<const float*>(p.q) + bh * d.Lq * Dh;  // (Lq, Dh)
  const float* k = static_cast<const float*>(p.k) + bh * d.Lk * Dh;  // (Lk, Dh)
  const float* v = static_cast<const float*>(p.v) + bh * d.Lk * Dh;  // (Lk, Dh)
  float* out = static_cast<float*>(p.o) + bh * d.Lq * Dh;            // (Lq, Dh)
  float* lse = p.lse + bh * d.Lq;                                     // (Lq)
  const bool drop = p.dropout > 0.0f;

  std::vector<float> acc(kBr * Dh, 0.0f), m(kBr, -kInf), l(kBr, 0.0f);
  std::vector<float> kt(Dh * kBc), s(kBc);
  const int64_t rows_end = std::min(i1, qlen);  // rows >= qlen give 0
  int64_t kend = 0;                             // keys any row of the block sees: [0, kend)
  for (int64_t i = i0; i < rows_end; ++i) kend = std::max(kend, attn_key_end(i, klen, p.causal, d.diag));

  for (int64_t j0 = 0; j0 < kend; j0 += kBc) {
    const int64_t nc = std::min(kBc, kend - j0);
    transpose_block(k, j0, nc, Dh, kt.data());
    for (int64_t i = i0; i < rows_end; ++i) {
      const int64_t r = i - i0;
      const int64_t n = std::min(nc, attn_key_end(i, klen, p.causal, d.diag) - j0);  // visible in block
      if (n <= 0) continue;
      row_dots(q + i * Dh, kt.data(), n, Dh, s.data());
      float mx = m[r];
      for (int64_t c = 0; c < n; ++c) mx = std::max(mx, s[c] * p.scale);
      const float corr = std::exp(m[r] - mx);  // 0 on the first visible block (m = -inf)
      float* a = acc.data() + r * Dh;
      for (int64_t t = 0; t < Dh; ++t) a[t] *= corr;
      float sum = 0.0f;
      for (int64_t c = 0; c < n; ++c) {
        float pr = std::exp(s[c] * p.scale - mx);
        sum += pr;
        if (drop) pr *= drop_factor(p, bh, i, j0 + c);
        axpy(pr, v + (j0 + c) * Dh, a, Dh);
      }
      l[r] = l[r] * corr + sum;
      m[r] = mx;
    }
  }
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t r = i - i0;
    float* o = out + i * Dh;
    if (i >= rows_end || l[r] == 0.0f) {  // padded query row, or no visible key
      for (int64_t t = 0; t < Dh; ++t) o[t] = 0.0f;
      lse[i] = kInf;
      continue;
    }
    const float inv = 1.0f / l[r];
    for (int64_t t = 0; t < Dh; ++t) o[t] = acc[r * Dh + t] * inv;
    lse[i] = m[r] + std::log(l[r]);
  }
}

// dK, dV rows [j0, j0 + kBc) of one (b, h).
void backward_kv_block(const AttentionParams& p, int64_t bh, int64_t j0) {
  const Dims d(p);
  const int64_t b = bh / d.H, Dh = d.Dh;
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b);
  const float* q = static_cast<const float*>(p.q) + bh * d.Lq * Dh;
  const float* k = static_cast<const float*>(p.k) + bh * d.Lk * Dh;
  const float* v = static_cast<const float*>(p.v) + bh * d.Lk * Dh;
  const float* dout = static_cast<const float*>(p.dout) + bh * d.Lq * Dh;
  const float* lse = p.lse + bh * d.Lq;
  const float* D = p.delta + bh * d.Lq;
  float* dk = static_cast<float*>(p.dk) + bh * d.Lk * Dh;
  float* dv = static_cast<float*>(p.dv) + bh * d.Lk * Dh;
  const bool drop = p.dropout > 0.0f;

  const int64_t j1 = std::min(j0 + kBc, d.Lk);
  const int64_t nc = std::max<int64_t>(0, std::min(j1, klen) - j0);  // keys >= klen get 0
  std::vector<float> dk_acc(kBc * Dh, 0.0f), dv_acc(kBc * Dh, 0.0f);
  if (nc > 0) {
    std::vector<float> kt(Dh * kBc), vt(Dh * kBc), s(kBc), dp(kBc);
    transpose_block(k, j0, nc, Dh, kt.data());
    transpose_block(v, j0, nc, Dh, vt.data());
    // First query row that sees key j0: i + diag >= j0 under causal.
    const int64_t i_begin = p.causal ? std::max<int64_t>(0, j0 - d.diag) : 0;
    for (int64_t i = i_begin; i < qlen; ++i) {
      const int64_t n = std::min(nc, attn_key_end(i, klen, p.causal, d.diag) - j0);
      if (n <= 0) continue;
      const float* qi = q + i * Dh;
      const float* doi = dout + i * Dh;
      row_dots(qi, kt.data(), n, Dh, s.data());
      row_dots(doi, vt.data(), n, Dh, dp.data());
      for (int64_t c = 0; c < n; ++c) {
        const float pr = std::exp(s[c] * p.scale - lse[i]);  // P_ij
        const float z = drop ? drop_factor(p, bh, i, j0 + c) : 1.0f;
        axpy(pr * z, doi, dv_acc.data() + c * Dh, Dh);       // dV_j += P~_ij dO_i
        const float ds = pr * (dp[c] * z - D[i]);            // dS_ij
        axpy(ds, qi, dk_acc.data() + c * Dh, Dh);            // dK_j += dS_ij q_i (x scale below)
      }
    }
  }
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t c = j - j0;
    for (int64_t t = 0; t < Dh; ++t) {
      dk[j * Dh + t] = dk_acc[c * Dh + t] * p.scale;
      dv[j * Dh + t] = dv_acc[c * Dh + t];
    }
  }
}

// dQ rows [i0, i0 + kBr) of one (b, h).
void backward_q_block(const AttentionParams& p, int64_t bh, int64_t i0) {
  const Dims d(p);
  const int64_t b = bh / d.H, Dh = d.Dh;
  const int64_t qlen = qlen_of(p, b), klen = klen_of(p, b);
  const float* q = static_cast<const float*>(p.q) + bh * d.Lq * Dh;
  const float* k = static_cast<const float*>(p.k) + bh * d.Lk * Dh;
  const float* v = static_cast<const float*>(p.v) + bh * d.Lk * Dh;
  const float* dout = static_cast<const float*>(p.dout) + bh * d.Lq * Dh;
  const float* lse = p.lse + bh * d.Lq;
  const float* D = p.delta + bh * d.Lq;
  float* dq = static_cast<float*>(p.dq) + bh * d.Lq * Dh;
  const bool drop = p.dropout > 0.0f;

  const int64_t i1 = std::min(i0 + kBr, d.Lq);
  const int64_t rows_end = std::min(i1, qlen);
  std::vector<float> acc(kBr * Dh, 0.0f), kt(Dh * kBc), vt(Dh * kBc), s(kBc), dp(kBc);
  int64_t kend = 0;
  for (int64_t i = i0; i < rows_end; ++i) kend = std::max(kend, attn_key_end(i, klen, p.causal, d.diag));
  for (int64_t j0 = 0; j0 < kend; j0 += kBc) {
    const int64_t nc = std::min(kBc, kend - j0);
    transpose_block(k, j0, nc, Dh, kt.data());
    transpose_block(v, j0, nc, Dh, vt.data());
    for (int64_t i = i0; i < rows_end; ++i) {
      const int64_t n = std::min(nc, attn_key_end(i, klen, p.causal, d.diag) - j0);
      if (n <= 0) continue;
      row_dots(q + i * Dh, kt.data(), n, Dh, s.data());
      row_dots(dout + i * Dh, vt.data(), n, Dh, dp.data());
      float* a = acc.data() + (i - i0) * Dh;
      for (int64_t c = 0; c < n; ++c) {
        const float pr = std::exp(s[c] * p.scale - lse[i]);
        const float z = drop ? drop_factor(p, bh, i, j0 + c) : 1.0f;
        axpy(pr * (dp[c] * z - D[i]), k + (j0 + c) * Dh, a, Dh);  // dQ_i += dS_ij k_j
      }
    }
  }
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t t = 0; t < Dh; ++t) dq[i * Dh + t] = acc[(i - i0) * Dh + t] * p.scale;
}

}  // namespace

void attention_forward_cpu(const AttentionParams& p) {
  const int64_t nq = (p.Lq + kBr - 1) / kBr;
  parallel_for(p.B * p.H * nq, 1, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; ++t) forward_block(p, t / nq, (t % nq) * kBr);
  });
}

void attention_backward_cpu(const AttentionParams& p) {
  const int64_t Dh = p.Dh, BH = p.B * p.H;
  // D_i = rowsum(dO_i * O_i): the softmax-backward term, also right under dropout
  // (rowsum(P~ o dP) = dO_i . O_i). Padded rows have O = 0, so D = 0 there.
  parallel_for(BH * p.Lq, std::max<int64_t>(1, 16384 / Dh), [&](int64_t s, int64_t e) {
    const float* o = static_cast<const float*>(p.out);
    const float* dout = static_cast<const float*>(p.dout);
    for (int64_t r = s; r < e; ++r) {
      float acc = 0.0f;
      for (int64_t t = 0; t < Dh; ++t) acc += o[r * Dh + t] * dout[r * Dh + t];
      p.delta[r] = acc;
    }
  });
  const int64_t nk = (p.Lk + kBc - 1) / kBc;
  parallel_for(BH * nk, 1, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; ++t) backward_kv_block(p, t / nk, (t % nk) * kBc);
  });
  const int64_t nq = (p.Lq + kBr - 1) / kBr;
  parallel_for(BH * nq, 1, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; ++t) backward_q_block(p, t / nq, (t % nq) * kBr);
  });
}

}  // namespace ms
