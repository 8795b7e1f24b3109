// index.cpp — argument checks and device dispatch for gather / scatter-add / cumsum / one-hot.
#include "index.h"

#include "../../core/cuda_api.h"
#include "../../core/dispatch.h"
#include "../../core/error.h"
#include "../copy/copy.h"
#include "../creation/creation.h"

namespace ms {
namespace {


[[noreturn]] void out_of_range(const IndexSpec& s, int64_t v) {
  fail(s.op, "index ", v, " is out of range for dim ", s.dim, " of size ", s.Nx);
}

// Throws for the first index (flat order) outside [0, Nx) other than `skip`. The CPU always
// checks (one pass, ~1 ns per index); CUDA only when validate is set (it syncs the stream).
void check_indices(const Tensor& idx, const IndexSpec& s) {
  if (idx.device == Device::CPU) {
    const int32_t* p = idx.ptr<int32_t>();
    for (int64_t i = 0, n = idx.numel(); i < n; ++i)
      if ((p[i] < 0 || p[i] >= s.Nx) && p[i] != s.skip) out_of_range(s, p[i]);
  } else if (s.validate) {
#ifdef MAMBA_SPEECH_WITH_CUDA
    int32_t v = 0;
    if (first_bad_index_cuda(idx, s.Nx, s.skip, &v)) out_of_range(s, v);
#endif
  }
}

Tensor check_index_tensor(const Tensor& idx_in, const Tensor& x, const IndexSpec& s, const std::shared_ptr<Accounting>& acct) {
  const char* op = s.op.c_str();
  if (idx_in.dtype != DType::I32) fail(op, "index must be int32, got ", dtype_name(idx_in.dtype));
  if (idx_in.device != x.device)
    fail(op, "index is on ", device_name(idx_in.device), " but the input is on ", device_name(x.device), "; move it with .to()");
  if (s.O < 0 || s.Nx < 0 || s.Ni < 0 || s.I < 0) fail(op, "negative sizes");
  Tensor idx = contiguous(op, idx_in, acct);
  if (s.O * s.Ni * s.I > 0) {
    const int64_t last = (s.O - 1) * s.s0 + (s.Ni - 1) * s.s1 + (s.I - 1) * s.s2;
    if (s.s0 < 0 || s.s1 < 0 || s.s2 < 0 || last >= idx.numel())
      fail(op, "index of ", idx.numel(), " elements does not cover (O, Ni, I) = (", s.O, ", ", s.Ni, ", ", s.I,
           ") with strides (", s.s0, ", ", s.s1, ", ", s.s2, ")");
  }
  return idx;
}

}  // namespace

Tensor gather_dim(const Tensor& x_in, const Tensor& idx_in, const IndexSpec& s, const std::shared_ptr<Accounting>& acct) {
  const char* op = s.op.c_str();
  if (x_in.numel() != s.O * s.Nx * s.I)
    fail(op, "input ", shape_str(x_in.shape), " is not (O, Nx, I) = (", s.O, ", ", s.Nx, ", ", s.I, ")");
  Tensor idx = check_index_tensor(idx_in, x_in, s, acct);
  Tensor x = contiguous(op, x_in, acct);
  if (s.Nx == 0 && s.O * s.Ni * s.I > 0) fail(op, "cannot index dim ", s.dim, " of size 0");
  check_indices(idx, s);
  Tensor out = empty(op, {s.O, s.Ni, s.I}, x.dtype, x.device, acct);
  if (out.numel() == 0) return out;
  MS_RUN(x.device, op, gather_dim_cpu(x, idx, s, out), gather_dim_cuda(x, idx, s, out));
  return out;
}

Tensor scatter_add_dim(const Tensor* base, const Tensor& idx_in, const Tensor& src_in, const IndexSpec& s,
                       const std::shared_ptr<Accounting>& acct) {
  const char* op = s.op.c_str();
  if (!dtype_is_float(src_in.dtype)) fail(op, "src must be float32 or bfloat16, got ", dtype_name(src_in.dtype));
  if (src_in.numel() != s.O * s.Ni * s.I)
    fail(op, "src ", shape_str(src_in.shape), " is not (O, Ni, I) = (", s.O, ", ", s.Ni, ", ", s.I, ")");
  Tensor idx = check_index_tensor(idx_in, src_in, s, acct);
  Tensor src = contiguous(op, src_in, acct);
  check_indices(idx, s);
  Tensor out;
  if (base) {
    if (base->numel() != s.O * s.Nx * s.I)
      fail(op, "x ", shape_str(base->shape), " is not (O, Nx, I) = (", s.O, ", ", s.Nx, ", ", s.I, ")");
    if (base->dtype != src.dtype) fail(op, "x is ", dtype_name(base->dtype), " but src is ", dtype_name(src.dtype));
    if (base->device != src.device) fail(op, "x is on ", device_name(base->device), " but src on ", device_name(src.device));
    out = empty(op, {s.O, s.Nx, s.I}, src.dtype, src.device, acct);
    Tensor b = contiguous(op, *base, acct);  // viewed as (O, Nx, I): same elements, same order
    b.shape = out.shape;
    b.strides = out.strides;
    copy_into(op, out, b);
  } else {
    out = fill(op, {s.O, s.Nx, s.I}, 0.0, src.dtype, src.device, acct);
  }
  if (src.numel() == 0) return out;
  MS_RUN(src.device, op, scatter_add_dim_cpu(idx, src, s, out), scatter_add_dim_cuda(idx, src, s, out, acct));
  return out;
}

Tensor cumsum_dim(const Tensor& x_in, int64_t O, int64_t N, int64_t I, bool reverse, const std::shared_ptr<Accounting>& acct) {
  const char* op = "cumsum";
  if (O < 0 || N < 0 || I < 0 || x_in.numel() != O * N * I)
    fail(op, "input ", shape_str(x_in.shape), " is not (O, N, I) = (", O, ", ", N, ", ", I, ")");
  Tensor x = contiguous(op, x_in, acct);
  Tensor out = empty(op, {O, N, I}, x.dtype, x.device, acct);
  if (out.numel() == 0) return out;
  MS_RUN(x.device, op, cumsum_dim_cpu(x, O, N, I, reverse, out), cumsum_dim_cuda(x, O, N, I, reverse, out));
  return out;
}

Tensor one_hot(const Tensor& labels_in, int64_t C, bool validate, const std::shared_ptr<Accounting>& acct) {
  const char* op = "oneHot";
  if (labels_in.dtype != DType::I32) fail(op, "labels must be int32, got ", dtype_name(labels_in.dtype));
  if (C < 0) fail(op, "numClasses must be >= 0, got ", C);
  Tensor labels = contiguous(op, labels_in, acct);
  IndexSpec s;
  s.op = op;
  s.Nx = C;
  s.dim = labels.ndim();
  s.validate = validate;
  if (labels.device == Device::CPU) {
    const int32_t* p = labels.ptr<int32_t>();
    for (int64_t i = 0, n = labels.numel(); i < n; ++i)
      if (p[i] < 0 || p[i] >= C) fail(op, "label ", p[i], " is out of range for numClasses ", C);
  } else if (validate) {
#ifdef MAMBA_SPEECH_WITH_CUDA
    int32_t v = 0;
    if (first_bad_index_cuda(labels, C, INT64_MIN, &v)) fail(op, "label ", v, " is out of range for numClasses ", C);
#endif
  }
  std::vector<int64_t> shape = labels.shape;
  shape.push_back(C);
  Tensor out = empty(op, shape, DType::F32, labels.device, acct);
  if (out.numel() == 0) return out;
  MS_RUN(labels.device, op, one_hot_cpu(labels, C, out), one_hot_cuda(labels, C, out));
  return out;
}

}  // namespace ms
