// matmul_cuda.cu — batched GEMM on the GPU: cuBLAS when linked (exact float32 by default,
// TF32 on request, bfloat16 with float32 accumulation), else the project's tiled kernel.
//
// cuBLAS is column-major, so row-major C = A·B is computed as C^T = B^T·A^T; each operand's
// layout (row- or column-major view, from its strides) picks op N or T, so transposed views
// go straight in. Layouts cuBLAS cannot take reach matmul_cuda already made contiguous.
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>

#ifdef MAMBA_SPEECH_CUBLAS
#include <cublas_v2.h>
#endif

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "matmul.h"

namespace ms {
namespace {

// ---- The project's own kernel: 64x64 tile per 256-thread block, 4x4 outputs per thread,
// K in steps of 16 through shared memory. Any strides, float32 or bfloat16 in, float32
// accumulation. About a quarter of cuBLAS's fp32 speed; it exists for toolkits without cuBLAS.
template <typename T> __device__ __forceinline__ float ldf(const T* p) { return *p; }
template <> __device__ __forceinline__ float ldf<uint16_t>(const uint16_t* p) { return bf16_to_f32(*p); }
template <typename T> __device__ __forceinline__ void stf(T* p, float v) { *p = v; }
template <> __device__ __forceinline__ void stf<uint16_t>(uint16_t* p, float v) { *p = f32_to_bf16(v); }

struct Strides {
  int64_t ab, am, ak, bb, bk, bn;
};

template <typename T>
__global__ void __launch_bounds__(256) gemm_tiled(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C,
                                                  int64_t M, int64_t N, int64_t K, Strides s) {
  __shared__ float As[16][64 + 4];
  __shared__ float Bs[16][64 + 4];
  const int64_t batch = blockIdx.z;
  const T* a = A + batch * s.ab;
  const T* b = B + batch * s.bb;
  T* c = C + batch * M * N;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * 64, n0 = static_cast<int64_t>(blockIdx.x) * 64;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += 16) {
    for (int e = threadIdx.x; e < 16 * 64; e += 256) {
      const int kk = e / 64, mm = e % 64;
      const int64_t gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = (gm < M && gk < K) ? ldf(a + gm * s.am + gk * s.ak) : 0.f;
      const int64_t gn = n0 + mm;
      Bs[kk][mm] = (gn < N && gk < K) ? ldf(b + gk * s.bk + gn * s.bn) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < 16; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t gm = m0 + ty * 4 + i;
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t gn = n0 + tx * 4 + j;
      if (gn < N) stf(c + gm * N + gn, acc[i][j]);
    }
  }
}

__global__ void zero_kernel(uint8_t* p, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    p[i] = 0;
}

void own_kernel(const Tensor& a, const Tensor& b, Tensor& out, cudaStream_t st) {
  const int64_t Bt = a.shape[0], M = a.shape[1], K = a.shape[2], N = b.shape[2];
  Strides s{a.strides[0], a.strides[1], a.strides[2], b.strides[0], b.strides[1], b.strides[2]};
  dim3 grid(static_cast<unsigned>((N + 63) / 64), static_cast<unsigned>((M + 63) / 64), static_cast<unsigned>(Bt));
  if (grid.y > 65535 || grid.z > 65535) fail("matmul", "too many row tiles or batches for one launch (", M, " rows, ", Bt, " batches)");
  if (a.dtype == DType::F32) gemm_tiled<float><<<grid, 256, 0, st>>>(a.ptr<float>(), b.ptr<float>(), out.ptr<float>(), M, N, K, s);
  else gemm_tiled<uint16_t><<<grid, 256, 0, st>>>(a.ptr<uint16_t>(), b.ptr<uint16_t>(), out.ptr<uint16_t>(), M, N, K, s);
}

#ifdef MAMBA_SPEECH_CUBLAS
std::mutex handle_mutex;
cublasHandle_t handles[64] = {};

// One handle per device, bound once to the device's stream with a 32 MiB workspace (what
// PyTorch gives cuBLAS; the small default pool made bf16 8192^3 about 10% slower). The stream
// never changes, so cublasSetStream (which resets the workspace) runs only here.
cublasHandle_t handle(int device, cudaStream_t st) {
  std::lock_guard<std::mutex> lk(handle_mutex);
  if (!handles[device]) {
    cublasHandle_t h;
    cublasStatus_t c = cublasCreate(&h);
    if (c == CUBLAS_STATUS_ALLOC_FAILED) {
      // GPU memory is full of cached blocks: give them back and try once more.
      cuda::empty_cache();
      c = cublasCreate(&h);
    }
    if (c != CUBLAS_STATUS_SUCCESS)
      fail("matmul", "cublasCreate failed: ", cublasGetStatusString(c),
           c == CUBLAS_STATUS_ALLOC_FAILED ? " (out of GPU memory; free tensors and call emptyCache())" : "");
    cublasSetStream(h, st);
    const size_t ws_bytes = 32u << 20;
    void* ws = nullptr;
    if (cudaMalloc(&ws, ws_bytes) == cudaSuccess) cublasSetWorkspace(h, ws, ws_bytes);
    else cudaGetLastError();
    handles[device] = h;
  }
  return handles[device];
}

// Column-major view of an operand: op and leading dim, or false when neither stride is unit.
bool colmajor(int64_t rows_stride, int64_t cols_stride, int64_t rows, int64_t cols, cublasOperation_t* op, int64_t* ld) {
  // The matrix here is the transposed operand (B^T: N x K, A^T: K x M) in column-major terms:
  // element (r, c) at r * rows_stride + c * cols_stride.
  if (rows_stride == 1 || rows == 1) {
    *op = CUBLAS_OP_N;
    *ld = std::max<int64_t>(cols == 1 ? rows : cols_stride, rows);
    return cols == 1 || cols_stride >= rows;
  }
  if (cols_stride == 1 || cols == 1) {
    *op = CUBLAS_OP_T;
    *ld = std::max<int64_t>(rows_stride, cols);
    return rows_stride >= cols;
  }
  return false;
}
#endif

}  // namespace

