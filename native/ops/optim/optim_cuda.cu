// optim_cuda.cu — the fused optimizer step, norms and scaling on the GPU: one launch over a
// table of per-parameter entries and their chunks, as PyTorch's multi_tensor_apply. Block b
// handles chunk b (16384 elements of one parameter, 64 per thread).
//
// The table travels one of two ways. A small one (a small model, a few scalars: <= 24 entries
// and <= 96 chunks, under 4 KB) is a kernel parameter: no upload, no allocation, nothing but the
// launch (a training step of a small model pays per-launch host time several times over, and
// the trainer's norm is one more launch). A larger one is copied to the device in one
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

// Entries and chunks packed into one device buffer: [entries | chunks].
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
  // the kernels' view of it
  struct Ref {
    const OptimEntry* e;
    const OptimChunk* c;
    __device__ OptimEntry entry(int64_t i) const { return e[i]; }
    __device__ OptimChunk chunk(int64_t i) const { return c[i]; }
  };
  Ref ref() const { return {entries, chunks}; }
};

// A table small enough to be a kernel parameter (kernel parameters are limited to 4 KB).
constexpr int kSmallEntries = 24, kSmallChunks = 96;
struct SmallTable {
  OptimEntry e[kSmallEntries];
  OptimChunk c[kSmallChunks];
  __device__ OptimEntry entry(int64_t i) const { return e[i]; }
  __device__ OptimChunk chunk(int64_t i) const { return c[i]; }
  static bool fits(size_t entries, size_t chunks) { return entries <= kSmallEntries && chunks <= kSmallChunks; }
  SmallTable(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& cs) {
    std::memset(static_cast<void*>(this), 0, sizeof(*this));
    std::memcpy(static_cast<void*>(e), es.data(), es.size() * sizeof(OptimEntry));
    std::memcpy(static_cast<void*>(c), cs.data(), cs.size() * sizeof(OptimChunk));
  }
};
static_assert(sizeof(SmallTable) + 64 <= 4096, "a SmallTable (plus the other arguments) must fit the 4 KB of kernel parameters");

// Runs `launch(tableRef)` with the table as a kernel parameter when it fits, else uploaded.
template <typename F>
void with_table(const char* op, const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& cs, F&& launch) {
  if (SmallTable::fits(es.size(), cs.size())) {
    launch(SmallTable(es, cs));
    return;
  }
  Table t(op, es, cs);
  launch(t.ref());
}

template <typename Tab>
__global__ void step_kernel(OptimAlgo algo, const __grid_constant__ Tab t) {
  const OptimChunk c = t.chunk(blockIdx.x);
  const OptimEntry e = t.entry(c.entry);  // to registers: every thread reads the same 100 bytes
  const int64_t end = min(e.numel, c.start + kOptimChunk);
  // The instantiation is chosen per block (one parameter): no divergence within a warp.
  optim_update_range(algo, e, c.start + threadIdx.x, end, kThreads);
}

template <typename Tab>
__global__ void scale_kernel(const __grid_constant__ Tab t, float factor) {
  const OptimChunk c = t.chunk(blockIdx.x);
  const OptimEntry e = t.entry(c.entry);
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
// Block 0 also copies the `nscalars` one-element entries after the grads' (entries nentries ..,
// the loss values a trainer reads with the norm) to parts[nchunks + j]; a grid of one block when
// there are no chunks.
template <typename Tab>
__global__ void norm_kernel(const __grid_constant__ Tab t, int64_t nchunks, int64_t nentries, int nscalars, double p,
                            double* __restrict__ parts) {
  if (blockIdx.x == 0 && static_cast<int>(threadIdx.x) < nscalars) {
    const OptimEntry s = t.entry(nentries + threadIdx.x);
    parts[nchunks + threadIdx.x] = s.bf16 ? optim_ld<true>(s.p, 0) : optim_ld<false>(s.p, 0);
  }
  if (static_cast<int64_t>(blockIdx.x) >= nchunks) return;  // uniform per block
  const bool inf = isinf(p);
  const OptimChunk c = t.chunk(blockIdx.x);
  const OptimEntry e = t.entry(c.entry);
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
  with_table(op, es, chunks, [&](const auto& t) {
    step_kernel<<<static_cast<unsigned>(chunks.size()), kThreads, 0, stream()>>>(algo, t);
  });
  cuda::check_launch(op);
}

void optim_norm_cuda(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, double p, double* parts,
                     const std::vector<OptimEntry>& scalars) {
  const char* op = "clipGradNorm";
  cuda::require(op, 0);
  if (scalars.size() > static_cast<size_t>(kThreads)) fail(op, "at most ", kThreads, " scalars can be read with the norm, got ", scalars.size());
  std::vector<OptimEntry> all(es);  // the grads' entries, then the scalars'
  all.insert(all.end(), scalars.begin(), scalars.end());
  const size_t n = chunks.size() + scalars.size();
  DeviceBuffer out(op, n * sizeof(double));
  with_table(op, all, chunks, [&](const auto& t) {
    norm_kernel<<<static_cast<unsigned>(std::max<size_t>(chunks.size(), 1)), kThreads, 0, stream()>>>(
        t, static_cast<int64_t>(chunks.size()), static_cast<int64_t>(es.size()), static_cast<int>(scalars.size()), p,
        static_cast<double*>(out.ptr));
  });
  cuda::check_launch(op);
  cuda::memcpy_d2h(parts, out.ptr, n * sizeof(double), 0);  // waits for the kernel
}

void optim_scale_cuda(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, float factor) {
  const char* op = "clipGradNorm";
  cuda::require(op, 0);
  with_table(op, es, chunks, [&](const auto& t) {
    scale_kernel<<<static_cast<unsigned>(chunks.size()), kThreads, 0, stream()>>>(t, factor);
  });
  cuda::check_launch(op);
}

}  // namespace ms
