// causal_conv1d.cpp — argument checks and device dispatch for the causal depthwise conv1d.
#include "causal_conv1d.h"

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../cast/cast.h"
#include "../copy/copy.h"

namespace ms {
namespace {

void expect(const char* op, const char* what, const char* dims, const Tensor& t, const std::vector<int64_t>& want) {
  if (t.shape != want) fail(op, what, " must have shape ", dims, " = ", shape_str(want), ", got ", shape_str(t.shape));
}

void expect_dev(const char* op, const char* what, const Tensor& t, const Tensor& x) {
  if (t.device != x.device)
    fail(op, what, " is on ", device_name(t.device), " but x is on ", device_name(x.device), "; move it with .to()");
}

void expect_f32(const char* op, const char* what, const Tensor& t, const Tensor& x) {
  expect_dev(op, what, t, x);
  if (t.dtype != DType::F32) fail(op, what, " must be float32, got ", dtype_name(t.dtype));
}

Tensor widen(const Tensor& t, const std::shared_ptr<Accounting>& acct) {
  return t.dtype == DType::F32 ? t : to(t, DType::F32, t.device, acct);
}

}  // namespace

ConvInputs check_conv(const char* op, ConvInputs in, const std::shared_ptr<Accounting>& acct) {
  const Tensor& x = in.x;
  if (x.ndim() != 3) fail(op, "x must have shape (B, D, L), got ", shape_str(x.shape));
  if (x.dtype != DType::F32 && x.dtype != DType::BF16) fail(op, "x must be float32 or bfloat16, got ", dtype_name(x.dtype));
  const int64_t Bn = x.shape[0], Dn = x.shape[1], Ln = x.shape[2];
  if (in.weight.ndim() != 2 || in.weight.shape[0] != Dn)
    fail(op, "weight must have shape (D, W) with D = ", Dn, ", got ", shape_str(in.weight.shape));
  expect_f32(op, "weight", in.weight, x);
  const int64_t W = in.weight.shape[1];
  if (W < 1 || W > kConvMaxWidth) fail(op, "kernel width W must be in [1, ", kConvMaxWidth, "], got ", W);
  if (in.has_bias) {
    expect(op, "bias", "(D)", in.bias, {Dn});
    expect_f32(op, "bias", in.bias, x);
  }
  if (in.has_init) {
    expect(op, "initialState", "(B, D, W-1)", in.init, {Bn, Dn, W - 1});
    expect_f32(op, "initialState", in.init, x);
  }
  if (in.has_lengths) {
    expect(op, "lengths", "(B)", in.lengths, {Bn});
    if (in.lengths.dtype != DType::I32) fail(op, "lengths must be int32, got ", dtype_name(in.lengths.dtype));
    if (in.lengths.device == Device::CPU) {
      Tensor lc = contiguous(op, in.lengths, acct);
      const int32_t* pl = lc.ptr<int32_t>();
      for (int64_t b = 0; b < Bn; ++b)
        if (pl[b] < 0 || pl[b] > Ln) fail(op, "lengths[", b, "] = ", pl[b], " is outside [0, L = ", Ln, "]");
      in.lengths = x.device == Device::CPU ? lc : to(lc, DType::I32, x.device, acct);
    } else if (x.device == Device::CPU) {
      fail(op, "lengths is on cuda but x is on cpu; move it with .to()");
    }
  }
  in.x = contiguous(op, in.x, acct);
  in.weight = contiguous(op, in.weight, acct);
  if (in.has_bias) in.bias = contiguous(op, in.bias, acct);
  if (in.has_init) in.init = contiguous(op, in.init, acct);
  if (in.has_lengths) in.lengths = contiguous(op, in.lengths, acct);
  return in;
}

ConvForward causal_conv1d_fwd(const ConvInputs& raw, bool return_final, const std::shared_ptr<Accounting>& acct) {
  const char* op = "causalConv1d";
  ConvInputs in = check_conv(op, raw, acct);
  const Device dev = in.x.device;
  const int64_t W = in.weight.shape[1];
  ConvForward f;
  f.has_final = return_final;
  if (return_final) f.final_state = empty(op, {in.x.shape[0], in.x.shape[1], W - 1}, DType::F32, dev, acct);
  if (dev == Device::CPU) {
    const DType io = in.x.dtype;
    in.x = widen(in.x, acct);
    f.out = empty(op, in.x.shape, DType::F32, dev, acct);
    causal_conv1d_fwd_cpu(in, f);
    if (io != DType::F32) f.out = to(f.out, io, dev, acct);
    return f;
  }
  f.out = empty(op, in.x.shape, in.x.dtype, dev, acct);
#ifdef MAMBA_SPEECH_WITH_CUDA
  cuda::require(op, 0);
  if (in.x.shape[0] * in.x.shape[1] > 0) causal_conv1d_fwd_cuda(in, f);
#else
  cuda::require(op, 0);
#endif
  return f;
}

ConvGrads causal_conv1d_bwd(const ConvInputs& raw, const Tensor& dout_raw, bool has_dout, const Tensor& dfinal_raw,
                            bool has_dfinal, const std::shared_ptr<Accounting>& acct) {
  const char* op = "causalConv1d.backward";
  ConvInputs in = check_conv(op, raw, acct);
  const Device dev = in.x.device;
  const int64_t Bn = in.x.shape[0], Dn = in.x.shape[1], W = in.weight.shape[1];
  Tensor dout, dfinal;
  if (has_dout) {
    expect(op, "grad of out", "(B, D, L)", dout_raw, in.x.shape);
    expect_dev(op, "grad of out", dout_raw, in.x);
    if (!dtype_is_float(dout_raw.dtype)) fail(op, "grad of out must be float32 or bfloat16");
    dout = contiguous(op, dout_raw, acct);
  }
  if (has_dfinal) {
    expect(op, "grad of finalState", "(B, D, W-1)", dfinal_raw, {Bn, Dn, W - 1});
    expect_f32(op, "grad of finalState", dfinal_raw, in.x);
    dfinal = contiguous(op, dfinal_raw, acct);
  }
  ConvGrads g;
  const DType io = in.x.dtype;
  g.dweight = empty(op, {Dn, W}, DType::F32, dev, acct);
  if (in.has_bias) g.dbias = empty(op, {Dn}, DType::F32, dev, acct);
  if (in.has_init) g.dinit = empty(op, {Bn, Dn, W - 1}, DType::F32, dev, acct);
  if (dev == Device::CPU) {
    in.x = widen(in.x, acct);
    if (has_dout) dout = widen(dout, acct);
    g.dx = empty(op, in.x.shape, DType::F32, dev, acct);
    causal_conv1d_bwd_cpu(in, has_dout ? &dout : nullptr, has_dfinal ? &dfinal : nullptr, g);
    if (io != DType::F32) g.dx = to(g.dx, io, dev, acct);
    return g;
  }
  g.dx = empty(op, in.x.shape, io, dev, acct);
#ifdef MAMBA_SPEECH_WITH_CUDA
  cuda::require(op, 0);
  if (has_dout && dout.dtype != io) dout = to(dout, io, dev, acct);
  causal_conv1d_bwd_cuda(in, has_dout ? &dout : nullptr, has_dfinal ? &dfinal : nullptr, g, acct);
#else
  cuda::require(op, 0);
#endif
  return g;
}

}  // namespace ms
