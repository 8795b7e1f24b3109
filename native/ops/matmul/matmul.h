// matmul.h — batched matrix multiply with arbitrary strides: C[b] = A[b] · B[b].
//
// Glossary: Bt batch count, M rows of A and C, K shared dim, N columns of B and C.
// Shapes: a (Bt, M, K), b (Bt, K, N) -> out (Bt, M, N) contiguous. Inputs may be any strided
// views (a transpose is just swapped strides; a broadcast batch has stride 0), so no op copies
// before multiplying. dtypes: float32 (exact float32 unless allow_tf32 on CUDA); bfloat16 on
// CUDA (tensor cores, float32 accumulation, bfloat16 result).
//
// CPU: packed, blocked GEMM with an AVX-512 (or AVX2, or portable) register-tiled micro-kernel,
// threaded over blocks of C. CUDA: cuBLAS when linked, else the project's tiled kernel.
#pragma once
#include "../../core/tensor.h"

namespace ms {

struct MatmulOptions {
  bool allow_tf32 = false;
};

Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& opts, const std::shared_ptr<Accounting>& acct);

void matmul_cpu(const Tensor& a, const Tensor& b, Tensor& out);
void matmul_cuda(const Tensor& a, const Tensor& b, Tensor& out, const MatmulOptions& opts);

// Which CPU micro-kernel this machine uses ("avx512", "avx2" or "portable").
const char* matmul_cpu_kernel_name();

// Benchmarks and tests set this to run the project's own CUDA kernel even where cuBLAS is linked.
void matmul_set_force_own_kernel(bool on);
bool matmul_force_own_kernel();

}  // namespace ms
