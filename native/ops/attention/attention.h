// attention.h — fused scaled-dot-product attention, forward and backward (FlashAttention-2).
//
// Glossary (FlashAttention-2 paper, Dao 2023):
//   B, H        batch, heads
//   Lq, Lk      query and key/value lengths (Lq != Lk for cross-attention)
//   Dh          head dim, 1..256 (d in the paper)
//   S = scale * q k^T          scores; never stored as an (Lq, Lk) buffer
//   P = softmax(S) over keys   probabilities; recomputed tile by tile in backward
//   lse         row log-sum-exp of S (L in the paper), saved by forward: P = exp(S - lse).
//               A row with no visible key has lse = +inf, so P = 0 there in backward too.
//   D           rowsum(dO * O) (D_i in the paper), the softmax-backward correction
//   Br, Bc      query rows and key columns of one tile
//   diag        Lk - Lq: with `causal`, query i sees keys j <= i + diag (bottom-right aligned,
//               as FlashAttention >= 2.1); rows i < -diag see no key and give 0
//   dropout p   each P_ij kept with probability 1 - p and scaled by 1 / (1 - p); the keep bit
//               is Philox(seed, offset) element ((b*H + h)*Lq + i)*Lk + j >= p, recomputed in
//               backward, never stored
//
// Shapes: q (B, H, Lq, Dh); k, v (B, H, Lk, Dh); out (B, H, Lq, Dh); lse (B, H, Lq) float32;
// key_lengths, query_lengths (B) int32: keys j >= key_lengths[b] are masked, query rows
// i >= query_lengths[b] give 0 and no gradient.
// dtypes: float32 on cpu and cuda (exact float32 arithmetic); bfloat16 on cuda (tensor cores,
// float32 accumulation and softmax).
#pragma once
#include <cstdint>

#include "../../core/philox.h"
#include "../../core/tensor.h"

namespace ms {

struct AttentionOptions {
  bool causal = false;
  double scale = 1.0;        // the TS default is 1 / sqrt(Dh)
  double dropout = 0.0;      // p in [0, 1)
  uint64_t seed = 0, offset = 0;
  bool deterministic = false;  // bitwise-reproducible backward (dQ in its own pass, no atomics)
  bool allow_tf32 = false;     // accepted; the float32 path is exact float32 either way
};

struct AttentionForward {
  Tensor out;  // (B, H, Lq, Dh), q's dtype
  Tensor lse;  // (B, H, Lq) float32
};

struct AttentionGrads {
  Tensor dq, dk, dv;
};

// Checks arguments (shapes, dtypes, devices, length ranges, options), then runs the device's
// kernels. key_lengths / query_lengths may be nullptr (all valid).
AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor* key_lengths, const Tensor* query_lengths,
                                   const AttentionOptions& o, const std::shared_ptr<Accounting>& acct);

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const Tensor* key_lengths,
                                  const Tensor* query_lengths, const AttentionOptions& o,
                                  const std::shared_ptr<Accounting>& acct);

// The parameter struct is the only interface between attention.cpp and the kernels. All
// tensors contiguous, on one device; lengths are nullptr or point at B int32 on that device.
struct AttentionParams {
  int64_t B, H, Lq, Lk, Dh;
  float scale;
  bool causal;
  float dropout;  // p
  uint64_t seed, offset;
  const int32_t* key_len;
  const int32_t* query_len;
  const void *q, *k, *v, *out;  // out is an input to backward
  float* lse;
  void* o;                      // forward output
  const void* dout;             // backward
  void *dq, *dk, *dv;
  float* delta;                 // (B, H, Lq) scratch for D
  bool deterministic;
  float* dq_acc;                // (B, H, Lq, ceil8(Dh)) float32 scratch for atomic dQ, or nullptr
};

// Whether backward needs AttentionParams::dq_acc (bfloat16 cuda, non-deterministic, Dh <= 128:
// dQ accumulated with float atomics).
bool attention_needs_dq_acc(int64_t Dh, bool deterministic);

void attention_forward_cpu(const AttentionParams& p);
void attention_backward_cpu(const AttentionParams& p);
void attention_forward_cuda(const AttentionParams& p, DType dtype);
void attention_backward_cuda(const AttentionParams& p, DType dtype);

// ---- Mask and dropout rules shared by the CPU reference and the CUDA kernels ----

// Whether query i may see key j (before the row-length mask). klen = key_lengths[b] or Lk.
MS_HD bool attn_visible(int64_t i, int64_t j, int64_t klen, bool causal, int64_t diag) {
  return j < klen && (!causal || j <= i + diag);
}

// Number of keys query i may see is min(klen, i + diag + 1) under causal: keys [0, this).
MS_HD int64_t attn_key_end(int64_t i, int64_t klen, bool causal, int64_t diag) {
  if (!causal) return klen;
  int64_t e = i + diag + 1;
  if (e < 0) e = 0;
  return e < klen ? e : klen;
}

// Dropout: true when element idx = ((b*H + h)*Lq + i)*Lk + j is kept.
MS_HD bool attn_keep(uint64_t seed, uint64_t offset, uint64_t idx, float p) {
  return philox_uniform(seed, offset, static_cast<int64_t>(idx)) >= p;
}

}  // namespace ms
