#include "copy.h"

#include "../../core/cuda_api.h"

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

}  // namespace ms
