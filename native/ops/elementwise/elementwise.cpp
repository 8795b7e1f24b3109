#include "elementwise.h"

#include "../../core/cuda_api.h"
#include "../../core/error.h"

namespace ms {

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const std::shared_ptr<Accounting>& acct) {
  const char* name = binary_op_name(op);
  if (a.device != b.device)
    fail(name, "inputs are on different devices: ", device_name(a.device), " and ",
         device_name(b.device), "; move one with .to()");
  if (a.dtype != b.dtype)
    fail(name, "inputs have different dtypes: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype),
         "; convert one with .to(dtype)");
  BroadcastPlan plan = broadcast_plan(name, a, b);
  Tensor out = empty(name, plan.out_shape, a.dtype, a.device, acct);
  if (plan.numel == 0) return out;
  if (a.device == Device::CPU) {
    binary_cpu(op, plan, a, b, out);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    binary_cuda(op, plan, a, b, out);
#else
    cuda::require(name, 0);
#endif
  }
  return out;
}

}  // namespace ms
