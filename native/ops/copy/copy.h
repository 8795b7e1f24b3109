// copy.h — contiguous(): a row-major copy of a strided tensor (after permute/slice/expand views),
// the form every kernel takes. Returns the input itself when it is already contiguous.
//
// Shapes: x (any, up to 16 dims, any strides incl. 0 for expanded dims) -> same shape, contiguous.
#pragma once
#include "../../core/tensor.h"

namespace ms {

Tensor contiguous(const char* op, const Tensor& x, const std::shared_ptr<Accounting>& acct);

// Strided -> contiguous copy into `out` (same shape and dtype, contiguous).
void strided_copy_cpu(const Tensor& x, Tensor& out);
void strided_copy_cuda(const Tensor& x, Tensor& out);

}  // namespace ms
