// reduce.h — reductions over the last axis of a (R, K) row-major view, and softmax.
//
// The TS side moves the reduced dims to the end (a permuted view made contiguous), so these
// row kernels cover "any dims, keepdim". Glossary: R rows, K elements reduced per row.
//
//   reduce_rows(op, x (R, K)) -> (R)   sum, mean, max, min, logsumexp, var (p = correction),
//                                      argmax/argmin -> int32 (first index of the extreme)
//   softmax_rows(x (R, K), log)        softmax or log-softmax of each row
//   softmax_rows_backward(y, g, log)   dx = y * (g - sum(g * y))      (softmax)
//                                      dx = g - exp(y) * sum(g)       (log-softmax)
// Accumulation is in double (float32/bf16 inputs), so a sum of 10^6 values keeps float32
// precision; results are stored in the input dtype (int32 sums wrap like int32).
#pragma once
#include "../../core/tensor.h"

namespace ms {

enum class ReduceOp : int32_t { Sum, Mean, Max, Min, LogSumExp, Var, ArgMax, ArgMin, Count };

const char* reduce_op_name(ReduceOp op);

Tensor reduce_rows(ReduceOp op, const Tensor& x, int64_t rows, int64_t k, double p,
                   const std::shared_ptr<Accounting>& acct);
// Sum or mean over the middle axis of a contiguous (outer, K, inner) view -> (outer, inner),
// without moving the reduced axis to the end first (a bias gradient sums a (N, C) gradient over
// N: the row path paid a transposed copy of all of it). Double accumulators. The CPU adds in k
// order, one accumulator per output element (the result does not depend on the thread count);
// CUDA adds 8 interleaved row lanes per segment of k and folds lanes and segments in a fixed
// order (the result depends on the shape only).
Tensor reduce_cols(ReduceOp op, const Tensor& x, int64_t outer, int64_t k, int64_t inner,
                   const std::shared_ptr<Accounting>& acct);
void reduce_cols_cpu(ReduceOp op, const Tensor& x, int64_t outer, int64_t k, int64_t inner, Tensor& out);
Tensor softmax_rows(const Tensor& x, int64_t rows, int64_t k, bool log, const std::shared_ptr<Accounting>& acct);
Tensor softmax_rows_backward(const Tensor& y, const Tensor& g, int64_t rows, int64_t k, bool log,
                             const std::shared_ptr<Accounting>& acct);

void reduce_rows_cpu(ReduceOp op, const Tensor& x, int64_t rows, int64_t k, double p, Tensor& out);
void reduce_rows_cuda(ReduceOp op, const Tensor& x, int64_t rows, int64_t k, double p, Tensor& out);
void reduce_cols_cuda(ReduceOp op, const Tensor& x, int64_t outer, int64_t k, int64_t inner, Tensor& out);
void softmax_rows_cpu(const Tensor& x, int64_t rows, int64_t k, bool log, Tensor& out);
void softmax_rows_cuda(const Tensor& x, int64_t rows, int64_t k, bool log, Tensor& out);
void softmax_rows_backward_cpu(const Tensor& y, const Tensor& g, int64_t rows, int64_t k, bool log, Tensor& out);
void softmax_rows_backward_cuda(const Tensor& y, const Tensor& g, int64_t rows, int64_t k, bool log, Tensor& out);

}  // namespace ms
