// runtime.cu — device discovery, the per-device stream, copies, and copy benchmarks.
//
// The addon must load and run on a machine without a GPU or driver: cudaGetDeviceCount then
// fails (error 35, cudaErrorInsufficientDriver, seen on the CPU machines here) and we report 0
// devices with the reason instead of failing to load. cudart is linked statically, so no
// libcudart.so is needed at load time; libcuda.so is opened lazily by cudart.
#include <algorithm>
#include <cstring>
#include <atomic>
#include <mutex>
#include <vector>

#include "../cuda_api.h"
#include "cuda_check.cuh"

namespace ms {
namespace cuda {
namespace {

struct Discovery {
  int count = 0;
  std::string status = "ok";
};

const Discovery& discovery() {
  static Discovery d = [] {
    Discovery r;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      cudaGetLastError();
      r.count = 0;
      r.status = std::string("cudaGetDeviceCount failed: error ") + std::to_string(int(e)) + " " +
                 cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    } else if (n == 0) {
      r.status = "no CUDA device found";
    } else {
      r.count = n;
    }
    return r;
  }();
  return d;
}

// One stream per device, created on first use. Read without a lock on the hot path (every
// launch asks for it); created under the lock.
constexpr int kMaxDevices = 64;
std::mutex stream_mutex;
std::atomic<cudaStream_t> streams[kMaxDevices];

}  // namespace

bool built() { return true; }
bool cublas_linked() {
#ifdef MAMBA_SPEECH_CUBLAS
  return true;
#else
  return false;
#endif
}
int device_count() { return discovery().count; }
std::string status() { return discovery().status; }
int runtime_version() {
  int v = 0;
  if (cudaRuntimeGetVersion(&v) != cudaSuccess) { cudaGetLastError(); return 0; }
  return v;
}

std::vector<GpuInfo> gpus() {
  std::vector<GpuInfo> out;
  for (int i = 0; i < device_count(); ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) { cudaGetLastError(); continue; }
    out.push_back(GpuInfo{p.name, static_cast<int64_t>(p.totalGlobalMem), p.major, p.minor,
                          p.multiProcessorCount});
  }
  return out;
}

void require(const char* op, int device) {
  if (device_count() == 0)
    fail(op, "device 'cuda' is not available: ", status(),
         ". This addon was built with CUDA but found no usable GPU; check buildInfo().gpus");
  if (device < 0 || device >= device_count())
    fail(op, "cuda device ", device, " does not exist (", device_count(), " present)");
}

void* stream(int device) {
  if (device < 0 || device >= kMaxDevices) fail("cuda", "device index ", device, " out of range");
  cudaStream_t s = streams[device].load(std::memory_order_acquire);
  if (s) return s;
  std::lock_guard<std::mutex> lk(stream_mutex);
  s = streams[device].load();
  if (!s) {
    MS_CUDA_CHECK("cuda", cudaSetDevice(device));
    MS_CUDA_CHECK("cuda", cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    streams[device].store(s, std::memory_order_release);
  }
  return s;
}

static cudaStream_t s_of(int device) { return static_cast<cudaStream_t>(stream(device)); }

namespace {
// Pinned staging for small host->device copies. From pageable memory the driver performs a
// stream sync before the copy (CUDA's documented API sync behaviour), so each per-step upload of
// a few KB (batch row indices, the optimizer's parameter table) can make the host wait until the
// GPU has finished everything queued, and host and GPU stop overlapping. A copy of <= 1 MiB is first
// memcpy'd into a pinned block; cudaMemcpyAsync from pinned memory returns at once. A block is
// handed out again only after the event recorded behind its copy has completed. At most 64 MiB
// is pinned; past that (many copies in flight) the copy goes from pageable memory as before.
struct StageBlock {
  void* p;
  size_t cap;
  cudaEvent_t ev;
  int device;
};
constexpr size_t kStageMax = 1 << 20;
constexpr size_t kStageTotal = 64u << 20;
std::mutex stage_mutex;
std::vector<StageBlock> stage_free;
size_t stage_pinned = 0;

size_t stage_class(size_t bytes) {
  size_t c = 4096;
  while (c < bytes) c <<= 1;
  return c;
}

// A free block of >= `bytes` on `device` whose last copy has finished, or a new one; false when
// the pinned budget is spent (or pinning fails) and the caller should copy from pageable memory.
bool stage_acquire(size_t bytes, int device, StageBlock* out) {
  std::lock_guard<std::mutex> lk(stage_mutex);
  for (size_t i = 0; i < stage_free.size(); ++i) {
    StageBlock& b = stage_free[i];
    if (b.device != device || b.cap < bytes) continue;
    cudaError_t q = cudaEventQuery(b.ev);
    if (q == cudaErrorNotReady) {
      cudaGetLastError();  // not an error: clear it so the next launch check does not report it
      continue;
    }
    if (q != cudaSuccess) MS_CUDA_CHECK("copy", q);
    *out = b;
    stage_free[i] = stage_free.back();
    stage_free.pop_back();
    return true;
  }
  const size_t cls = stage_class(bytes);
  if (stage_pinned + cls > kStageTotal) return false;
  StageBlock b{nullptr, cls, nullptr, device};
  if (cudaMallocHost(&b.p, cls) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  if (cudaEventCreateWithFlags(&b.ev, cudaEventDisableTiming) != cudaSuccess) {
    cudaGetLastError();
    cudaFreeHost(b.p);
    return false;
  }
  stage_pinned += cls;
  *out = b;
  return true;
}

void stage_release(const StageBlock& b) {
  std::lock_guard<std::mutex> lk(stage_mutex);
  stage_free.push_back(b);
}
}  // namespace

void memcpy_h2d(void* dst, const void* src, size_t bytes, int device) {
  if (bytes == 0) return;
  StageBlock b;
  if (bytes <= kStageMax && stage_acquire(bytes, device, &b)) {
    std::memcpy(b.p, src, bytes);
    cudaError_t e = cudaMemcpyAsync(dst, b.p, bytes, cudaMemcpyHostToDevice, s_of(device));
    if (e == cudaSuccess) e = cudaEventRecord(b.ev, s_of(device));
    stage_release(b);
    MS_CUDA_CHECK("copy", e);
    return;
  }
  // From pageable memory the copy is staged by the driver and the call returns once `src` has
  // been read, so the caller may free it at once.
  MS_CUDA_CHECK("copy", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s_of(device)));
}
void memcpy_d2h(void* dst, const void* src, size_t bytes, int device) {
  if (bytes == 0) return;
  MS_CUDA_CHECK("copy", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s_of(device)));
  MS_CUDA_CHECK("copy", cudaStreamSynchronize(s_of(device)));
}
void memcpy_d2d(void* dst, const void* src, size_t bytes, int device) {
  if (bytes == 0) return;
  MS_CUDA_CHECK("copy", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s_of(device)));
}
void synchronize(int device) {
  if (device_count() == 0) return;
  MS_CUDA_CHECK("synchronize", cudaStreamSynchronize(s_of(device)));
}
void check_launch(const char* op) { MS_CUDA_CHECK(op, cudaGetLastError()); }

