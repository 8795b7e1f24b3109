// norm.cpp — argument checks and device dispatch for the fused norms (see norm.h).
#include "norm.h"

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../cast/cast.h"
#include "../copy/copy.h"

namespace ms {

const char* norm_name(NormKind k) {
  switch (k) {
    case NormKind::Layer: return "layerNorm";
    case NormKind::RMS: return "rmsNorm";
    case NormKind::Group: return "groupNorm";
    case NormKind::Batch: return "batchNorm";
  }
  return "norm";
}

namespace {

Tensor as_f32(const Tensor& t, const std::shared_ptr<Accounting>& acct) {
  return t.dtype == DType::F32 ? t : to(t, DType::F32, t.device, acct);
}

// A per-channel parameter: C elements, float32 or x's dtype, on x's device; returned contiguous float32.
Tensor param(const char* op, const char* what, const Tensor& p, const NormInputs& in,
             const std::shared_ptr<Accounting>& acct) {
  if (p.numel() != in.C) fail(op, what, " must have ", in.C, " elements, got ", shape_str(p.shape));
  if (p.device != in.x.device)
    fail(op, what, " is on ", device_name(p.device), " but x is on ", device_name(in.x.device), "; move it with .to()");
  if (p.dtype != DType::F32 && p.dtype != in.x.dtype)
    fail(op, what, " must be float32 or x's dtype (", dtype_name(in.x.dtype), "), got ", dtype_name(p.dtype));
  return as_f32(contiguous(op, p, acct), acct);
}

NormInputs check(const char* op, NormInputs in, bool forward, const std::shared_ptr<Accounting>& acct) {
  const Tensor& x = in.x;
  if (x.dtype != DType::F32 && x.dtype != DType::BF16) fail(op, "x must be float32 or bfloat16, got ", dtype_name(x.dtype));
  if (in.N < 0 || in.C < 0 || in.S < 0 || in.G < 1 || in.N * in.C * in.S != x.numel())
    fail(op, "layout (N, C, S) = (", in.N, ", ", in.C, ", ", in.S, ") does not cover x ", shape_str(x.shape));
  if (in.C % in.G != 0) fail(op, "numGroups = ", in.G, " must divide the channels C = ", in.C);
  if (!(in.eps >= 0)) fail(op, "eps must be >= 0, got ", in.eps);
  if (in.has_weight) in.weight = param(op, "weight", in.weight, in, acct);
  if (in.has_bias) in.bias = param(op, "bias", in.bias, in, acct);
  if (in.kind == NormKind::Batch && forward) {
    if (in.has_running) {
      for (const Tensor* r : {&in.running_mean, &in.running_var}) {
        const char* what = r == &in.running_mean ? "runningMean" : "runningVar";
        if (r->numel() != in.C) fail(op, what, " must have C = ", in.C, " elements, got ", shape_str(r->shape));
        if (r->dtype != DType::F32) fail(op, what, " must be float32, got ", dtype_name(r->dtype));
        if (r->device != x.device) fail(op, what, " is on ", device_name(r->device), " but x is on ", device_name(x.device));
        if (!r->is_contiguous()) fail(op, what, " must be contiguous (it is updated in place)");
      }
    } else if (!in.training) {
      fail(op, "eval mode (training: false) needs runningMean and runningVar");
    }
  }
  if (in.kind == NormKind::Batch) {
    if (in.training && in.N * in.S <= 1 && in.C > 0)
      fail(op, "expected more than 1 value per channel when training, got x ", shape_str(x.shape));
  }
  in.x = contiguous(op, x, acct);
  return in;
}

}  // namespace

NormForward norm_fwd(const NormInputs& raw, const std::shared_ptr<Accounting>& acct) {
  const char* op = norm_name(raw.kind);
  NormInputs in = check(op, raw, true, acct);
  const Device dev = in.x.device;
  const DType io = in.x.dtype;
  NormForward f;
  f.mean = empty(op, {in.stat_rows()}, DType::F32, dev, acct);
  f.rstd = empty(op, {in.stat_rows()}, DType::F32, dev, acct);
  if (dev == Device::CPU) {
    in.x = as_f32(in.x, acct);
    f.y = empty(op, in.x.shape, DType::F32, dev, acct);
    if (in.x.numel() > 0 || in.kind == NormKind::Batch) norm_fwd_cpu(in, f);
    if (io != DType::F32) f.y = to(f.y, io, dev, acct);
    return f;
  }
  cuda::require(op, 0);
  f.y = empty(op, in.x.shape, io, dev, acct);
#ifdef MAMBA_SPEECH_WITH_CUDA
  if (in.x.numel() > 0 || in.kind == NormKind::Batch) norm_fwd_cuda(in, f, acct);
#endif
  return f;
}

NormGrads norm_bwd(const NormInputs& raw, const Tensor& mean_in, const Tensor& rstd_in, const Tensor& dy_in, bool need_dx,
                   const std::shared_ptr<Accounting>& acct) {
  const char* op = "norm.backward";
  NormInputs in = check(norm_name(raw.kind), raw, false, acct);
  in.has_running = false;
  const Device dev = in.x.device;
  const DType io = in.x.dtype;
  if (dy_in.shape != in.x.shape) fail(op, "grad ", shape_str(dy_in.shape), " does not match x ", shape_str(in.x.shape));
  if (dy_in.device != dev || !dtype_is_float(dy_in.dtype)) fail(op, "grad must be a float tensor on x's device");
  for (const Tensor* s : {&mean_in, &rstd_in})
    if (s->numel() != in.stat_rows() || s->dtype != DType::F32 || s->device != dev)
      fail(op, "saved statistics must be float32 (", in.stat_rows(), ") on x's device, got ", shape_str(s->shape));
  Tensor dy = contiguous(op, dy_in, acct);
  const Tensor mean = contiguous(op, mean_in, acct), rstd = contiguous(op, rstd_in, acct);
  NormGrads g;
  const DType wdt = raw.has_weight ? raw.weight.dtype : DType::F32;
  const DType bdt = raw.has_bias ? raw.bias.dtype : DType::F32;
  if (in.has_weight) g.dweight = empty(op, {in.C}, DType::F32, dev, acct);
  if (in.has_bias) g.dbias = empty(op, {in.C}, DType::F32, dev, acct);
  if (dev == Device::CPU) {
    in.x = as_f32(in.x, acct);
    dy = as_f32(dy, acct);
    if (need_dx) g.dx = empty(op, in.x.shape, DType::F32, dev, acct);
    norm_bwd_cpu(in, mean, rstd, dy, g, need_dx);
    if (need_dx && io != DType::F32) g.dx = to(g.dx, io, dev, acct);
  } else {
    cuda::require(op, 0);
    if (dy.dtype != io) dy = to(dy, io, dev, acct);
    if (need_dx) g.dx = empty(op, in.x.shape, io, dev, acct);
#ifdef MAMBA_SPEECH_WITH_CUDA
    norm_bwd_cuda(in, mean, rstd, dy, g, need_dx, acct);
#endif
  }
  if (in.has_weight && wdt != DType::F32) g.dweight = to(g.dweight, wdt, dev, acct);
  if (in.has_bias && bdt != DType::F32) g.dbias = to(g.dbias, bdt, dev, acct);
  return g;
}

}  // namespace ms
