// scan_cpu.h — what the CPU selective scan's op side (selective_scan_cpu.cpp: layouts, tasks,
// reductions) shares with its kernels (selective_scan_cpu_kernels.cpp: one row at a time,
// compiled once per ISA).
#pragma once
#include <cstdint>

#include "selective_scan.h"

namespace ms {
namespace scan_cpu {

constexpr int kLanes = 16;  // the state index n runs in blocks of 16 (one AVX-512 vector)
constexpr int64_t K = kScanSaveEvery;  // steps per chunk

// Everything the kernels read and write in one call.
struct Ctx {
  const ScanInputs* in;
  const ScanDims* dm;
  int64_t Np;       // N rounded up to kLanes
  const float* BC;  // (B, G, L, 2, Np): B_t and C_t of each step side by side, zeros past N
  // forward
  float* out;   // (B, D, L)
  float* last;  // (B, D, N) or nullptr
  // backward
  const float *dout, *dlast;  // (B, D, L), (B, D, N) or nullptr (zeros)
  ScanGrads* g;               // du, ddelta, dz, dinit written per row
  int64_t splits;             // channel slices per (b, group): task = (b, group, slice)
  int64_t seg;                // steps per backward segment, a multiple of K
  float* part;                // (splits, B, G, L, 2, Np): each task's dB, dC terms, BC layout
  double *rowA, *rowD, *rowBias;  // per row (b, d): its terms of dA (N), dD, dbias
};

struct Kernels {
  const char* isa;
  void (*fwd)(const Ctx&, int64_t row0, int64_t row1);  // forward of rows [row0, row1)
  void (*bwd)(const Ctx&, int64_t task);                // backward of one task
};

// The kernels for this CPU (AVX-512 > AVX2 + FMA > baseline), chosen once.
const Kernels& kernels();

}  // namespace scan_cpu
}  // namespace ms
