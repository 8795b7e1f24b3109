// optim_cuda.cu — the fused optimizer step, norms and scaling on the GPU: one launch over a
// device-side table, as PyTorch's multi_tensor_apply. Block b handles chunk b (16384 elements of
// one parameter, 64 per thread); the table (entries, then the chunk list) is copied in one
// host-to-device transfer queued on the stream, so it needs no synchronisation and the caching
// allocator can reuse its block right after (later copies are ordered behind this kernel).
//
// Napkin math: Adam moves 16 bytes read + 12 written per float32 element (p, g, m, v); a 100M
// parameter model is 2.8 GB per step, ~1 ms at H100's ~3 TB/s. The table is ~100 B per
// parameter + 16 B per chunk: 0.5 MB for that model, ~20 us over PCIe, overlapped with nothing
// else queued — small next to the update itself.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "optim.h"
#include "optim_math.h"

namespace ms {
namespace {

constexpr int kThreads = 256;

cudaStream_t stream() { return static_cast<cudaStream_t>(cuda::stream(0)); }

// A device buffer from the caching allocator, returned to it when the scope ends.
struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer(const char* op, size_t n) : bytes(n) { ptr = cuda::alloc(op, n, 0); }
  ~DeviceBuffer() { if (ptr) cuda::free(ptr, bytes, 0); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// Entries and chunks packed into one buffer: [entries | chunks].
struct Table {
  DeviceBuffer buf;
  const OptimEntry* entries;
  const OptimChunk* chunks;
  Table(const char* op, const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& cs)
      : buf(op, es.size() * sizeof(OptimEntry) + cs.size() * sizeof(OptimChunk)) {
    const size_t eb = es.size() * sizeof(OptimEntry), cb = cs.size() * sizeof(OptimChunk);
    std::vector<char> host(eb + cb);
    std::memcpy(host.data(), es.data(), eb);
    std::memcpy(host.data() + eb, cs.data(), cb);
    cuda::memcpy_h2d(buf.ptr, host.data(), host.size(), 0);
    entries = static_cast<const OptimEntry*>(buf.ptr);
    chunks = reinterpret_cast<const OptimChunk*>(static_cast<char*>(buf.ptr) + eb);
  }
};

__global__ void step_kernel(OptimAlgo algo, const OptimEntry* __restrict__ entries, const OptimChunk* __restrict__ chunks) {
  const OptimChunk c = chunks[blockIdx.x];
  const OptimEntry e = entries[c.entry];  // to registers: every thread reads the same 100 bytes
  const int64_t end = min(e.numel, c.start + kOptimChunk);
  // The instantiation is chosen per block (one parameter): no divergence within a warp.
  optim_update_range(algo, e, c.start + threadIdx.x, end, kThreads);
}

__global__ void scale_kernel(const OptimEntry* __restrict__ entries, const OptimChunk* __restrict__ chunks, float factor) {
  const OptimChunk c = chunks[blockIdx.x];
  const OptimEntry e = entries[c.entry];
  const int64_t end = min(e.numel, c.start + kOptimChunk);
  for (int64_t i = c.start + threadIdx.x; i < end; i += kThreads) {
    if (e.bf16) optim_st<true>(e.p, i, optim_ld<true>(e.p, i) * factor);
    else optim_st<false>(e.p, i, optim_ld<false>(e.p, i) * factor);
  }
}

__device__ __forceinline__ double fold(double a, double b, bool inf) {
  if (!inf) return a + b;
  if (a != a) return a;
  return (b != b || b > a) ? b : a;  // max, NaN sticks
}

// One partial per chunk (block): warp shuffles, then the 8 warp results in shared memory.
// Block 0 also copies the `nscalars` one-element entries after the chunk table (the loss values
// a trainer reads with the norm) to parts[nchunks + j]; a grid of one block when there are no
// chunks.
__global__ void norm_kernel(const OptimEntry* __restrict__ entries, const OptimChunk* __restrict__ chunks, int64_t nchunks,
                            const OptimEntry* __restrict__ scalars, int nscalars, double p, double* __restrict__ parts) {
  if (blockIdx.x == 0 && static_cast<int>(threadIdx.x) < nscalars) {
    const OptimEntry s = scalars[threadIdx.x];
    parts[nchunks + threadIdx.x] = s.bf16 ? optim_ld<true>(s.p, 0) : optim_ld<false>(s.p, 0);
  }
  if (static_cast<int64_t>(blockIdx.x) >= nchunks) return;  // uniform per block
  const bool inf = isinf(p);
  const OptimChunk c = chunks[blockIdx.x];
  const OptimEntry e = entries[c.entry];
  const int64_t end = min(e.numel, c.start + kOptimChunk);
  double acc = 0;
  for (int64_t i = c.start + threadIdx.x; i < end; i += kThreads) {
    const double a = fabs(static_cast<double>(e.bf16 ? optim_ld<true>(e.p, i) : optim_ld<false>(e.p, i)));
    acc = fold(acc, inf ? a : norm_term(a, p), inf);
  }
  for (int d = 16; d > 0; d >>= 1) acc = fold(acc, __shfl_down_sync(0xffffffffu, acc, d), inf);
  __shared__ double warp_parts[kThreads / 32];
  if ((threadIdx.x & 31) == 0) warp_parts[threadIdx.x >> 5] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = warp_parts[0];
    for (int w = 1; w < kThreads / 32; ++w) s = fold(s, warp_parts[w], inf);
    parts[blockIdx.x] = s;
  }
}

}  // namespace

void optim_step_cuda(OptimAlgo algo, const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks) {
  const char* op = algo == OptimAlgo::SGD ? "SGD" : "Adam";
  cuda::require(op, 0);
  Table t(op, es, chunks);
  step_kernel<<<static_cast<unsigned>(chunks.size()), kThreads, 0, stream()>>>(algo, t.entries, t.chunks);
  cuda::check_launch(op);
}

void optim_norm_cuda(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, double p, double* parts,
                     const std::vector<OptimEntry>& scalars) {
  const char* op = "clipGradNorm";
  cuda::require(op, 0);
  if (scalars.size() > static_cast<size_t>(kThreads)) fail(op, "at most ", kThreads, " scalars can be read with the norm, got ", scalars.size());
  std::vector<OptimEntry> all(es);  // the grads' entries, then the scalars'
  all.insert(all.end(), scalars.begin(), scalars.end());
  Table t(op, all, chunks);
  const size_t n = chunks.size() + scalars.size();
  DeviceBuffer out(op, n * sizeof(double));
  norm_kernel<<<static_cast<unsigned>(std::max<size_t>(chunks.size(), 1)), kThreads, 0, stream()>>>(
      t.entries, t.chunks, static_cast<int64_t>(chunks.size()), t.entries + es.size(), static_cast<int>(scalars.size()), p,
      static_cast<double*>(out.ptr));
  cuda::check_launch(op);
  cuda::memcpy_d2h(parts, out.ptr, n * sizeof(double), 0);  // waits for the kernel
}

void optim_scale_cuda(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, float factor) {
  const char* op = "clipGradNorm";
  cuda::require(op, 0);
  Table t(op, es, chunks);
  scale_kernel<<<static_cast<unsigned>(chunks.size()), kThreads, 0, stream()>>>(t.entries, t.chunks, factor);
  cuda::check_launch(op);
}

}  // namespace ms
