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

namespace {
// A 2-D operand as a batch of one: same storage, a leading dim of size 1.
Tensor as_batch(const Tensor& t) {
  if (t.ndim() != 2) return t;
  Tensor v = t;
  v.shape.insert(v.shape.begin(), 1);
  v.strides.insert(v.strides.begin(), 0);
  return v;
}
}  // namespace

Tensor matmul(const Tensor& a2, const Tensor& b2, const MatmulOptions& opts, const std::shared_ptr<Accounting>& acct) {
  const char* op = "matmul";
  const bool flat = a2.ndim() == 2 && b2.ndim() == 2;
  if (!flat && (a2.ndim() != 3 || b2.ndim() != 3))
    fail(op, "native matmul takes (M, K) and (K, N), or (Bt, M, K) and (Bt, K, N), got ", shape_str(a2.shape), " and ",
         shape_str(b2.shape));
  const Tensor a = as_batch(a2), b = as_batch(b2);
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
  if (flat) {
    // Same memory, reported as (M, N).
    out.shape.erase(out.shape.begin());
    out.strides.erase(out.strides.begin());
  }
  if (out.numel() == 0) return out;
  const Tensor out3 = as_batch(out);
  if (a.device == Device::CPU) {
    Tensor o = out3;
    matmul_cpu(a, b, o);
  } else {
#ifdef MAMBA_SPEECH_WITH_CUDA
    Tensor o = out3;
    matmul_cuda(a, b, o, opts);
#else
    cuda::require(op, 0);
#endif
  }
  return out;
}

}  // namespace ms
