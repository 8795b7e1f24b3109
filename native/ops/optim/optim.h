// optim.h — fused multi-tensor optimizer updates and gradient-norm clipping.
//
// One call updates every parameter of an optimizer in place (as PyTorch's fused/_foreach Adam):
// the CPU runs one parallel loop over (parameter, chunk) work items, CUDA one kernel launch over
// a device-side table of per-parameter entries. Nothing is written until every entry has been
// checked, so a bad call leaves all parameters as they were.
//
// Glossary (PyTorch's torch.optim names):
//   p param, g grad (same shape/dtype as p), m exp_avg (Adam) or momentum_buffer (SGD),
//   v exp_avg_sq, vmax max_exp_avg_sq (amsgrad), t step (1-based after the increment),
//   bc1 = 1 - beta1^t, bc2 = 1 - beta2^t (bias corrections), wd weight decay.
//
//   SGD:   g += wd p;  m = first ? g : momentum m + (1 - dampening) g;
//          d = nesterov ? g + momentum m : m   (d = g without momentum);  p -= lr d
//   Adam:  g += wd p (Adam) | p -= lr wd p (AdamW, "decoupled");
//          m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g²;  vmax = max(vmax, v);
//          p -= (lr / bc1) m / (sqrt(v or vmax) / sqrt(bc2) + eps)
//
// Dtypes: p and g float32, or both bfloat16 (either device) with float32 state; the update is
// computed in float32 and rounded once to bfloat16, so steps below ~2^-8 |p| are lost — train
// with float32 master weights (autocast) when that matters. p and state contiguous, one device.
#pragma once
#include <vector>

#include "../../core/tensor.h"

namespace ms {

enum class OptimAlgo : int32_t { SGD = 0, Adam = 1 };

// Per-parameter hyper-parameters as the caller gives them (a group's values plus the step).
struct OptimHyper {
  double lr = 0, weight_decay = 0;
  double momentum = 0, dampening = 0;  // SGD
  bool nesterov = false;
  bool first = false;                   // SGD: the momentum buffer is set to g, not blended
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam
  int64_t step = 1;                     // Adam: t after the increment, >= 1
  bool amsgrad = false, decoupled = false;
};

// One parameter: tensors (state may be empty Tensors where the algorithm does not use them).
struct OptimParam {
  Tensor param, grad, m, v, vmax;
  OptimHyper h;
};

// The kernel's view of one parameter: pointers and the scalars both backends use (float32,
// precomputed in double on the host). POD so the table can be copied to the GPU as bytes.
struct OptimEntry {
  void* p;
  const void* g;
  float* m;
  float* v;
  float* vmax;
  int64_t numel;
  int32_t bf16;   // p and g are bfloat16
  int32_t flags;  // kOptim* below
  float lr, wd;
  float momentum, dampening;         // SGD
  float beta1, beta2, eps;           // Adam
  float step_size, bc2_sqrt, lr_wd;  // lr / bc1, sqrt(bc2), lr wd (AdamW)
};
enum : int32_t { kOptimNesterov = 1, kOptimFirst = 2, kOptimAmsgrad = 4, kOptimDecoupled = 8, kOptimMomentum = 16 };

// Work is split in chunks of one parameter so that a 10-element bias and a 10^7-element weight
// both spread over the threads/blocks: 16384 elements = 64 per thread of a 256-thread block.
constexpr int64_t kOptimChunk = 16384;
struct OptimChunk {
  int64_t entry;  // index into the entry table
  int64_t start;  // first element of the chunk
};
std::vector<OptimChunk> optim_chunks(const int64_t* numels, int64_t n);

// Checks every parameter, then updates all of them in place. `op` names the optimizer in errors.
// A strided grad (autograd may give a leaf an expanded view) is read through a contiguous copy.
void optim_step(const char* op, OptimAlgo algo, const std::vector<OptimParam>& ps, const std::shared_ptr<Accounting>& acct);

// Gradient norms for clipping, accumulated in double: for each tensor sum |x|^p (p finite) or
// max |x| (p = inf). Returns one value per tensor (NaN/Inf propagate), then the values of the
// one-element `scalars` (float32 or bfloat16, on the grads' device), read back in the same
// transfer: a training step that logs its loss and its grad norm waits for the GPU once.
std::vector<double> optim_norm_parts(const char* op, const std::vector<Tensor>& xs, double p,
                                     const std::vector<Tensor>& scalars = {});
// x *= factor for every tensor, in place (float32 or bfloat16, contiguous, one device).
void optim_scale(const char* op, const std::vector<Tensor>& xs, double factor);

// Backends: entries already checked; `chunks` covers every element once.
void optim_step_cpu(OptimAlgo algo, const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks);
void optim_step_cuda(OptimAlgo algo, const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks);
// One partial per chunk (sum |x|^p or max |x|); the caller folds them per tensor in chunk order,
// so the result does not depend on thread timing. The values of `scalars` (one element each)
// follow in parts[chunks.size() + j] (on CUDA, written by the same launch: one transfer back).
void optim_norm_cpu(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, double p, double* parts,
                    const std::vector<OptimEntry>& scalars = {});
void optim_norm_cuda(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, double p, double* parts,
                     const std::vector<OptimEntry>& scalars = {});
void optim_scale_cpu(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, float factor);
void optim_scale_cuda(const std::vector<OptimEntry>& es, const std::vector<OptimChunk>& chunks, float factor);

}  // namespace ms
