// cast.h — `to`: copy a tensor to another device and/or dtype (contiguous result).
//
// Conversions: float32 <-> bfloat16 round to nearest even; float -> int32 truncates toward zero
// and saturates at the int32 range (NaN -> 0), so no conversion is undefined behaviour;
// int32 -> float rounds to nearest. Across devices the data moves in the smaller dtype.
#pragma once
#include "../../core/tensor.h"

namespace ms {

Tensor to(const Tensor& x, DType dtype, Device device, const std::shared_ptr<Accounting>& acct);

// Elementwise dtype conversion between two contiguous tensors of equal numel on one device.
void convert_cpu(const Tensor& src, Tensor& dst);
void convert_cuda(const Tensor& src, Tensor& dst);

}  // namespace ms
