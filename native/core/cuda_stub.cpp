// cuda_stub.cpp — the CUDA interface for a build without CUDA: reports the fact, never crashes.
#include "cuda_api.h"
#include "error.h"

namespace ms {
namespace cuda {

static const char* kNoCuda =
    "this build of mamba-speech has no CUDA support (the prebuilt CPU binary, or built without "
    "nvcc or with MAMBA_SPEECH_CUDA=0); build it with CUDA from source: npx mamba-speech-build "
    "(MAMBA_SPEECH_CUDA=1 where no GPU is visible); check buildInfo()";

bool built() { return false; }
bool cublas_linked() { return false; }
int device_count() { return 0; }
std::string status() { return "built without CUDA"; }
int runtime_version() { return 0; }
std::vector<GpuInfo> gpus() { return {}; }
void require(const char* op, int) { fail(op, "device 'cuda' is not available: ", kNoCuda); }
void* stream(int) { return nullptr; }
void* alloc(const char* op, size_t, int) { fail(op, kNoCuda); }
void free(void*, size_t, int) {}
CacheStats cache_stats() { return CacheStats{0, 0, 0, 0, 0}; }
void empty_cache() {}
void memcpy_h2d(void*, const void*, size_t, int) { fail("copy", kNoCuda); }
void memcpy_d2h(void*, const void*, size_t, int) { fail("copy", kNoCuda); }
void memcpy_d2d(void*, const void*, size_t, int) { fail("copy", kNoCuda); }
void synchronize(int) {}
void check_launch(const char*) {}
double time_copy(int, size_t, int, int) { fail("benchmark", kNoCuda); }
int event_record(int) { fail("eventRecord", kNoCuda); }
double event_elapsed_ms(int, int) { fail("eventElapsed", kNoCuda); }

}  // namespace cuda
}  // namespace ms
