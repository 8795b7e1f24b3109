// dispatch.h — MS_RUN(device, op, cpu_call, cuda_call): run the CPU reference or the CUDA
// kernel for a tensor's device. A build without CUDA compiles no *_cuda symbol, so there the
// CUDA branch becomes cuda::require, which throws "[op] device 'cuda' is not available: ...".
#pragma once
#include "cuda_api.h"
#include "tensor.h"

#ifdef MAMBA_SPEECH_WITH_CUDA
#define MS_RUN(dev, op, cpu_call, cuda_call) \
  do { if ((dev) == ::ms::Device::CPU) { cpu_call; } else { cuda_call; } } while (0)
#else
#define MS_RUN(dev, op, cpu_call, cuda_call) \
  do { if ((dev) == ::ms::Device::CPU) { cpu_call; } else { ::ms::cuda::require(op, 0); } } while (0)
#endif
