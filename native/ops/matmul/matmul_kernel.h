// matmul_kernel.h — the register-tiled micro-kernel interface: C[mr x nr] (+)= A · B over kc,
// with A packed as kc columns of mr floats and B as kc rows of nr floats (matmul_cpu.cpp).
#pragma once
#include <cstdint>

namespace ms {

struct MicroKernel {
  const char* name;
  int mr, nr;
  // c has row stride ldc; accumulate: C += A·B, else C = A·B.
  void (*run)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
};

// The best kernel for this CPU, chosen once at run time (AVX-512 > AVX2+FMA > portable).
const MicroKernel& micro_kernel();

}  // namespace ms
