// thread_pool.h — the CPU thread pool every CPU op runs its loops on.
//
// parallel_for(n, grain, fn) calls fn(begin, end) over disjoint ranges covering [0, n). Ranges
// are at least `grain` long, so a 1-element add never wakes a thread (a wake-up costs ~5-20 us,
// 1000x the work). The pool is process-wide with one worker per core minus the caller; when two
// JS threads (worker_threads) call at once, the second runs its loop inline rather than queue;
// a parallel_for called from inside a job (nested) also runs inline.
// After a job, workers (and the caller, waiting for them) spin ~50 us before sleeping: a step's
// ops come back to back, and on a VM a futex wake-up cost more than a 256^3 product's loop
// (2 threads: 158 -> 207 GFLOP/s at 256^3 on the 2-core CI machine).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace ms {

using RangeFn = std::function<void(int64_t begin, int64_t end)>;

void parallel_for(int64_t n, int64_t grain, const RangeFn& fn);
int num_threads();           // workers + the caller
void set_num_threads(int n);  // 1 disables the pool; takes effect for later calls

// A 64-byte aligned buffer of at least `floats` floats, owned by the calling thread and kept
// between calls (fresh pages cost a fault each: a 1 MB packing buffer per call took longer than
// a 256^3 product). Slots 0 and 1 are the GEMM's B and A packs (ops/matmul/gemm_cpu.h); ops use
// 2 and 3 for their own scratch, never across a call that may run a GEMM on the same thread.
// The contents are undefined; a larger request may move the buffer.
constexpr int kThreadBufferSlots = 4;
float* thread_buffer(int slot, size_t floats);

// Large host copies. Writing into freshly allocated memory (a new ArrayBuffer, a new tensor)
// costs a page fault per 4 KiB page, and on VMs that dominates a single-threaded memcpy (256 MiB:
// ~160 ms into fresh pages, ~23 ms into touched ones, on the 2-core CI machine); the pool takes
// the faults in parallel. Below 8 MiB both are plain serial loops.
void parallel_memcpy(void* dst, const void* src, size_t bytes);
// Touches every page of [dst, dst + bytes) by writing a zero byte to it, in parallel, so a copy
// that cannot be split (a device-to-host DMA into pageable memory) meets resident pages. Only for
// memory that is zero-filled already or about to be overwritten.
void prefault(void* dst, size_t bytes);

}  // namespace ms
