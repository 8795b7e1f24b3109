// optim_cpu.cpp — the fused optimizer step, norms and scaling on the CPU: one parallel loop over
// (parameter, chunk) work items, the readable reference for optim_cuda.cu.
//
// Speed: SGD's loops vectorise; Adam's stay scalar because sqrtf may set errno (gcc keeps the
// libcall path: "control flow in loop"; neither a pragma nor an attribute lifts it, only the
// global -fno-math-errno). Scalar Adam costs ~2-3 ns per element on one core, about what its 28
// bytes per element cost in memory traffic, so the threads, not the lanes, are what matter.
#include <algorithm>
#include <cmath>

#include "../../core/thread_pool.h"
#include "optim.h"
#include "optim_math.h"

namespace ms {
namespace {

// Ranges of chunks worth waking a thread for: ~32K elements each (a wake-up costs ~5-20 us,
// an Adam element ~1 ns), so a model of small biases runs inline and a big one spreads out.
int64_t chunk_grain(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks) {
  int64_t total = 0;
  for (const OptimEntry& e : es) total += e.numel;
  const int64_t n = static_cast<int64_t>(chunks.size());
  return std::max<int64_t>(1, (n * 32768 + total - 1) / std::max<int64_t>(total, 1));
}

template <typename Fn>
void for_chunks(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, Fn fn) {
  parallel_for(static_cast<int64_t>(chunks.size()), chunk_grain(es, chunks), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const OptimEntry& e = es[chunks[c].entry];
      const int64_t end = std::min(e.numel, chunks[c].start + kOptimChunk);
      fn(c, e, chunks[c].start, end);
    }
  });
}

}  // namespace

void optim_step_cpu(OptimAlgo algo, const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks) {
  for_chunks(es, chunks, [&](int64_t, const OptimEntry& e, int64_t i0, int64_t i1) {
    optim_update_range(algo, e, i0, i1, 1);
  });
}

namespace {
template <bool BF16>
double norm_part(const OptimEntry& e, int64_t i0, int64_t i1, double p) {
  double acc = 0;
  if (std::isinf(p)) {
    for (int64_t i = i0; i < i1; ++i) {
      const double a = std::fabs(static_cast<double>(optim_ld<BF16>(e.p, i)));
      if (a != a || a > acc) acc = (acc != acc) ? acc : a;  // max; a NaN sticks
    }
  } else if (p == 2.0 || p == 1.0) {
    // Eight independent double accumulators, folded in a fixed order: the loop vectorises and
    // pipelines (a single running sum waits ~4 cycles per element: 83k grads took ~150 us, a
    // visible share of a small model's training step), and the result is still the same bits on
    // every run.
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = i0;
    if (p == 2.0) {
      for (; i + 8 <= i1; i += 8)
        for (int j = 0; j < 8; ++j) {
          const double v = static_cast<double>(optim_ld<BF16>(e.p, i + j));
          a[j] += v * v;
        }
      for (; i < i1; ++i) {
        const double v = static_cast<double>(optim_ld<BF16>(e.p, i));
        a[0] += v * v;
      }
    } else {
      for (; i + 8 <= i1; i += 8)
        for (int j = 0; j < 8; ++j) a[j] += std::fabs(static_cast<double>(optim_ld<BF16>(e.p, i + j)));
      for (; i < i1; ++i) a[0] += std::fabs(static_cast<double>(optim_ld<BF16>(e.p, i)));
    }
    acc = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  } else {
    for (int64_t i = i0; i < i1; ++i) acc += norm_term(std::fabs(static_cast<double>(optim_ld<BF16>(e.p, i))), p);
  }
  return acc;
}

template <bool BF16>
void scale_range(const OptimEntry& e, int64_t i0, int64_t i1, float factor) {
  void* const x = e.p;
  for (int64_t i = i0; i < i1; ++i) optim_st<BF16>(x, i, optim_ld<BF16>(x, i) * factor);
}
}  // namespace

void optim_norm_cpu(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, double p, double* parts,
                    const std::vector<OptimEntry>& scalars) {
  if (!chunks.empty()) {
    for_chunks(es, chunks, [&](int64_t c, const OptimEntry& e, int64_t i0, int64_t i1) {
      parts[c] = e.bf16 ? norm_part<true>(e, i0, i1, p) : norm_part<false>(e, i0, i1, p);
    });
  }
  for (size_t j = 0; j < scalars.size(); ++j)
    parts[chunks.size() + j] = scalars[j].bf16 ? optim_ld<true>(scalars[j].p, 0) : optim_ld<false>(scalars[j].p, 0);
}

void optim_scale_cpu(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, float factor) {
  for_chunks(es, chunks, [&](int64_t, const OptimEntry& e, int64_t i0, int64_t i1) {
    if (e.bf16) scale_range<true>(e, i0, i1, factor);
    else scale_range<false>(e, i0, i1, factor);
  });
}

}  // namespace ms
