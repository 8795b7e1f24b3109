// dropout.cpp — argument checks and device dispatch for dropout_apply.
#include "dropout.h"

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../copy/copy.h"

namespace ms {

Tensor dropout_apply(const Tensor& x_in, double p, uint64_t seed, uint64_t offset, const std::shared_ptr<Accounting>& acct) {
  const char* op = "dropout";
  if (!dtype_is_float(x_in.dtype)) fail(op, "x must be float32 or bfloat16, got ", dtype_name(x_in.dtype));
  if (!(p >= 0 && p <= 1)) fail(op, "p must be in [0, 1], got ", p);
  Tensor x = contiguous(op, x_in, acct);
  Tensor out = empty(op, x.shape, x.dtype, x.device, acct);
  if (out.numel() == 0) return out;
  if (x.device == Device::CPU) {
    dropout_apply_cpu(x, static_cast<float>(p), seed, offset, out);
  } else {
    cuda::require(op, 0);
#ifdef MAMBA_SPEECH_WITH_CUDA
    dropout_apply_cuda(x, static_cast<float>(p), seed, offset, out);
#endif
  }
  return out;
}

}  // namespace ms
