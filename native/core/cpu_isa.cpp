// cpu_isa.cpp — see cpu_isa.h.
#include "cpu_isa.h"

#include <cstdlib>
#include <string>

namespace ms {
namespace {

CpuIsa detect() {
  const char* env = std::getenv("MAMBA_SPEECH_CPU_KERNEL");
  const std::string want = env ? env : "";
  if (want == "portable") return CpuIsa::Portable;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = __builtin_cpu_supports("avx512f") && avx2;
  if (want == "avx2" && avx2) return CpuIsa::Avx2;
  if (avx512) return CpuIsa::Avx512;
  if (avx2) return CpuIsa::Avx2;
#endif
  return CpuIsa::Portable;
}

}  // namespace

CpuIsa cpu_isa() {
  static const CpuIsa isa = detect();
  return isa;
}

}  // namespace ms
