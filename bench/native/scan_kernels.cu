// scan_kernels.cu — a standalone timing harness for the selective-scan CUDA kernels (version 2),
// for kernel work on the GPU machine without building the whole addon:
//
//   nvcc -O3 -std=c++17 -arch=sm_90 -o /tmp/scan_kernels bench/native/scan_kernels.cu \
//        native/core/cuda/runtime.cu native/ops/selective_scan/selective_scan_v2_fwd.cu \
//        native/ops/selective_scan/selective_scan_v2_bwd.cu
//   /tmp/scan_kernels B D N L bf16|f32 [iters]
//
// Options as in a Mamba block (z, softplus, delta bias, D, variable B/C with G = 1). Times the
// forward kernel (saving chunk states, as under autograd) and the backward kernel alone with CUDA
// events (median of `iters` after 3 warm-ups), and prints checksums of out, du, ddelta, dB and dC
// so two kernel variants can be compared on the same inputs (fixed seed). The benchmark of the
// op itself (allocation, dB/dC conversion, dA reduction included) is bench/selective_scan.js.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../native/core/cuda_api.h"
#include "../../native/ops/selective_scan/scan_cuda.cuh"

using ms::scan::Params;

namespace {

void ck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

float from_bf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

__global__ void fill_uniform(void* d, size_t n, float lo, float hi, uint32_t seed, bool bf16) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u ^ static_cast<uint32_t>(i >> 32) * 0x85EBCA77u ^ seed;
    h ^= h >> 16, h *= 0x7feb352du, h ^= h >> 15, h *= 0x846ca68bu, h ^= h >> 16;
    const float v = lo + (hi - lo) * static_cast<float>(h >> 8) / 16777216.f;
    if (bf16) static_cast<uint16_t*>(d)[i] = ms::f32_to_bf16(v);
    else static_cast<float*>(d)[i] = v;
  }
}

// A device array of n values uniform in [lo, hi), in the I/O dtype.
void* rand_dev(size_t n, float lo, float hi, bool bf16) {
  static uint32_t seed = 12345;
  void* d = nullptr;
  ck(cudaMalloc(&d, n * (bf16 ? 2 : 4)), "malloc");
  fill_uniform<<<1024, 256>>>(d, n, lo, hi, seed += 0x632BE5ABu, bf16);
  ck(cudaDeviceSynchronize(), "fill");
  return d;
}

float* zeros_f32(size_t n) {
  float* d = nullptr;
  ck(cudaMalloc(&d, n * 4), "malloc");
  ck(cudaMemset(d, 0, n * 4), "memset");
  return d;
}

void* zeros_io(size_t n, bool bf16) {
  void* d = nullptr;
  ck(cudaMalloc(&d, n * (bf16 ? 2 : 4)), "malloc");
  ck(cudaMemset(d, 0, n * (bf16 ? 2 : 4)), "memset");
  return d;
}

// Sum of |x| and of x of a device array (I/O dtype or f32).
void checksum(const char* name, const void* d, size_t n, bool bf16) {
  double s = 0, a = 0;
  if (bf16) {
    std::vector<uint16_t> h(n);
    ck(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost), "d2h");
    for (auto v : h) s += from_bf16(v), a += std::fabs(from_bf16(v));
  } else {
    std::vector<float> h(n);
    ck(cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost), "d2h");
    for (auto v : h) s += v, a += std::fabs(v);
  }
  std::printf("  %-7s sum %+.6e  |sum| %.6e\n", name, s, a);
}

