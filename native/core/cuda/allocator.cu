// allocator.cu — the CUDA caching allocator.
//
// cudaMalloc/cudaFree cost 10-100s of microseconds and cudaFree synchronises the device, so a
// training step that allocates its activations afresh would stall on them. Freed blocks are
// kept in free lists keyed by (device, size class) and handed out again; sizes are rounded up
// to 512 B below 1 MiB and to 2 MiB above, so a step that repeats its shapes hits the cache
// every time after the first. Because all work runs on one stream per device, a block freed
// while a kernel still reads it is only reused by work queued after that kernel: no event
// bookkeeping is needed (the same argument as PyTorch's single-stream case).
#include <map>
#include <mutex>
#include <vector>

#include "../cuda_api.h"
#include "cuda_check.cuh"

namespace ms {
namespace cuda {
namespace {

constexpr size_t kSmall = 1 << 20;
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = 2 << 20;

size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  size_t r = bytes < kSmall ? kSmallRound : kLargeRound;
  return (bytes + r - 1) / r * r;
}

struct State {
  std::mutex mutex;
  std::map<std::pair<int, size_t>, std::vector<void*>> free_blocks;
  CacheStats stats{0, 0, 0, 0, 0};
};

State& state() {
  static State* s = new State();  // never destroyed: CUDA may be torn down before statics
  return *s;
}

void release_cached_locked(State& s) {
  for (auto& kv : s.free_blocks) {
    cudaSetDevice(kv.first.first);
    for (void* p : kv.second) cudaFree(p);
  }
  s.free_blocks.clear();
  s.stats.reserved_bytes -= s.stats.cached_bytes;
  s.stats.cached_bytes = 0;
}

}  // namespace

void* alloc(const char* op, size_t bytes, int device) {
  require(op, device);
  size_t cls = size_class(bytes);
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  s.stats.alloc_calls++;
  auto it = s.free_blocks.find({device, cls});
  if (it != s.free_blocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    s.stats.cache_hits++;
    s.stats.cached_bytes -= cls;
    s.stats.allocated_bytes += cls;
    return p;
  }
  MS_CUDA_CHECK(op, cudaSetDevice(device));
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, cls);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    cudaDeviceSynchronize();  // blocks in the cache may still be read by queued kernels
    release_cached_locked(s);
    e = cudaMalloc(&p, cls);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    fail(op, "CUDA out of memory: asked for ", bytes, " bytes; ", free_b, " of ", total_b,
         " bytes free on device ", device, ", ", s.stats.allocated_bytes,
         " bytes held by live tensors (", cudaGetErrorString(e), ")");
  }
  s.stats.allocated_bytes += cls;
  s.stats.reserved_bytes += cls;
  return p;
}

void free(void* ptr, size_t bytes, int device) {
  if (!ptr) return;
  size_t cls = size_class(bytes);
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  s.free_blocks[{device, cls}].push_back(ptr);
  s.stats.allocated_bytes -= cls;
  s.stats.cached_bytes += cls;
}

CacheStats cache_stats() {
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  return s.stats;
}

void empty_cache() {
  if (device_count() == 0) return;
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  for (int d = 0; d < device_count(); ++d) {
    cudaSetDevice(d);
    cudaStreamSynchronize(static_cast<cudaStream_t>(stream(d)));
  }
  release_cached_locked(s);
}

}  // namespace cuda
}  // namespace ms
