// selective_scan.cpp — argument checks and device dispatch for the selective scan.
#include "selective_scan.h"

#include <cstring>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../cast/cast.h"
#include "../copy/copy.h"

namespace ms {
namespace {

std::string dims_of(const Tensor& t) { return shape_str(t.shape); }

void expect_shape(const char* op, const char* what, const char* dims, const Tensor& t,
                  const std::vector<int64_t>& want) {
  if (t.shape != want) fail(op, what, " must have shape ", dims, " = ", shape_str(want), ", got ", dims_of(t));
}

void expect_same(const char* op, const char* what, const Tensor& t, const Tensor& u) {
  if (t.device != u.device)
    fail(op, what, " is on ", device_name(t.device), " but u is on ", device_name(u.device),
         "; move it with .to()");
  if (t.dtype != u.dtype)
    fail(op, what, " has dtype ", dtype_name(t.dtype), " but u has ", dtype_name(u.dtype),
         "; u, delta, z, B and C share one dtype");
}

void expect_f32(const char* op, const char* what, const Tensor& t, const Tensor& u) {
  if (t.device != u.device)
    fail(op, what, " is on ", device_name(t.device), " but u is on ", device_name(u.device),
         "; move it with .to()");
  if (t.dtype != DType::F32) fail(op, what, " must be float32, got ", dtype_name(t.dtype));
}

}  // namespace

ScanInputs check_scan(const char* op, ScanInputs in, const std::shared_ptr<Accounting>& acct, ScanDims* dm) {
  const Tensor& u = in.u;
  if (u.ndim() != 3) fail(op, "u must have shape (B, D, L), got ", dims_of(u));
  if (u.dtype != DType::F32 && u.dtype != DType::BF16)
    fail(op, "u must be float32 or bfloat16, got ", dtype_name(u.dtype));
  const int64_t Bn = u.shape[0], Dn = u.shape[1], Ln = u.shape[2];
  expect_shape(op, "delta", "(B, D, L)", in.delta, {Bn, Dn, Ln});
  expect_same(op, "delta", in.delta, u);
  if (in.A.ndim() != 2 || in.A.shape[0] != Dn)
    fail(op, "A must have shape (D, N) with D = ", Dn, ", got ", dims_of(in.A));
  expect_f32(op, "A", in.A, u);
  const int64_t Nn = in.A.shape[1];
  if (Nn < 1 || Nn > kScanMaxState) fail(op, "state size N must be in [1, ", kScanMaxState, "], got ", Nn);
  int64_t Gn = 1;
  for (const Tensor* t : {&in.Bm, &in.Cm}) {
    const char* what = t == &in.Bm ? "B" : "C";
    if (t->ndim() == 4) {
      Gn = t->shape[1];
      expect_shape(op, what, "(B, G, N, L)", *t, {Bn, Gn, Nn, Ln});
    } else {
      expect_shape(op, what, "(B, N, L)", *t, {Bn, Nn, Ln});
    }
    expect_same(op, what, *t, u);
  }
  if (in.Bm.ndim() != in.Cm.ndim() || (in.Bm.ndim() == 4 && in.Bm.shape[1] != in.Cm.shape[1]))
    fail(op, "B and C must have the same shape, got ", dims_of(in.Bm), " and ", dims_of(in.Cm));
  if (Gn < 1 || Dn % Gn != 0) fail(op, "the number of groups G = ", Gn, " must divide D = ", Dn);
  if (in.has_D) {
    expect_shape(op, "D", "(D)", in.Dskip, {Dn});
    expect_f32(op, "D", in.Dskip, u);
  }
  if (in.has_bias) {
    expect_shape(op, "deltaBias", "(D)", in.delta_bias, {Dn});
    expect_f32(op, "deltaBias", in.delta_bias, u);
  }
  if (in.has_z) {
    expect_shape(op, "z", "(B, D, L)", in.z, {Bn, Dn, Ln});
    expect_same(op, "z", in.z, u);
  }
  if (in.has_init) {
    expect_shape(op, "initialState", "(B, D, N)", in.init, {Bn, Dn, Nn});
    expect_f32(op, "initialState", in.init, u);
  }
  if (in.has_lengths) {
    expect_shape(op, "lengths", "(B)", in.lengths, {Bn});
    if (in.lengths.dtype != DType::I32) fail(op, "lengths must be int32, got ", dtype_name(in.lengths.dtype));
    if (in.lengths.device == Device::CPU) {
      // Host lengths are checked here; a CUDA lengths tensor is clamped to [0, L] in the kernel
      // (checking it would wait for the GPU).
      Tensor lc = contiguous(op, in.lengths, acct);
      const int32_t* pl = lc.ptr<int32_t>();
      for (int64_t b = 0; b < Bn; ++b)
        if (pl[b] < 0 || pl[b] > Ln) fail(op, "lengths[", b, "] = ", pl[b], " is outside [0, L = ", Ln, "]");
      in.lengths = u.device == Device::CPU ? lc : to(lc, DType::I32, u.device, acct);
    } else if (u.device == Device::CPU) {
      fail(op, "lengths is on cuda but u is on cpu; move it with .to()");
    }
  }
  for (Tensor* t : {&in.u, &in.delta, &in.A, &in.Bm, &in.Cm}) *t = contiguous(op, *t, acct);
  if (in.has_D) in.Dskip = contiguous(op, in.Dskip, acct);
  if (in.has_bias) in.delta_bias = contiguous(op, in.delta_bias, acct);
  if (in.has_z) in.z = contiguous(op, in.z, acct);
  if (in.has_init) in.init = contiguous(op, in.init, acct);
  if (in.has_lengths) in.lengths = contiguous(op, in.lengths, acct);
  const int64_t lpad = (Ln + 31) / 32 * 32;
  *dm = ScanDims{Bn, Dn, Ln, Nn, Gn, (lpad + kScanSaveEvery - 1) / kScanSaveEvery};
  return in;
}

namespace {

// The CPU kernels work in float32: bfloat16 inputs are widened first and results rounded back.
ScanInputs widen(const ScanInputs& in, const std::shared_ptr<Accounting>& acct) {
  ScanInputs w = in;
  for (Tensor* t : {&w.u, &w.delta, &w.Bm, &w.Cm}) *t = to(*t, DType::F32, Device::CPU, acct);
  if (w.has_z) w.z = to(w.z, DType::F32, Device::CPU, acct);
  return w;
}

Tensor narrow_like(const Tensor& t, DType dtype, const std::shared_ptr<Accounting>& acct) {
  return t.dtype == dtype ? t : to(t, dtype, t.device, acct);
}

}  // namespace

ScanForward selective_scan_fwd(const ScanInputs& raw, bool return_last, bool save,
                               const std::shared_ptr<Accounting>& acct) {
  const char* op = "selectiveScan";
  ScanDims dm;
  ScanInputs in = check_scan(op, raw, acct, &dm);
  ScanForward f;
  const Device dev = in.u.device;
  f.has_last = return_last;
  f.has_saved = save && dev == Device::CUDA;
  if (f.has_last) f.last = empty(op, {dm.batch, dm.dim, dm.nstate}, DType::F32, dev, acct);
  if (f.has_saved) f.saved = empty(op, {dm.batch, dm.dim, dm.n_chunks, dm.nstate}, DType::F32, dev, acct);
  if (dev == Device::CPU) {
    const DType io = in.u.dtype;
    ScanInputs w = io == DType::F32 ? in : widen(in, acct);
    f.out = empty(op, in.u.shape, DType::F32, dev, acct);
    if (f.out.numel() > 0 || f.has_last) selective_scan_fwd_cpu(w, dm, f);
    f.out = narrow_like(f.out, io, acct);
  } else {
    f.out = empty(op, in.u.shape, in.u.dtype, dev, acct);
#ifdef MAMBA_SPEECH_WITH_CUDA
    cuda::require(op, 0);
    if (dm.batch * dm.dim > 0) selective_scan_fwd_cuda(in, dm, f);
#else
    cuda::require(op, 0);
#endif
  }
  return f;
}

ScanGrads selective_scan_bwd(const ScanInputs& raw, const Tensor& saved, bool has_saved, const Tensor& dout_raw,
                             bool has_dout, const Tensor& dlast_raw, bool has_dlast, bool deterministic,
                             const std::shared_ptr<Accounting>& acct) {
  const char* op = "selectiveScan.backward";
  ScanDims dm;
  ScanInputs in = check_scan(op, raw, acct, &dm);
  const Device dev = in.u.device;
  Tensor dout, dlast;
  if (has_dout) {
    expect_shape(op, "grad of out", "(B, D, L)", dout_raw, in.u.shape);
    if (dout_raw.device != dev) fail(op, "grad of out is on ", device_name(dout_raw.device), ", u on ", device_name(dev));
    if (!dtype_is_float(dout_raw.dtype)) fail(op, "grad of out must be float32 or bfloat16");
    dout = contiguous(op, dout_raw, acct);
  }
  if (has_dlast) {
    expect_shape(op, "grad of lastState", "(B, D, N)", dlast_raw, {dm.batch, dm.dim, dm.nstate});
    expect_f32(op, "grad of lastState", dlast_raw, in.u);
    dlast = contiguous(op, dlast_raw, acct);
  }
  ScanGrads g;
  const DType io = in.u.dtype;
  if (dev == Device::CPU) {
    ScanInputs w = io == DType::F32 ? in : widen(in, acct);
    if (has_dout && dout.dtype != DType::F32) dout = to(dout, DType::F32, dev, acct);
    selective_scan_bwd_cpu(w, dm, has_dout ? &dout : nullptr, has_dlast ? &dlast : nullptr, g, acct);
    for (Tensor* t : {&g.du, &g.ddelta, &g.dB, &g.dC}) *t = narrow_like(*t, io, acct);
    if (in.has_z) g.dz = narrow_like(g.dz, io, acct);
    return g;
  }
#ifdef MAMBA_SPEECH_WITH_CUDA
  cuda::require(op, 0);
  if (has_dout && dout.dtype != io) dout = to(dout, io, dev, acct);
  Tensor sv = saved;
  if (has_saved) {
    expect_shape(op, "saved states", "(B, D, n_chunks, N)", saved, {dm.batch, dm.dim, dm.n_chunks, dm.nstate});
    sv = contiguous(op, saved, acct);
  } else {
    sv = selective_scan_fwd(raw, false, true, acct).saved;
  }
  selective_scan_bwd_cuda(in, dm, sv, has_dout ? &dout : nullptr, has_dlast ? &dlast : nullptr, deterministic, g,
                          acct);
#else
  (void)saved;
  (void)has_saved;
  (void)deterministic;
  cuda::require(op, 0);
#endif
  return g;
}

}  // namespace ms