void matmul_cuda(const Tensor& a, const Tensor& b, Tensor& out, const MatmulOptions& opts) {
  cudaStream_t st = static_cast<cudaStream_t>(cuda::stream(0));
  const int64_t Bt = a.shape[0], M = a.shape[1], K = a.shape[2], N = b.shape[2];
  if (K == 0) {
    zero_kernel<<<std::max<int64_t>(1, std::min<int64_t>((out.nbytes() + 255) / 256, 2048)), 256, 0, st>>>(
        static_cast<uint8_t*>(out.data()), out.nbytes());
    cuda::check_launch("matmul");
    return;
  }
#ifdef MAMBA_SPEECH_CUBLAS
  if (!matmul_force_own_kernel()) {
    cublasOperation_t opB, opA;
    int64_t ldb, lda;
    // B^T (N x K): element (n, k) = b[k * sbk + n * sbn]; A^T (K x M): (k, m) = a[m * sam + k * sak].
    const bool okB = colmajor(b.strides[2], b.strides[1], N, K, &opB, &ldb);
    const bool okA = colmajor(a.strides[2], a.strides[1], K, M, &opA, &lda);
    const bool fits = okA && okB && M <= INT32_MAX && N <= INT32_MAX && K <= INT32_MAX && Bt <= INT32_MAX &&
                      lda <= INT32_MAX && ldb <= INT32_MAX;
    if (fits) {
      cublasHandle_t h = handle(0, st);
      const float alpha = 1.f, beta = 0.f;
      const cudaDataType_t t = a.dtype == DType::F32 ? CUDA_R_32F : CUDA_R_16BF;
      const cublasComputeType_t ct =
          a.dtype == DType::F32 && opts.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      cublasStatus_t r = cublasGemmStridedBatchedEx(
          h, opB, opA, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, b.data(), t,
          static_cast<int>(ldb), b.strides[0], a.data(), t, static_cast<int>(lda), a.strides[0], &beta, out.data(), t,
          static_cast<int>(N), M * N, static_cast<int>(Bt), ct, CUBLAS_GEMM_DEFAULT);
      if (r != CUBLAS_STATUS_SUCCESS)
        fail("matmul", "cublasGemmStridedBatchedEx on ", shape_str(a.shape), " x ", shape_str(b.shape), " failed: ",
             cublasGetStatusString(r), r == CUBLAS_STATUS_ALLOC_FAILED ? " (out of GPU memory)" : "");
      return;
    }
  }
#endif
  own_kernel(a, b, out, st);
  cuda::check_launch("matmul");
}

}  // namespace ms
