// cuda_api.h — everything the core and the binding need from CUDA, behind plain C++ types, so no
// file outside native/core/cuda and native/ops/*/*_cuda.cu includes a CUDA header. A build
// without CUDA links cuda_stub.cpp instead, whose functions report "built without CUDA".
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ms {
namespace cuda {

struct GpuInfo {
  std::string name;
  int64_t memory_bytes;
  int cc_major, cc_minor;
  int sm_count;
};

struct CacheStats {
  int64_t allocated_bytes;  // in live blocks handed out
  int64_t cached_bytes;     // freed blocks kept for reuse
  int64_t reserved_bytes;   // allocated + cached (what cudaMalloc holds)
  int64_t alloc_calls, cache_hits;
};

bool built();                 // compiled with CUDA support
bool cublas_linked();         // compiled and linked with cuBLAS
int device_count();           // 0 when there is no GPU or no driver (never throws)
std::string status();         // why device_count() is 0, e.g. "cudaGetDeviceCount failed: error 35 (...)"
int runtime_version();        // e.g. 13000, or 0
std::vector<GpuInfo> gpus();

// Throws ms::Error(op, ...) when CUDA is not usable, so every op that reaches the GPU says why.
void require(const char* op, int device);

void* stream(int device);     // the one cudaStream_t per device all work is queued on

// Caching allocator: blocks are rounded up to a size class and kept on free for reuse, as
// PyTorch's does; the first cudaMalloc failure empties the cache and retries once.
void* alloc(const char* op, size_t bytes, int device);
void free(void* ptr, size_t bytes, int device);
CacheStats cache_stats();
void empty_cache();

void memcpy_h2d(void* dst, const void* src, size_t bytes, int device);  // returns when src is read
void memcpy_d2h(void* dst, const void* src, size_t bytes, int device);  // waits for the stream
void memcpy_d2d(void* dst, const void* src, size_t bytes, int device);  // queued
void synchronize(int device);
// Raise a CUDA error (if any) from the last launch as ms::Error naming the op.
void check_launch(const char* op);

// Benchmark helpers (CUDA events): median seconds of `iters` copies of `bytes`.
// kind: 0 = h2d pageable, 1 = h2d pinned, 2 = d2h pinned, 3 = d2d.
double time_copy(int kind, size_t bytes, int iters, int device);

// Benchmark timing with CUDA events on the device's stream: event_record() records a new event
// and returns its id (a ring of 1024 ids; an id is valid until 1024 later records);
// event_elapsed_ms(a, b) waits for b and returns the milliseconds between a and b.
int event_record(int device);
double event_elapsed_ms(int a, int b);

}  // namespace cuda
}  // namespace ms
