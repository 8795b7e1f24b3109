#include "reduce.h"

#include "../../core/cuda_api.h"
#include "../../core/dispatch.h"
#include "../../core/error.h"
#include "../copy/copy.h"

namespace ms {

const char* reduce_op_name(ReduceOp op) {
  static const char* names[] = {"sum", "mean", "max", "min", "logsumexp", "var", "argmax", "argmin"};
  int i = static_cast<int>(op);
  return i >= 0 && i < static_cast<int>(ReduceOp::Count) ? names[i] : "reduce";
}


namespace {
Tensor rows_view(const char* op, const Tensor& x_in, int64_t rows, int64_t k, const std::shared_ptr<Accounting>& acct) {
  if (rows < 0 || k < 0 || rows * k != x_in.numel())
    fail(op, "rows ", rows, " x ", k, " does not cover the ", x_in.numel(), " elements of ", shape_str(x_in.shape));
  return contiguous(op, x_in, acct);
}
}  // namespace

Tensor reduce_cols(ReduceOp op, const Tensor& x, int64_t outer, int64_t k, int64_t inner,
                   const std::shared_ptr<Accounting>& acct) {
  const char* name = reduce_op_name(op);
  if (op != ReduceOp::Sum && op != ReduceOp::Mean) fail(name, "the column path reduces sum and mean only");
  if (outer < 0 || k < 0 || inner < 0 || outer * k * inner != x.numel())
    fail(name, "(", outer, ", ", k, ", ", inner, ") does not cover the ", x.numel(), " elements of ", shape_str(x.shape));
  if (!x.is_contiguous()) fail(name, "the column path needs a contiguous input");
  if (x.dtype == DType::I32) fail(name, "the column path takes float32 or bfloat16");
  Tensor out = empty(name, {outer * inner}, x.dtype, x.device, acct);
  if (outer * inner == 0) return out;
  MS_RUN(x.device, name, reduce_cols_cpu(op, x, outer, k, inner, out), reduce_cols_cuda(op, x, outer, k, inner, out));
  return out;
}

Tensor reduce_rows(ReduceOp op, const Tensor& x_in, int64_t rows, int64_t k, double p,
                   const std::shared_ptr<Accounting>& acct) {
  const char* name = reduce_op_name(op);
  Tensor x = rows_view(name, x_in, rows, k, acct);
  const bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  const bool int_ok = op == ReduceOp::Sum || op == ReduceOp::Max || op == ReduceOp::Min || arg;
  if (x.dtype == DType::I32 && !int_ok)
    fail(name, "needs float32 or bfloat16 input, got int32; convert with .to('float32')");
  if (k == 0 && (op == ReduceOp::Max || op == ReduceOp::Min || arg))
    fail(name, "cannot reduce over an empty dimension (no identity for ", name, ")");
  Tensor out = empty(name, {rows}, arg ? DType::I32 : x.dtype, x.device, acct);
  if (rows == 0) return out;
  MS_RUN(x.device, name, reduce_rows_cpu(op, x, rows, k, p, out), reduce_rows_cuda(op, x, rows, k, p, out));
  return out;
}

Tensor softmax_rows(const Tensor& x_in, int64_t rows, int64_t k, bool log, const std::shared_ptr<Accounting>& acct) {
  const char* name = log ? "logSoftmax" : "softmax";
  Tensor x = rows_view(name, x_in, rows, k, acct);
  if (!dtype_is_float(x.dtype)) fail(name, "needs float32 or bfloat16 input, got int32");
  Tensor out = empty(name, x.shape, x.dtype, x.device, acct);
  if (rows * k == 0) return out;
  MS_RUN(x.device, name, softmax_rows_cpu(x, rows, k, log, out), softmax_rows_cuda(x, rows, k, log, out));
  return out;
}

Tensor softmax_rows_backward(const Tensor& y_in, const Tensor& g_in, int64_t rows, int64_t k, bool log,
                             const std::shared_ptr<Accounting>& acct) {
  const char* name = log ? "logSoftmax" : "softmax";
  Tensor y = rows_view(name, y_in, rows, k, acct);
  Tensor g = rows_view(name, g_in, rows, k, acct);
  if (y.dtype != g.dtype || y.device != g.device) fail(name, "backward: output and grad differ in dtype or device");
  Tensor out = empty(name, y.shape, y.dtype, y.device, acct);
  if (rows * k == 0) return out;
  MS_RUN(y.device, name, softmax_rows_backward_cpu(y, g, rows, k, log, out),
         softmax_rows_backward_cuda(y, g, rows, k, log, out));
  return out;
}

}  // namespace ms
