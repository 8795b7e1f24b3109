// thread_pool.cpp — a fixed pool of std::threads sharing one job at a time. The job's range is
// cut into chunks claimed with an atomic counter, so a slow core does not hold the rest back.
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <new>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ms {
namespace {

constexpr std::chrono::microseconds kSpin{50};
thread_local bool in_job = false;  // this thread is running chunks of a pool job

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);
    stop_workers();
    stop_ = false;
    stopping_.store(false, std::memory_order_relaxed);
    // New workers start at the current generation: one that took the last finished job for a
    // new one would run a pass of its own and count itself out of the next real job too early.
    for (int i = 0; i + 1 < n; ++i) workers_.emplace_back([this, g = generation_] { worker_loop(g); });
  }

  // Runs fn over [0, n) in chunks; returns false without running when another job is active.
  bool try_run(int64_t n, int64_t chunk, const RangeFn& fn) {
    std::unique_lock<std::mutex> job_lock(job_mutex_, std::try_to_lock);
    if (!job_lock.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      fn_ = &fn;
      n_ = n;
      chunk_ = chunk;
      next_.store(0);
      active_ = static_cast<int>(workers_.size());
      error_ = nullptr;
      ++generation_;
      live_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
      published_.store(generation_, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    spin_until([this] { return live_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lk(mutex_);
    done_cv_.wait(lk, [this] { return active_ == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void work() {
    in_job = true;  // a parallel_for inside fn runs inline (nested jobs are not queued)
    struct Clear { ~Clear() { in_job = false; } } clear;
    for (;;) {
      int64_t b = next_.fetch_add(chunk_);
      if (b >= n_) break;
      try {
        (*fn_)(b, std::min(n_, b + chunk_));
      } catch (...) {
        std::lock_guard<std::mutex> lk(mutex_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_);
      }
    }
  }

  // Spins up to kSpin for `ready` before the caller blocks: a training step's ops come back to
  // back, and a futex wake-up on a VM can cost more than a small op's whole loop.
  template <typename Ready>
  static void spin_until(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0; !ready(); ++i) {
      cpu_relax();
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return;
    }
  }

  void worker_loop(uint64_t seen) {
    for (;;) {
      spin_until([&] { return published_.load(std::memory_order_acquire) != seen || stopping_.load(std::memory_order_relaxed); });
      {
        std::unique_lock<std::mutex> lk(mutex_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
      std::lock_guard<std::mutex> lk(mutex_);
      live_.fetch_sub(1, std::memory_order_release);
      if (--active_ == 0) done_cv_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      stop_ = true;
      stopping_.store(true, std::memory_order_relaxed);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_, mutex_;
  std::condition_variable cv_, done_cv_;
  const RangeFn* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  // Mirrors for spinning without the mutex: the last published generation, workers still in
  // the current job, and stop.
  std::atomic<uint64_t> published_{0};
  std::atomic<int> live_{0};
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
};

int default_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

Pool& pool() {
  static Pool p(default_threads());
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(std::max(1, n)); }

void parallel_for(int64_t n, int64_t grain, const RangeFn& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int threads = num_threads();
  if (threads <= 1 || n <= grain || in_job) {
    fn(0, n);
    return;
  }
  // About 4 chunks per thread balances load without paying the atomic per tiny piece.
  int64_t chunk = std::max(grain, (n + 4 * threads - 1) / (4 * threads));
  if (!pool().try_run(n, chunk, fn)) fn(0, n);
}

float* thread_buffer(int slot, size_t floats) {
  struct Buffer {
    float* p = nullptr;
    size_t cap = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer bufs[kThreadBufferSlots];
  Buffer& b = bufs[slot];
  if (floats > b.cap) {
    // Grown by at least 1.5x, so a run of slightly larger calls does not fault in new pages each time.
    const size_t cap = std::max(floats, b.cap + b.cap / 2);
    std::free(b.p);
    b.p = static_cast<float*>(std::aligned_alloc(64, ((cap * 4 + 63) / 64) * 64));
    b.cap = b.p ? cap : 0;
    if (!b.p) throw std::bad_alloc();
  }
  return b.p;
}

namespace {
constexpr size_t kParallelCopyMin = 8u << 20;  // below: serial (a wake-up costs more than it saves)
constexpr size_t kCopyBlock = 1u << 20;        // unit of work handed to a thread
constexpr size_t kPage = 4096;
}  // namespace

void parallel_memcpy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (bytes < kParallelCopyMin) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const int64_t blocks = static_cast<int64_t>((bytes + kCopyBlock - 1) / kCopyBlock);
  parallel_for(blocks, 1, [&](int64_t b, int64_t e) {
    const size_t lo = static_cast<size_t>(b) * kCopyBlock;
    const size_t hi = std::min(bytes, static_cast<size_t>(e) * kCopyBlock);
    std::memcpy(static_cast<char*>(dst) + lo, static_cast<const char*>(src) + lo, hi - lo);
  });
}

void prefault(void* dst, size_t bytes) {
  if (bytes < kParallelCopyMin) return;  // the copy itself takes these few faults
  volatile char* p = static_cast<volatile char*>(dst);
  const int64_t blocks = static_cast<int64_t>((bytes + kCopyBlock - 1) / kCopyBlock);
  parallel_for(blocks, 1, [&](int64_t b, int64_t e) {
    const size_t hi = std::min(bytes, static_cast<size_t>(e) * kCopyBlock);
    for (size_t i = static_cast<size_t>(b) * kCopyBlock; i < hi; i += kPage) p[i] = 0;
  });
}

}  // namespace ms
