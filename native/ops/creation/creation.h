// creation.h — tensors made from nothing: fill (zeros/ones/full), arange, rand, randn.
//
// rand/randn use Philox4x32-10 keyed by (seed, offset) (core/philox.h), so the same call gives
// the same numbers on cpu and cuda. Shapes: any; dtypes: float32/bfloat16 (rand, randn),
// any (fill, arange).
#pragma once
#include "../../core/tensor.h"

namespace ms {

enum class RandKind : int32_t { Uniform = 0, Normal = 1 };

Tensor fill(const char* op, const std::vector<int64_t>& shape, double value, DType dtype, Device device,
            const std::shared_ptr<Accounting>& acct);
// out[i] = start + i * step, i in [0, n).
Tensor arange(double start, double step, int64_t n, DType dtype, Device device,
              const std::shared_ptr<Accounting>& acct);
Tensor random(RandKind kind, const std::vector<int64_t>& shape, uint64_t seed, uint64_t offset,
              DType dtype, Device device, const std::shared_ptr<Accounting>& acct);

void fill_cpu(Tensor& out, double value);
void arange_cpu(Tensor& out, double start, double step);
void random_cpu(Tensor& out, RandKind kind, uint64_t seed, uint64_t offset);
void fill_cuda(Tensor& out, double value);
void arange_cuda(Tensor& out, double start, double step);
void random_cuda(Tensor& out, RandKind kind, uint64_t seed, uint64_t offset);

}  // namespace ms
