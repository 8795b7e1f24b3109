#include "copy.h"

#include "../../core/cuda_api.h"
#include "../../core/error.h"

namespace ms {

Tensor contiguous(const char* op, const Tensor& x, const std::shared_ptr<Accounting>& acct) {
  if (x.is_contiguous()) return x;
  Tensor out = empty(op, x.shape, x.dtype, x.device, acct);
  if (out.numel() == 0) return out;
  if (x.device == Device::CPU) {
    strided_copy_cpu(x, out);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    strided_copy_cuda(x, out);
#else
    cuda::require(op, 0);
#endif
  }
  return out;
}

void copy_into(const char* op, const Tensor& dst, const Tensor& src) {
  if (dst.device != src.device) fail(op, "source and destination are on different devices");
  if (dst.dtype != src.dtype)
    fail(op, "source dtype ", dtype_name(src.dtype), " differs from destination dtype ", dtype_name(dst.dtype));
  if (src.ndim() > dst.ndim()) fail(op, "source ", shape_str(src.shape), " has more dims than destination ", shape_str(dst.shape));
  for (int64_t i = 0; i < src.ndim(); ++i) {
    int64_t d = src.shape[src.ndim() - 1 - i], e = dst.shape[dst.ndim() - 1 - i];
    if (d != e && d != 1) fail(op, "source ", shape_str(src.shape), " does not broadcast to ", shape_str(dst.shape));
  }
  if (dst.ndim() > 16) fail(op, "at most 16 dims");
  if (dst.numel() == 0) return;
  if (dst.device == Device::CPU) {
    copy_into_cpu(dst, src);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    copy_into_cuda(dst, src);
#else
    cuda::require(op, 0);
#endif
  }
}

}  // namespace ms
