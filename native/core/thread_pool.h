// thread_pool.h — the CPU thread pool every CPU op runs its loops on.
//
// parallel_for(n, grain, fn) calls fn(begin, end) over disjoint ranges covering [0, n). Ranges
// are at least `grain` long, so a 1-element add never wakes a thread (a wake-up costs ~5-20 us,
// 1000x the work). The pool is process-wide with one worker per core minus the caller; when two
// JS threads (worker_threads) call at once, the second runs its loop inline rather than queue.
#pragma once
#include <cstdint>
#include <functional>

namespace ms {

using RangeFn = std::function<void(int64_t begin, int64_t end)>;

void parallel_for(int64_t n, int64_t grain, const RangeFn& fn);
int num_threads();           // workers + the caller
void set_num_threads(int n);  // 1 disables the pool; takes effect for later calls

}  // namespace ms
