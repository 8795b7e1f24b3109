// copy.h — contiguous(): a row-major copy of a strided tensor (after permute/slice/expand views),
// the form every kernel takes. Returns the input itself when it is already contiguous.
//
// Shapes: x (any, up to 16 dims, any strides incl. 0 for expanded dims) -> same shape, contiguous.
#pragma once
#include "../../core/tensor.h"

namespace ms {

Tensor contiguous(const char* op, const Tensor& x, const std::shared_ptr<Accounting>& acct);

// dst[...] = src[...] for a strided destination view (concat, pad, scatter of slices): src
// broadcasts to dst's shape; both on one device, same dtype. Writes into dst's storage.
void copy_into(const char* op, const Tensor& dst, const Tensor& src);
void copy_into_cpu(const Tensor& dst, const Tensor& src);
void copy_into_cuda(const Tensor& dst, const Tensor& src);

// Strided -> contiguous copy into `out` (same shape and dtype, contiguous).
void strided_copy_cpu(const Tensor& x, Tensor& out);
void strided_copy_cuda(const Tensor& x, Tensor& out);

}  // namespace ms
