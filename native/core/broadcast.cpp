#include "broadcast.h"

#include <algorithm>
#include <sstream>

#include "error.h"

namespace ms {

BroadcastPlan broadcast_plan(const char* op, const Tensor* const* operands, int nin) {
  BroadcastPlan p;
  p.nin = nin;
  int64_t n = 0;
  for (int k = 0; k < nin; ++k) n = std::max(n, operands[k]->ndim());
  std::vector<int64_t> shape(n, 1);
  std::vector<std::vector<int64_t>> st(nin, std::vector<int64_t>(n, 0));
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < nin; ++k) {
      const Tensor& t = *operands[k];
      int64_t it = i - (n - t.ndim());
      int64_t d = it >= 0 ? t.shape[it] : 1;
      if (d != 1) {
        if (shape[i] != 1 && shape[i] != d) {
          std::ostringstream s;
          for (int j = 0; j < nin; ++j) s << (j ? " and " : "") << shape_str(operands[j]->shape);
          fail(op, "shapes ", s.str(), " cannot be broadcast: dim ", i, " (aligned from the right) is ",
               shape[i], " vs ", d);
        }
        shape[i] = d;
        st[k][i] = t.strides[it];
      }
    }
  }
  p.out_shape = shape;
  p.numel = shape_numel(shape);
  p.contiguous_same = true;
  for (int k = 0; k < nin; ++k)
    p.contiguous_same = p.contiguous_same && operands[k]->is_contiguous() && operands[k]->shape == shape;
  // Drop size-1 dims, then merge a dim into the previous one when every operand steps through
  // both contiguously.
  std::vector<int64_t> cs;
  std::vector<std::vector<int64_t>> cst(nin);
  for (int64_t i = 0; i < n; ++i) {
    if (shape[i] == 1) continue;
    bool merge = !cs.empty();
    for (int k = 0; merge && k < nin; ++k) merge = cst[k].back() == st[k][i] * shape[i];
    if (merge) {
      cs.back() *= shape[i];
      for (int k = 0; k < nin; ++k) cst[k].back() = st[k][i];
    } else {
      cs.push_back(shape[i]);
      for (int k = 0; k < nin; ++k) cst[k].push_back(st[k][i]);
    }
  }
  if (cs.size() > kMaxDims)
    fail(op, "broadcast over ", cs.size(), " non-mergeable dims; at most ", kMaxDims, " supported");
  p.ndim = static_cast<int>(cs.size());
  for (int i = 0; i < p.ndim; ++i) {
    p.shape[i] = cs[i];
    for (int k = 0; k < nin; ++k) p.stride[k][i] = cst[k][i];
  }
  return p;
}

}  // namespace ms
