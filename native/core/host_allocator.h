// host_allocator.h — the caching allocator of CPU tensor storage.
//
// A large fresh allocation is mapped anew by malloc (glibc maps blocks over its mmap threshold,
// at most 32 MiB, and unmaps them on free), and its first touch costs a page fault per 4 KiB
// page: on the 2-core CI VM a training step's (8, 256, 149, 39) conv output (48 MB) took 200 ms
// to fault in, 40x its arithmetic. Freed blocks of 16 KiB and more are kept in free lists keyed
// by size class and handed out again, so a step that repeats its shapes touches warm pages from
// the second step on. Classes are quarter octaves (a block is at most 25 % larger than asked),
// so nearby sizes (a batch a few frames longer) share blocks. Smaller blocks go straight to
// malloc (its own bins are fast and warm). The cache holds at most MAMBA_SPEECH_CPU_CACHE_MB
// (default a quarter of physical memory); past it, freed blocks go back to the system.
// Every block is 64-byte aligned (one AVX-512 register, one cache line).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ms {
namespace host {

struct CacheStats {
  int64_t allocated_bytes;  // in live blocks (size classes)
  int64_t cached_bytes;     // freed blocks kept for reuse
  int64_t reserved_bytes;   // allocated + cached
  int64_t alloc_calls, cache_hits;
};

// `op` names the caller in the out-of-memory error. bytes may be 0 (a valid pointer comes back).
void* alloc(const char* op, size_t bytes);
// `bytes` as passed to alloc.
void free(void* ptr, size_t bytes);
CacheStats cache_stats();
// Returns every cached block to the system.
void empty_cache();

}  // namespace host
}  // namespace ms
