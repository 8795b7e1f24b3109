// host_allocator.cpp — see host_allocator.h.
#include "host_allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include <unistd.h>

#include "error.h"

namespace ms {
namespace host {
namespace {

constexpr size_t kMinCached = 16 << 10;  // smaller blocks: malloc directly
constexpr size_t kAlign = 64;

// The block size for a request: 64-byte multiples below kMinCached, else the next quarter
// octave (2^e, 1.25 2^e, 1.5 2^e, 1.75 2^e).
size_t size_class(size_t bytes) {
  if (bytes < kMinCached) return bytes == 0 ? kAlign : (bytes + kAlign - 1) / kAlign * kAlign;
  size_t e = 63 - static_cast<size_t>(__builtin_clzll(bytes));  // 2^e <= bytes
  const size_t quarter = size_t(1) << (e - 2);
  return (bytes + quarter - 1) / quarter * quarter;
}

size_t cache_limit() {
  const char* env = std::getenv("MAMBA_SPEECH_CPU_CACHE_MB");
  if (env && *env) return static_cast<size_t>(std::strtoull(env, nullptr, 10)) << 20;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return size_t(1) << 30;
  return static_cast<size_t>(pages) * static_cast<size_t>(page) / 4;
}

struct State {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free_blocks;
  CacheStats stats{0, 0, 0, 0, 0};
  size_t limit = cache_limit();
};

State& state() {
  static State* s = new State();  // never destroyed: storages may be freed during static teardown
  return *s;
}

void release_cached_locked(State& s) {
  for (auto& kv : s.free_blocks)
    for (void* p : kv.second) std::free(p);
  s.free_blocks.clear();
  s.stats.reserved_bytes -= s.stats.cached_bytes;
  s.stats.cached_bytes = 0;
}

}  // namespace

void* alloc(const char* op, size_t bytes) {
  const size_t cls = size_class(bytes);
  State& s = state();
  if (cls < kMinCached) {
    void* p = std::aligned_alloc(kAlign, cls);
    if (!p) {
      empty_cache();
      p = std::aligned_alloc(kAlign, cls);
    }
    if (!p) fail(op, "out of CPU memory allocating ", bytes, " bytes");
    std::lock_guard<std::mutex> lk(s.mutex);
    s.stats.alloc_calls++;
    return p;
  }
  std::lock_guard<std::mutex> lk(s.mutex);
  s.stats.alloc_calls++;
  auto it = s.free_blocks.find(cls);
  if (it != s.free_blocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    s.stats.cache_hits++;
    s.stats.cached_bytes -= static_cast<int64_t>(cls);
    s.stats.allocated_bytes += static_cast<int64_t>(cls);
    return p;
  }
  void* p = std::aligned_alloc(kAlign, cls);
  if (!p) {
    release_cached_locked(s);
    p = std::aligned_alloc(kAlign, cls);
  }
  if (!p)
    fail(op, "out of CPU memory allocating ", bytes, " bytes (", s.stats.allocated_bytes,
         " bytes held by live tensors)");
  s.stats.allocated_bytes += static_cast<int64_t>(cls);
  s.stats.reserved_bytes += static_cast<int64_t>(cls);
  return p;
}

void free(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t cls = size_class(bytes);
  if (cls < kMinCached) {
    std::free(ptr);
    return;
  }
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  s.stats.allocated_bytes -= static_cast<int64_t>(cls);
  if (static_cast<size_t>(s.stats.cached_bytes) + cls > s.limit) {
    std::free(ptr);
    s.stats.reserved_bytes -= static_cast<int64_t>(cls);
    return;
  }
  s.free_blocks[cls].push_back(ptr);
  s.stats.cached_bytes += static_cast<int64_t>(cls);
}

CacheStats cache_stats() {
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  return s.stats;
}

void empty_cache() {
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  release_cached_locked(s);
}

}  // namespace host
}  // namespace ms
