// attention.cpp — argument checks and device dispatch for the fused attention op.
#include "attention.h"

#include <cmath>
#include <vector>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../copy/copy.h"

namespace ms {
namespace {

constexpr const char* kOp = "attention";

void check_4d(const char* name, const Tensor& t) {
  if (t.ndim() != 4)
    fail(kOp, name, " must have 4 dims (B, H, L, Dh), got shape ", shape_str(t.shape));
}

void check_shape(const char* name, const Tensor& t, const std::vector<int64_t>& want, const char* form) {
  if (t.shape != want)
    fail(kOp, name, " must have shape ", form, " = ", shape_str(want), ", got ", shape_str(t.shape));
}

void check_same(const char* name, const Tensor& t, const Tensor& q) {
  if (t.device != q.device)
    fail(kOp, name, " is on ", device_name(t.device), " but q is on ", device_name(q.device),
         "; move it with .to()");
  if (t.dtype != q.dtype)
    fail(kOp, name, " has dtype ", dtype_name(t.dtype), " but q has ", dtype_name(q.dtype),
         "; convert it with .to(dtype)");
}

// Checks a lengths tensor: int32, shape (B), on q's device, every value in [0, max]. The values
// are read to the host (B int32: a few microseconds, one stream sync on cuda) so that a bad
// length is an error here and never an out-of-range read in a kernel.
Tensor check_lengths(const char* name, const Tensor* t, int64_t B, int64_t max, const Tensor& q,
                     const std::shared_ptr<Accounting>& acct) {
  if (t->dtype != DType::I32) fail(kOp, name, " must be int32, got ", dtype_name(t->dtype));
  if (t->ndim() != 1 || t->shape[0] != B)
    fail(kOp, name, " must have shape (B) = (", B, "), got ", shape_str(t->shape));
  if (t->device != q.device)
    fail(kOp, name, " is on ", device_name(t->device), " but q is on ", device_name(q.device));
  Tensor c = contiguous(kOp, *t, acct);
  std::vector<int32_t> host(static_cast<size_t>(B));
  if (B > 0) {
    if (c.device == Device::CPU) {
      for (int64_t b = 0; b < B; ++b) host[b] = c.ptr<int32_t>()[b];
    } else {
      cuda::memcpy_d2h(host.data(), c.data(), static_cast<size_t>(B) * 4, 0);
    }
  }
  for (int64_t b = 0; b < B; ++b)
    if (host[b] < 0 || host[b] > max)
      fail(kOp, name, "[", b, "] = ", host[b], " is outside [0, ", max, "]");
  return c;
}

void check_options(const AttentionOptions& o) {
  if (!std::isfinite(o.scale)) fail(kOp, "scale must be a finite number, got ", o.scale);
  if (!(o.dropout >= 0.0 && o.dropout < 1.0))
    fail(kOp, "dropout must be in [0, 1), got ", o.dropout);
}

struct Checked {
  int64_t B, H, Lq, Lk, Dh;
  Tensor q, k, v, kl, ql;  // contiguous
  bool has_kl = false, has_ql = false;
};

Checked check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* key_lengths,
                     const Tensor* query_lengths, const AttentionOptions& o,
                     const std::shared_ptr<Accounting>& acct) {
  check_4d("q", q);
  check_4d("k", k);
  check_4d("v", v);
  Checked c;
  c.B = q.shape[0];
  c.H = q.shape[1];
  c.Lq = q.shape[2];
  c.Dh = q.shape[3];
  c.Lk = k.shape[2];
  if (c.Dh < 1 || c.Dh > 256) fail(kOp, "head dim Dh must be in [1, 256], got ", c.Dh, " (q shape ", shape_str(q.shape), ")");
  check_shape("k", k, {c.B, c.H, c.Lk, c.Dh}, "(B, H, Lk, Dh)");
  check_shape("v", v, {c.B, c.H, c.Lk, c.Dh}, "(B, H, Lk, Dh)");
  check_same("k", k, q);
  check_same("v", v, q);
  if (q.dtype == DType::I32) fail(kOp, "q, k, v must be float32 or bfloat16, got int32");
  if (q.dtype == DType::BF16 && q.device == Device::CPU)
    fail(kOp, "bfloat16 attention runs on cuda; on cpu use float32 (convert with .to('float32'))");
  check_options(o);
  if (q.device == Device::CUDA) cuda::require(kOp, 0);
  if (q.device == Device::CUDA && c.B * c.H > 65535)
    fail(kOp, "B * H must be at most 65535 on cuda, got ", c.B * c.H);
  if (key_lengths) {
    c.kl = check_lengths("keyLengths", key_lengths, c.B, c.Lk, q, acct);
    c.has_kl = true;
  }
  if (query_lengths) {
    c.ql = check_lengths("queryLengths", query_lengths, c.B, c.Lq, q, acct);
    c.has_ql = true;
  }
  c.q = contiguous(kOp, q, acct);
  c.k = contiguous(kOp, k, acct);
  c.v = contiguous(kOp, v, acct);
  return c;
}

AttentionParams make_params(const Checked& c, const AttentionOptions& o) {
  AttentionParams p{};
  p.B = c.B;
  p.H = c.H;
  p.Lq = c.Lq;
  p.Lk = c.Lk;
  p.Dh = c.Dh;
  p.scale = static_cast<float>(o.scale);
  p.causal = o.causal;
  p.dropout = static_cast<float>(o.dropout);
  p.seed = o.seed;
  p.offset = o.offset;
  p.key_len = c.has_kl ? c.kl.ptr<int32_t>() : nullptr;
  p.query_len = c.has_ql ? c.ql.ptr<int32_t>() : nullptr;
  p.q = c.q.data();
  p.k = c.k.data();
  p.v = c.v.data();
  return p;
}

}  // namespace

