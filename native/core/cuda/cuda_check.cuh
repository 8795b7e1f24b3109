// cuda_check.cuh — turn a cudaError_t into an ms::Error naming the op.
#pragma once
#include <cuda_runtime.h>

#include "../error.h"

#define MS_CUDA_CHECK(op, expr)                                                         \
  do {                                                                                  \
    cudaError_t err_ = (expr);                                                          \
    if (err_ != cudaSuccess) {                                                          \
      cudaGetLastError(); /* clear a sticky-free error so later calls can go on */      \
      ::ms::fail(op, #expr, " failed: ", cudaGetErrorName(err_), " (", cudaGetErrorString(err_), ")"); \
    }                                                                                   \
  } while (0)
