// cpu_isa.h — which vector ISA the CPU kernels use: the widest this CPU runs, narrowed by
// MAMBA_SPEECH_CPU_KERNEL=avx2|portable (so tests run the narrower kernels on one machine; a
// wider or unknown name, or one the CPU lacks, is ignored). Read once per process. Kernels with
// one copy per ISA (GEMM micro-kernel, attention's column ops, depthwise conv, Philox) pick by it.
#pragma once

namespace ms {

enum class CpuIsa { Portable = 0, Avx2 = 1, Avx512 = 2 };  // Avx2 includes FMA

CpuIsa cpu_isa();

}  // namespace ms
