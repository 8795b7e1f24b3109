#include "matmul.h"

#include <atomic>

#include "../../core/cuda_api.h"
#include "../../core/error.h"

namespace ms {

namespace {
// Process-wide switch for benchmarks/tests; atomic so worker threads may read it.
std::atomic<bool> g_force_own{false};
}  // namespace
void matmul_set_force_own_kernel(bool on) { g_force_own = on; }
bool matmul_force_own_kernel() { return g_force_own; }

Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& opts, const std::shared_ptr<Accounting>& acct) {
  const char* op = "matmul";
  if (a.ndim() != 3 || b.ndim() != 3)
    fail(op, "native matmul takes (Bt, M, K) and (Bt, K, N), got ", shape_str(a.shape), " and ", shape_str(b.shape));
  if (a.shape[0] != b.shape[0]) fail(op, "batch sizes differ: ", a.shape[0], " vs ", b.shape[0]);
  if (a.shape[2] != b.shape[1])
    fail(op, "inner dims differ: a is ", shape_str(a.shape), " (K = ", a.shape[2], "), b is ", shape_str(b.shape),
         " (K = ", b.shape[1], ")");
  if (a.device != b.device) fail(op, "inputs are on different devices: ", device_name(a.device), " and ", device_name(b.device));
  if (a.dtype != b.dtype) fail(op, "inputs have different dtypes: ", dtype_name(a.dtype), " and ", dtype_name(b.dtype));
  if (!dtype_is_float(a.dtype)) fail(op, "needs float32 or bfloat16 inputs, got int32");
  if (a.device == Device::CPU && a.dtype != DType::F32)
    fail(op, "bfloat16 matmul runs on CUDA; on the CPU convert to float32 first");
  Tensor out = empty(op, {a.shape[0], a.shape[1], b.shape[2]}, a.dtype, a.device, acct);
  if (out.numel() == 0) return out;
  if (a.device == Device::CPU) {
    matmul_cpu(a, b, out);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    matmul_cuda(a, b, out, opts);
#else
    cuda::require(op, 0);
#endif
  }
  return out;
}

}  // namespace ms
