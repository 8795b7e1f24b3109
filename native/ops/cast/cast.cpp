#include "cast.h"

#include <cstring>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../copy/copy.h"

namespace ms {

namespace {
void convert_on(const Tensor& src, Tensor& dst) {
  if (src.dtype == dst.dtype) {
    if (src.device == Device::CPU) std::memcpy(dst.data(), src.data(), static_cast<size_t>(src.nbytes()));
    else cuda::memcpy_d2d(dst.data(), src.data(), static_cast<size_t>(src.nbytes()), 0);
    return;
  }
  if (src.device == Device::CPU) {
    convert_cpu(src, dst);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    convert_cuda(src, dst);
#else
    cuda::require("to", 0);
#endif
  }
}
}  // namespace

Tensor to(const Tensor& x_in, DType dtype, Device device, const std::shared_ptr<Accounting>& acct) {
  if (device == Device::CUDA || x_in.device == Device::CUDA) cuda::require("to", 0);
  const Tensor x = contiguous("to", x_in, acct);
  if (x.device == device) {
    Tensor out = empty("to", x.shape, dtype, device, acct);
    if (x.numel() > 0) convert_on(x, out);
    return out;
  }
  // Cross-device: convert on the CPU side, so the copy moves the smaller of the two dtypes
  // only when the CPU side holds it; int32/float32 are the same size either way.
  if (x.device == Device::CPU) {
    Tensor staged = x;
    if (x.dtype != dtype) {
      staged = empty("to", x.shape, dtype, Device::CPU, acct);
      if (x.numel() > 0) convert_on(x, staged);
    }
    Tensor out = empty("to", x.shape, dtype, Device::CUDA, acct);
    cuda::memcpy_h2d(out.data(), staged.data(), static_cast<size_t>(staged.nbytes()), 0);
    return out;
  }
  Tensor host = empty("to", x.shape, x.dtype, Device::CPU, acct);
  cuda::memcpy_d2h(host.data(), x.data(), static_cast<size_t>(x.nbytes()), 0);
  if (x.dtype == dtype) return host;
  Tensor out = empty("to", x.shape, dtype, Device::CPU, acct);
  if (x.numel() > 0) convert_on(host, out);
  return out;
}

}  // namespace ms