double time_copy(int kind, size_t bytes, int iters, int device) {
  require("benchmark", device);
  cudaStream_t s = s_of(device);
  void *d0 = nullptr, *d1 = nullptr, *h = nullptr;
  MS_CUDA_CHECK("benchmark", cudaMalloc(&d0, bytes));
  MS_CUDA_CHECK("benchmark", cudaMalloc(&d1, bytes));
  if (kind == 0) h = std::malloc(bytes);
  else if (kind != 3) MS_CUDA_CHECK("benchmark", cudaMallocHost(&h, bytes));
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<float> ms_list;
  for (int i = 0; i < iters + 2; ++i) {  // 2 warm-up copies
    cudaEventRecord(a, s);
    if (kind == 0 || kind == 1) cudaMemcpyAsync(d0, h, bytes, cudaMemcpyHostToDevice, s);
    else if (kind == 2) cudaMemcpyAsync(h, d0, bytes, cudaMemcpyDeviceToHost, s);
    else cudaMemcpyAsync(d1, d0, bytes, cudaMemcpyDeviceToDevice, s);
    cudaEventRecord(b, s);
    cudaEventSynchronize(b);
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    if (i >= 2) ms_list.push_back(t);
  }
  cudaError_t err = cudaGetLastError();
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaFree(d0);
  cudaFree(d1);
  if (kind == 0) std::free(h);
  else if (kind != 3) cudaFreeHost(h);
  if (err != cudaSuccess) fail("benchmark", "copy failed: ", cudaGetErrorString(err));
  std::sort(ms_list.begin(), ms_list.end());
  return ms_list[ms_list.size() / 2] * 1e-3;
}

namespace {
constexpr int kEvents = 1024;
struct EventRing {
  std::mutex mu;
  cudaEvent_t ev[kEvents] = {};
  int next = 0;
};
EventRing& events() {
  static EventRing r;
  return r;
}
}  // namespace

int event_record(int device) {
  require("eventRecord", device);
  EventRing& r = events();
  std::lock_guard<std::mutex> lock(r.mu);
  const int id = r.next;
  r.next = (r.next + 1) % kEvents;
  if (!r.ev[id]) MS_CUDA_CHECK("eventRecord", cudaEventCreate(&r.ev[id]));
  MS_CUDA_CHECK("eventRecord", cudaEventRecord(r.ev[id], s_of(device)));
  return id;
}

double event_elapsed_ms(int a, int b) {
  EventRing& r = events();
  cudaEvent_t ea, eb;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (a < 0 || a >= kEvents || b < 0 || b >= kEvents || !r.ev[a] || !r.ev[b]) fail("eventElapsed", "unknown event id");
    ea = r.ev[a];
    eb = r.ev[b];
  }
  MS_CUDA_CHECK("eventElapsed", cudaEventSynchronize(eb));
  float t = 0;
  MS_CUDA_CHECK("eventElapsed", cudaEventElapsedTime(&t, ea, eb));
  return t;
}

}  // namespace cuda
}  // namespace ms