bool attention_needs_dq_acc(int64_t Dh, bool deterministic) {
  return !deterministic && Dh <= 128;
}

AttentionForward attention_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                   const Tensor* key_lengths, const Tensor* query_lengths,
                                   const AttentionOptions& o, const std::shared_ptr<Accounting>& acct) {
  Checked c = check_inputs(q, k, v, key_lengths, query_lengths, o, acct);
  AttentionForward r;
  r.out = empty(kOp, {c.B, c.H, c.Lq, c.Dh}, q.dtype, q.device, acct);
  r.lse = empty(kOp, {c.B, c.H, c.Lq}, DType::F32, q.device, acct);
  if (c.B * c.H * c.Lq == 0) return r;
  AttentionParams p = make_params(c, o);
  p.o = r.out.data();
  p.lse = r.lse.ptr<float>();
  if (q.device == Device::CPU) {
    attention_forward_cpu(p);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    attention_forward_cuda(p, q.dtype);
#else
    cuda::require(kOp, 0);
#endif
  }
  return r;
}

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const Tensor* key_lengths,
                                  const Tensor* query_lengths, const AttentionOptions& o,
                                  const std::shared_ptr<Accounting>& acct) {
  Checked c = check_inputs(q, k, v, key_lengths, query_lengths, o, acct);
  check_shape("dout", dout, {c.B, c.H, c.Lq, c.Dh}, "(B, H, Lq, Dh)");
  check_shape("out", out, {c.B, c.H, c.Lq, c.Dh}, "(B, H, Lq, Dh)");
  check_shape("lse", lse, {c.B, c.H, c.Lq}, "(B, H, Lq)");
  check_same("dout", dout, q);
  check_same("out", out, q);
  if (lse.dtype != DType::F32 || lse.device != q.device)
    fail(kOp, "lse must be float32 on ", device_name(q.device));
  Tensor dout_c = contiguous(kOp, dout, acct);
  Tensor out_c = contiguous(kOp, out, acct);
  Tensor lse_c = contiguous(kOp, lse, acct);
  AttentionGrads g;
  g.dq = empty(kOp, q.shape, q.dtype, q.device, acct);
  g.dk = empty(kOp, k.shape, q.dtype, q.device, acct);
  g.dv = empty(kOp, v.shape, q.dtype, q.device, acct);
  if (c.B * c.H == 0 || (c.Lq == 0 && c.Lk == 0)) return g;
  Tensor delta = empty(kOp, {c.B, c.H, c.Lq}, DType::F32, q.device, acct);
  AttentionParams p = make_params(c, o);
  p.out = out_c.data();
  p.lse = lse_c.ptr<float>();
  p.dout = dout_c.data();
  p.dq = g.dq.data();
  p.dk = g.dk.data();
  p.dv = g.dv.data();
  p.delta = delta.ptr<float>();
  p.deterministic = o.deterministic;
  Tensor dq_acc;
  if (q.device == Device::CUDA && q.dtype == DType::BF16 && attention_needs_dq_acc(c.Dh, o.deterministic)) {
    dq_acc = empty(kOp, {c.B, c.H, c.Lq, (c.Dh + 7) / 8 * 8}, DType::F32, q.device, acct);
    p.dq_acc = dq_acc.ptr<float>();
  }
  if (q.device == Device::CPU) {
    attention_backward_cpu(p);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    attention_backward_cuda(p, q.dtype);
#else
    cuda::require(kOp, 0);
#endif
  }
  return g;
}

}  // namespace ms
