// ctc.cpp — argument checks and device dispatch for the CTC loss.
//
// Targets and lengths are copied to the host and checked on every call (B * (S + 2) int32 values;
// on CUDA this synchronises the stream): a bad label or length is a clear error, never a silent
// wrong loss or an out-of-bounds read in the kernel.
#include "ctc.h"

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../cast/cast.h"
#include "../copy/copy.h"

namespace ms {
namespace {

constexpr const char* kOp = "ctcLoss";

struct Checked {
  Tensor lp, targets, in_len, tgt_len;  // on lp's device, contiguous
  CtcProblem p;
};

Tensor host_i32(const char* what, const Tensor& t, const std::vector<int64_t>& shape, const char* dims,
                const std::shared_ptr<Accounting>& acct) {
  if (t.dtype != DType::I32) fail(kOp, what, " must be int32, got ", dtype_name(t.dtype));
  if (t.shape != shape) fail(kOp, what, " must have shape ", dims, " = ", shape_str(shape), ", got ", shape_str(t.shape));
  return t.device == Device::CPU ? contiguous(kOp, t, acct) : to(t, DType::I32, Device::CPU, acct);
}

// validate = false (the backward, on the tensors the forward checked) skips the host copies of
// device-resident targets and lengths, and with them a stream sync.
Checked check(const Tensor& lp, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths,
              const CtcArgs& a, bool validate, const std::shared_ptr<Accounting>& acct) {
  if (lp.ndim() != 3) fail(kOp, "logProbs must have shape (B, T, C), got ", shape_str(lp.shape));
  if (!dtype_is_float(lp.dtype)) fail(kOp, "logProbs must be float32 or bfloat16, got ", dtype_name(lp.dtype));
  const int64_t B = lp.shape[0], T = lp.shape[1], C = lp.shape[2];
  if (targets.ndim() != 2 || targets.shape[0] != B)
    fail(kOp, "targets must have shape (B, S) with B = ", B, " (padded on the right), got ", shape_str(targets.shape));
  const int64_t S = targets.shape[1];
  if (a.blank < 0 || a.blank >= C) fail(kOp, "blank ", a.blank, " is out of range for ", C, " classes");
  Checked c;
  const Device dev = lp.device;
  if (!validate && dev != Device::CPU) {
    auto same = [&](const Tensor& t, const std::vector<int64_t>& shape) { return t.dtype == DType::I32 && t.shape == shape; };
    if (!same(targets, {B, S}) || !same(input_lengths, {B}) || !same(target_lengths, {B})) fail(kOp, "backward: targets or lengths changed");
    auto up = [&](const Tensor& t) { return t.device == dev ? contiguous(kOp, t, acct) : to(t, DType::I32, dev, acct); };
    c.lp = lp.dtype == DType::F32 ? contiguous(kOp, lp, acct) : to(lp, DType::F32, dev, acct);
    c.targets = up(targets);
    c.in_len = up(input_lengths);
    c.tgt_len = up(target_lengths);
    c.p = CtcProblem{c.lp.ptr<float>(), c.targets.ptr<int32_t>(), c.in_len.ptr<int32_t>(), c.tgt_len.ptr<int32_t>(),
                     B, T, C, S, 2 * S + 1, a.blank, a.zero_infinity};
    return c;
  }
  Tensor ht = host_i32("targets", targets, {B, S}, "(B, S)", acct);
  Tensor hi = host_i32("inputLengths", input_lengths, {B}, "(B)", acct);
  Tensor hs = host_i32("targetLengths", target_lengths, {B}, "(B)", acct);
  const int32_t *pt = ht.ptr<int32_t>(), *pi = hi.ptr<int32_t>(), *ps = hs.ptr<int32_t>();
  for (int64_t b = 0; b < B; ++b) {
    if (pi[b] < 0 || pi[b] > T) fail(kOp, "inputLengths[", b, "] = ", pi[b], " is outside [0, T = ", T, "]");
    if (ps[b] < 0 || ps[b] > S) fail(kOp, "targetLengths[", b, "] = ", ps[b], " is outside [0, S = ", S, "]");
    for (int64_t s = 0; s < ps[b]; ++s) {
      const int32_t y = pt[b * S + s];
      if (y < 0 || y >= C) fail(kOp, "targets[", b, ", ", s, "] = ", y, " is out of range for ", C, " classes");
      if (y == a.blank) fail(kOp, "targets[", b, ", ", s, "] is the blank label ", a.blank, "; targets must not contain blank");
    }
  }
  c.lp = lp.dtype == DType::F32 ? contiguous(kOp, lp, acct) : to(lp, DType::F32, dev, acct);
  auto place = [&](const Tensor& h, const Tensor& orig) {
    if (dev == Device::CPU) return h;
    return orig.device == dev ? contiguous(kOp, orig, acct) : to(h, DType::I32, dev, acct);
  };
  c.targets = place(ht, targets);
  c.in_len = place(hi, input_lengths);
  c.tgt_len = place(hs, target_lengths);
  c.p = CtcProblem{c.lp.ptr<float>(), c.targets.ptr<int32_t>(), c.in_len.ptr<int32_t>(), c.tgt_len.ptr<int32_t>(),
                   B, T, C, S, 2 * S + 1, a.blank, a.zero_infinity};
  return c;
}

}  // namespace

CtcForward ctc_loss_fwd(const Tensor& lp, const Tensor& targets, const Tensor& input_lengths,
                        const Tensor& target_lengths, const CtcArgs& a, const std::shared_ptr<Accounting>& acct) {
  Checked c = check(lp, targets, input_lengths, target_lengths, a, true, acct);
  const Device dev = c.lp.device;
  CtcForward f;
  f.nll = empty(kOp, {c.p.B}, DType::F32, dev, acct);
  f.alpha = empty(kOp, {c.p.B, c.p.T, c.p.L}, DType::F32, dev, acct);
  if (c.p.B == 0) return f;
  if (dev == Device::CPU) {
    ctc_fwd_cpu(c.p, f.nll.ptr<float>(), f.alpha.ptr<float>());
  } else {
    cuda::require(kOp, 0);
#ifdef MAMBA_SPEECH_WITH_CUDA
    ctc_fwd_cuda(c.p, f.nll.ptr<float>(), f.alpha.ptr<float>());
#endif
  }
  return f;
}

Tensor ctc_loss_bwd(const Tensor& lp, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths,
                    const Tensor& alpha_in, const Tensor& g_in, const CtcArgs& a, const std::shared_ptr<Accounting>& acct) {
  Checked c = check(lp, targets, input_lengths, target_lengths, a, false, acct);
  const Device dev = c.lp.device;
  if (alpha_in.shape != std::vector<int64_t>{c.p.B, c.p.T, c.p.L} || alpha_in.dtype != DType::F32 || alpha_in.device != dev)
    fail(kOp, "backward: alpha must be float32 (B, T, 2S+1) on the logProbs' device, got ", shape_str(alpha_in.shape));
  if (g_in.numel() != c.p.B || g_in.dtype != DType::F32 || g_in.device != dev)
    fail(kOp, "backward: grad must be float32 (B) on the logProbs' device, got ", shape_str(g_in.shape));
  Tensor alpha = contiguous(kOp, alpha_in, acct), g = contiguous(kOp, g_in, acct);
  Tensor grad = empty(kOp, c.lp.shape, DType::F32, dev, acct);
  if (grad.numel() == 0) return grad;
  if (dev == Device::CPU) {
    ctc_bwd_cpu(c.p, alpha.ptr<float>(), g.ptr<float>(), grad.ptr<float>());
  } else {
    cuda::require(kOp, 0);
#ifdef MAMBA_SPEECH_WITH_CUDA
    ctc_bwd_cuda(c.p, alpha.ptr<float>(), g.ptr<float>(), grad.ptr<float>(), acct);
#endif
  }
  if (lp.dtype != DType::F32) grad = to(grad, lp.dtype, dev, acct);
  return grad;
}

}  // namespace ms