template <typename F>
float time_ms(F&& f, int iters) {
  for (int i = 0; i < 3; ++i) f();
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<float> ts;
  for (int i = 0; i < iters; ++i) {
    cudaEventRecord(a, static_cast<cudaStream_t>(ms::cuda::stream(0)));
    f();
    cudaEventRecord(b, static_cast<cudaStream_t>(ms::cuda::stream(0)));
    cudaEventSynchronize(b);
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    ts.push_back(t);
  }
  ck(cudaGetLastError(), "kernel");
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s B D N L bf16|f32 [iters]\n", argv[0]);
    return 2;
  }
  const int64_t Bn = std::atoll(argv[1]), Dn = std::atoll(argv[2]), Nn = std::atoll(argv[3]), Ln = std::atoll(argv[4]);
  const bool bf16 = std::string(argv[5]) == "bf16";
  const int iters = argc > 6 ? std::atoi(argv[6]) : 30;
  const size_t bdl = Bn * Dn * Ln, bnl = Bn * Nn * Ln;
  const int64_t lpad = (Ln + 31) / 32 * 32, n_chunks = (lpad + ms::kScanSaveEvery - 1) / ms::kScanSaveEvery;

  Params p{};
  p.u = rand_dev(bdl, -1, 1, bf16);
  p.delta = rand_dev(bdl, -2, 0, bf16);
  p.z = rand_dev(bdl, -2, 2, bf16);
  p.B = rand_dev(bnl, -1, 1, bf16);
  p.C = rand_dev(bnl, -1, 1, bf16);
  p.dout = rand_dev(bdl, 0, 1, bf16);
  p.A = static_cast<const float*>(rand_dev(Dn * Nn, -2, -0.2f, false));
  p.Dskip = static_cast<const float*>(rand_dev(Dn, -1, 1, false));
  p.bias = static_cast<const float*>(rand_dev(Dn, -1, 0, false));
  p.out = zeros_io(bdl, bf16);
  p.saved = zeros_f32(Bn * Dn * n_chunks * Nn);
  p.du = zeros_io(bdl, bf16);
  p.ddelta = zeros_io(bdl, bf16);
  p.dz = zeros_io(bdl, bf16);
  p.dA_rows = zeros_f32(Bn * Dn * Nn);
  p.dD_rows = zeros_f32(Bn * Dn);
  p.dbias_rows = zeros_f32(Bn * Dn);
  const bool det = std::getenv("DET") != nullptr;  // deterministic dB/dC (per-block slots)
  const int64_t slots = det ? ms::scan2::blocks_per_group(ms::ScanDims{Bn, Dn, Ln, Nn, 1, n_chunks}, true) : 1;
  p.dB_acc = zeros_f32(slots * 2 * bnl);
  p.batch = Bn, p.dim = Dn, p.len = Ln, p.nstate = Nn, p.ngroups = 1, p.n_chunks = n_chunks;
  p.softplus = true, p.reverse = std::getenv("REVERSE") != nullptr, p.atomic_bc = !det;

  const float fwd = time_ms([&] { ms::scan2::run_fwd(p, bf16); }, iters);
  const float bwd = time_ms(
      [&] {
        if (!det) cudaMemsetAsync(p.dB_acc, 0, 2 * bnl * 4, static_cast<cudaStream_t>(ms::cuda::stream(0)));
        ms::scan2::run_bwd(p, bf16);
      },
      iters);
  const double elems = static_cast<double>(bdl) * Nn;
  std::printf("%sscan v2 (%lld, %lld, %lld, %lld) %s: fwd %.3f ms  bwd %.3f ms  fwd+bwd %.3f ms  (%.1f / %.1f Gelem/s)\n",
              det ? "[det] " : "", (long long)Bn, (long long)Dn, (long long)Nn, (long long)Ln, bf16 ? "bf16" : "f32", fwd, bwd, fwd + bwd,
              elems / fwd / 1e6, elems / bwd / 1e6);
  if (std::getenv("CHECK")) {
    checksum("out", p.out, bdl, bf16);
    checksum("du", p.du, bdl, bf16);
    checksum("ddelta", p.ddelta, bdl, bf16);
    checksum("dz", p.dz, bdl, bf16);
    checksum("dB", p.dB_acc, bnl, false);
    checksum("dC", p.dB_acc + bnl, bnl, false);
    checksum("dA", p.dA_rows, Bn * Dn * Nn, false);
  }
  return 0;
}
