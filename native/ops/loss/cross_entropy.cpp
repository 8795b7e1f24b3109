// cross_entropy.cpp — argument checks and device dispatch for the fused cross-entropy.
#include "cross_entropy.h"

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../cast/cast.h"
#include "../copy/copy.h"
#include "../index/index.h"

namespace ms {
namespace {

struct Checked {
  Tensor z, t, w;
  bool has_w = false;
};

Checked check(const Tensor& logits, const Tensor& target, const Tensor* weight, const CrossEntropyArgs& a,
              const std::shared_ptr<Accounting>& acct) {
  const char* op = a.op;
  if (logits.ndim() != 2) fail(op, "input must be viewed as (M, C) rows, got ", shape_str(logits.shape));
  if (!dtype_is_float(logits.dtype)) fail(op, "input must be float32 or bfloat16, got ", dtype_name(logits.dtype));
  const int64_t M = logits.shape[0], C = logits.shape[1];
  if (C < 1 && M > 0) fail(op, "input has 0 classes");
  if (target.dtype != DType::I32) fail(op, "target must be int32 class indices, got ", dtype_name(target.dtype));
  if (target.numel() != M) fail(op, "target has ", target.numel(), " elements for ", M, " input rows");
  if (target.device != logits.device)
    fail(op, "target is on ", device_name(target.device), " but input is on ", device_name(logits.device), "; move it with .to()");
  if (!(a.smoothing >= 0 && a.smoothing <= 1)) fail(op, "labelSmoothing must be in [0, 1], got ", a.smoothing);
  Checked c;
  c.z = logits.dtype == DType::F32 ? contiguous(op, logits, acct) : to(logits, DType::F32, logits.device, acct);
  c.t = contiguous(op, target, acct);
  if (weight) {
    if (weight->shape != std::vector<int64_t>{C}) fail(op, "weight must have shape (C) = (", C, "), got ", shape_str(weight->shape));
    if (weight->device != logits.device) fail(op, "weight is on ", device_name(weight->device), " but input is on ", device_name(logits.device));
    if (weight->dtype != DType::F32) fail(op, "weight must be float32, got ", dtype_name(weight->dtype));
    c.w = contiguous(op, *weight, acct);
    c.has_w = true;
  }
  if (c.t.device == Device::CPU) {
    const int32_t* pt = c.t.ptr<int32_t>();
    for (int64_t i = 0; i < M; ++i)
      if ((pt[i] < 0 || pt[i] >= C) && pt[i] != a.ignore_index)
        fail(op, "target ", pt[i], " at position ", i, " is out of range for ", C, " classes (ignoreIndex is ", a.ignore_index, ")");
  } else if (a.validate) {
#ifdef MAMBA_SPEECH_WITH_CUDA
    int32_t v = 0;
    if (first_bad_index_cuda(c.t, C, a.ignore_index, &v))
      fail(op, "target ", v, " is out of range for ", C, " classes (ignoreIndex is ", a.ignore_index, ")");
#endif
  }
  return c;
}

}  // namespace

CrossEntropyForward cross_entropy_fwd(const Tensor& logits, const Tensor& target, const Tensor* weight,
                                      const CrossEntropyArgs& a, const std::shared_ptr<Accounting>& acct) {
  Checked c = check(logits, target, weight, a, acct);
  const int64_t M = c.z.shape[0];
  CrossEntropyForward f;
  f.loss = empty(a.op, {M}, DType::F32, c.z.device, acct);
  f.lse = empty(a.op, {M}, DType::F32, c.z.device, acct);
  f.wrow = empty(a.op, {M}, DType::F32, c.z.device, acct);
  if (M == 0) return f;
  const float* w = c.has_w ? c.w.ptr<float>() : nullptr;
  if (c.z.device == Device::CPU) {
    cross_entropy_fwd_cpu(c.z, c.t, w, a, f);
  } else {
    cuda::require(a.op, 0);
#ifdef MAMBA_SPEECH_WITH_CUDA
    cross_entropy_fwd_cuda(c.z, c.t, w, a, f);
#endif
  }
  return f;
}

Tensor cross_entropy_bwd(const Tensor& logits, const Tensor& target, const Tensor* weight, const Tensor& lse_in,
                         const Tensor& g_in, const CrossEntropyArgs& a_in, const std::shared_ptr<Accounting>& acct) {
  CrossEntropyArgs a = a_in;
  a.validate = false;  // checked by the forward
  Checked c = check(logits, target, weight, a, acct);
  const int64_t M = c.z.shape[0];
  for (const Tensor* t : {&lse_in, &g_in}) {
    if (t->numel() != M || t->dtype != DType::F32 || t->device != c.z.device)
      fail(a.op, "backward: lse and grad must be float32 (M) = (", M, ") on the input's device, got ", shape_str(t->shape), " ",
           dtype_name(t->dtype));
  }
  Tensor lse = contiguous(a.op, lse_in, acct), g = contiguous(a.op, g_in, acct);
  Tensor dz = empty(a.op, c.z.shape, DType::F32, c.z.device, acct);
  if (dz.numel() == 0) return dz;
  const float* w = c.has_w ? c.w.ptr<float>() : nullptr;
  if (c.z.device == Device::CPU) {
    cross_entropy_bwd_cpu(c.z, c.t, w, lse, g, a, dz);
  } else {
    cuda::require(a.op, 0);
#ifdef MAMBA_SPEECH_WITH_CUDA
    cross_entropy_bwd_cuda(c.z, c.t, w, lse, g, a, dz);
#endif
  }
  if (logits.dtype != DType::F32) dz = to(dz, logits.dtype, dz.device, acct);
  return dz;
}

}  // namespace ms
