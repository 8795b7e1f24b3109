// optim.cpp — checks and dispatch for the fused optimizer step, gradient norms and scaling.
// Every check runs before the first write: a step that throws leaves every parameter unchanged.
#include "optim.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "../../core/cuda_api.h"
#include "../../core/dispatch.h"
#include "../../core/error.h"
#include "../copy/copy.h"

namespace ms {


std::vector<OptimChunk> optim_chunks(const int64_t* numels, int64_t n) {
  std::vector<OptimChunk> chunks;
  for (int64_t e = 0; e < n; ++e)
    for (int64_t s = 0; s < numels[e]; s += kOptimChunk) chunks.push_back({e, s});
  return chunks;
}

namespace {

bool same_shape(const Tensor& a, const Tensor& b) { return a.shape == b.shape; }

void check_float(const char* op, int64_t i, const char* what, const Tensor& t, Device dev) {
  if (t.dtype != DType::F32 && t.dtype != DType::BF16)
    fail(op, "param ", i, ": ", what, " must be float32 or bfloat16, got ", dtype_name(t.dtype));
  if (t.device != dev)
    fail(op, "param ", i, ": ", what, " is on ", device_name(t.device), " but param 0 is on ", device_name(dev),
         "; one fused step takes tensors of one device");
  if (!t.is_contiguous()) fail(op, "param ", i, ": ", what, " ", shape_str(t.shape), " must be contiguous");
}

void check_state(const char* op, int64_t i, const char* what, const Tensor& s, const Tensor& p) {
  if (!s.storage) fail(op, "param ", i, ": missing ", what, " state");
  if (s.dtype != DType::F32) fail(op, "param ", i, ": ", what, " state must be float32, got ", dtype_name(s.dtype));
  if (s.device != p.device) fail(op, "param ", i, ": ", what, " state is on ", device_name(s.device), ", param on ", device_name(p.device));
  if (s.numel() != p.numel())
    fail(op, "param ", i, ": ", what, " state has ", s.numel(), " elements, param ", shape_str(p.shape), " has ", p.numel());
  if (!s.is_contiguous()) fail(op, "param ", i, ": ", what, " state must be contiguous");
}

// Byte ranges written by the step must not overlap: a parameter listed twice, or two
// parameters sharing a state buffer, would otherwise be updated twice.
void check_disjoint(const char* op, std::vector<std::pair<std::pair<const char*, const char*>, int64_t>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  for (size_t k = 1; k < ranges.size(); ++k)
    if (ranges[k].first.first < ranges[k - 1].first.second)
      fail(op, "params ", ranges[k - 1].second, " and ", ranges[k].second,
           " share memory (a tensor listed twice, or shared state); each parameter must be its own tensor");
}

void add_range(std::vector<std::pair<std::pair<const char*, const char*>, int64_t>>& ranges, const Tensor& t, int64_t i) {
  if (!t.storage || t.numel() == 0) return;
  const char* b = static_cast<const char*>(t.data());
  ranges.push_back({{b, b + t.nbytes()}, i});
}

std::vector<OptimChunk> chunks_of(const std::vector<OptimEntry>& es) {
  std::vector<int64_t> numels(es.size());
  for (size_t i = 0; i < es.size(); ++i) numels[i] = es[i].numel;
  return optim_chunks(numels.data(), static_cast<int64_t>(numels.size()));
}

// Entries for the norm and scale passes: data pointer, dtype and size only.
std::vector<OptimEntry> plain_entries(const char* op, const std::vector<Tensor>& xs) {
  std::vector<OptimEntry> es(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    if (x.dtype != DType::F32 && x.dtype != DType::BF16)
      fail(op, "grad ", i, " must be float32 or bfloat16, got ", dtype_name(x.dtype));
    if (x.device != xs[0].device)
      fail(op, "grad ", i, " is on ", device_name(x.device), " but grad 0 is on ", device_name(xs[0].device));
    if (!x.is_contiguous()) fail(op, "grad ", i, " ", shape_str(x.shape), " must be contiguous");
    OptimEntry e{};
    e.p = x.numel() ? x.data() : nullptr;
    e.numel = x.numel();
    e.bf16 = x.dtype == DType::BF16;
    es[i] = e;
  }
  return es;
}

}  // namespace

void optim_step(const char* op, OptimAlgo algo, const std::vector<OptimParam>& ps, const std::shared_ptr<Accounting>& acct) {
  if (ps.empty()) return;
  const Device dev = ps[0].param.device;
  std::vector<OptimEntry> es(ps.size());
  std::vector<Tensor> grads(ps.size());  // contiguous grads, alive until the update is queued
  std::vector<std::pair<std::pair<const char*, const char*>, int64_t>> written;
  for (size_t k = 0; k < ps.size(); ++k) {
    const int64_t i = static_cast<int64_t>(k);
    const OptimParam& q = ps[k];
    const OptimHyper& h = q.h;
    check_float(op, i, "param", q.param, dev);
    if (!same_shape(q.param, q.grad))
      fail(op, "param ", i, ": grad has shape ", shape_str(q.grad.shape), " but the param is ", shape_str(q.param.shape));
    if (q.grad.dtype != q.param.dtype)
      fail(op, "param ", i, ": grad is ", dtype_name(q.grad.dtype), " but the param is ", dtype_name(q.param.dtype));
    if (q.grad.device != dev) fail(op, "param ", i, ": grad is on ", device_name(q.grad.device), ", the param on ", device_name(dev));
    if (!std::isfinite(h.lr) || !std::isfinite(h.weight_decay))
      fail(op, "param ", i, ": lr and weight decay must be finite, got ", h.lr, " and ", h.weight_decay);
    OptimEntry e{};
    e.p = q.param.numel() ? q.param.data() : nullptr;
    grads[k] = q.grad.is_contiguous() ? q.grad : Tensor{};  // copied after all checks
    e.numel = q.param.numel();
    e.bf16 = q.param.dtype == DType::BF16;
    e.lr = static_cast<float>(h.lr);
    e.wd = static_cast<float>(h.weight_decay);
    add_range(written, q.param, i);
    if (algo == OptimAlgo::SGD) {
      if (h.momentum != 0) {
        check_state(op, i, "momentum_buffer", q.m, q.param);
        e.m = q.m.numel() ? q.m.ptr<float>() : nullptr;
        add_range(written, q.m, i);
        e.flags |= kOptimMomentum;
      }
      if (h.nesterov) e.flags |= kOptimNesterov;
      if (h.first) e.flags |= kOptimFirst;
      e.momentum = static_cast<float>(h.momentum);
      e.dampening = static_cast<float>(h.dampening);
    } else {
      if (h.step < 1) fail(op, "param ", i, ": step must be >= 1 after the increment, got ", h.step);
      check_state(op, i, "exp_avg", q.m, q.param);
      check_state(op, i, "exp_avg_sq", q.v, q.param);
      e.m = q.m.numel() ? q.m.ptr<float>() : nullptr;
      e.v = q.v.numel() ? q.v.ptr<float>() : nullptr;
      add_range(written, q.m, i);
      add_range(written, q.v, i);
      if (h.amsgrad) {
        check_state(op, i, "max_exp_avg_sq", q.vmax, q.param);
        e.vmax = q.vmax.numel() ? q.vmax.ptr<float>() : nullptr;
        add_range(written, q.vmax, i);
        e.flags |= kOptimAmsgrad;
      }
      if (h.decoupled) e.flags |= kOptimDecoupled;
      // Bias corrections in double (beta2^t for t ~ 10^5 underflows gracefully to 0 there).
      const double t = static_cast<double>(h.step);
      const double bc1 = 1.0 - std::pow(h.beta1, t), bc2 = 1.0 - std::pow(h.beta2, t);
      e.beta1 = static_cast<float>(h.beta1);
      e.beta2 = static_cast<float>(h.beta2);
      e.eps = static_cast<float>(h.eps);
      e.step_size = static_cast<float>(h.lr / bc1);
      e.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
      e.lr_wd = static_cast<float>(h.lr * h.weight_decay);
    }
    es[k] = e;
  }
  check_disjoint(op, std::move(written));
  // Every check passed; copying a strided grad allocates, which may still fail (out of memory)
  // before anything was written.
  for (size_t k = 0; k < ps.size(); ++k) {
    if (!grads[k].storage) grads[k] = contiguous(op, ps[k].grad, acct);
    es[k].g = grads[k].numel() ? grads[k].data() : nullptr;
  }
  const std::vector<OptimChunk> chunks = chunks_of(es);
  if (chunks.empty()) return;
  MS_RUN(dev, op, optim_step_cpu(algo, es, chunks), optim_step_cuda(algo, es, chunks));
}

std::vector<double> optim_norm_parts(const char* op, const std::vector<Tensor>& xs, double p,
                                     const std::vector<Tensor>& scalars) {
  if (!(p > 0)) fail(op, "norm type must be > 0 (or inf), got ", p);
  std::vector<double> out(xs.size() + scalars.size(), 0.0);
  if (xs.empty() && scalars.empty()) return out;
  const Device dev = xs.empty() ? scalars[0].device : xs[0].device;
  std::vector<OptimEntry> ss(scalars.size());
  for (size_t j = 0; j < scalars.size(); ++j) {
    const Tensor& x = scalars[j];
    if (x.numel() != 1) fail(op, "scalar ", j, " to read must have one element, got ", shape_str(x.shape));
    if (x.dtype != DType::F32 && x.dtype != DType::BF16) fail(op, "scalar ", j, " must be float32 or bfloat16, got ", dtype_name(x.dtype));
    if (x.device != dev) fail(op, "scalar ", j, " is on ", device_name(x.device), " but the grads are on ", device_name(dev));
    ss[j].p = x.data();
    ss[j].numel = 1;
    ss[j].bf16 = x.dtype == DType::BF16;
  }
  const std::vector<OptimEntry> es = plain_entries(op, xs);
  const std::vector<OptimChunk> chunks = chunks_of(es);
  std::vector<double> parts(chunks.size() + ss.size());
  MS_RUN(dev, op, optim_norm_cpu(es, chunks, p, parts.data(), ss), optim_norm_cuda(es, chunks, p, parts.data(), ss));
  // Fold in chunk order: the same inputs give the same bits on every run.
  const bool inf = std::isinf(p);
  for (size_t c = 0; c < chunks.size(); ++c) {
    double& o = out[chunks[c].entry];
    const double v = parts[c];
    if (!inf) o += v;
    else if (v != v || v > o || o != o) o = (o != o) ? o : v;
  }
  for (size_t j = 0; j < ss.size(); ++j) out[xs.size() + j] = parts[chunks.size() + j];
  return out;
}

void optim_scale(const char* op, const std::vector<Tensor>& xs, double factor) {
  if (xs.empty()) return;
  std::vector<OptimEntry> es = plain_entries(op, xs);
  // Autograd hands one gradient to several leaves as aliases (add's backward does): scale each
  // distinct buffer once. Partly overlapping buffers cannot be scaled once each: refuse them.
  std::vector<size_t> order(es.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto lo = [&](size_t i) { return static_cast<const char*>(es[i].p); };
  auto hi = [&](size_t i) { return lo(i) + es[i].numel * (es[i].bf16 ? 2 : 4); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lo(a) < lo(b) || (lo(a) == lo(b) && a < b); });
  std::vector<OptimEntry> unique;
  const char* end = nullptr;  // highest byte reached so far
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    if (es[i].numel == 0) continue;
    if (!unique.empty()) {
      const OptimEntry& u = unique.back();
      const char* ulo = static_cast<const char*>(u.p);
      if (ulo == lo(i) && ulo + u.numel * (u.bf16 ? 2 : 4) == hi(i) && u.bf16 == es[i].bf16) continue;  // an alias
      if (lo(i) < end) fail(op, "grad ", i, " partly overlaps another grad's memory; cannot scale both in place");
    }
    unique.push_back(es[i]);
    end = std::max(end, hi(i));
  }
  const std::vector<OptimChunk> chunks = chunks_of(unique);
  if (chunks.empty()) return;
  MS_RUN(xs[0].device, op, optim_scale_cpu(unique, chunks, static_cast<float>(factor)),
         optim_scale_cuda(unique, chunks, static_cast<float>(factor)));
}

}  // namespace ms
