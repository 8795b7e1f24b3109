#include "creation.h"

#include "../../core/cuda_api.h"
#include "../../core/dispatch.h"
#include "../../core/error.h"

namespace ms {


Tensor fill(const char* op, const std::vector<int64_t>& shape, double value, DType dtype, Device device,
            const std::shared_ptr<Accounting>& acct) {
  Tensor out = empty(op, shape, dtype, device, acct);
  if (out.numel() > 0) { MS_RUN(out.device, op, fill_cpu(out, value), fill_cuda(out, value)); }
  return out;
}

Tensor arange(double start, double step, int64_t n, DType dtype, Device device,
              const std::shared_ptr<Accounting>& acct) {
  Tensor out = empty("arange", {n}, dtype, device, acct);
  if (n > 0) { MS_RUN(out.device, "arange", arange_cpu(out, start, step), arange_cuda(out, start, step)); }
  return out;
}

Tensor random(RandKind kind, const std::vector<int64_t>& shape, uint64_t seed, uint64_t offset,
              DType dtype, Device device, const std::shared_ptr<Accounting>& acct) {
  const char* op = kind == RandKind::Uniform ? "rand" : "randn";
  if (!dtype_is_float(dtype))
    fail(op, "dtype must be float32 or bfloat16, got ", dtype_name(dtype));
  Tensor out = empty(op, shape, dtype, device, acct);
  if (out.numel() > 0) {
    MS_RUN(out.device, op, random_cpu(out, kind, seed, offset), random_cuda(out, kind, seed, offset));
  }
  return out;
}

}  // namespace ms
