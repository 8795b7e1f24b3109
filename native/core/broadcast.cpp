#include "broadcast.h"

#include <algorithm>

#include "error.h"

namespace ms {

BroadcastPlan broadcast_plan(const char* op, const Tensor& a, const Tensor& b) {
  BroadcastPlan p;
  const int64_t na = a.ndim(), nb = b.ndim(), n = std::max(na, nb);
  std::vector<int64_t> shape(n), sa(n, 0), sb(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia = i - (n - na), ib = i - (n - nb);
    int64_t da = ia >= 0 ? a.shape[ia] : 1, db = ib >= 0 ? b.shape[ib] : 1;
    if (da != db && da != 1 && db != 1)
      fail(op, "shapes ", shape_str(a.shape), " and ", shape_str(b.shape),
           " cannot be broadcast: dim ", i, " (aligned from the right) is ", da, " vs ", db);
    shape[i] = da == 1 ? db : da;
    if (ia >= 0 && da != 1) sa[i] = a.strides[ia];
    if (ib >= 0 && db != 1) sb[i] = b.strides[ib];
  }
  p.out_shape = shape;
  p.numel = shape_numel(shape);
  p.contiguous_same = a.is_contiguous() && b.is_contiguous() && a.shape == shape && b.shape == shape;
  // Drop size-1 dims, then merge dim i into i+1 when both inputs step through them contiguously.
  std::vector<int64_t> cs, ca, cb;
  for (int64_t i = 0; i < n; ++i) {
    if (shape[i] == 1) continue;
    if (!cs.empty() && ca.back() == sa[i] * shape[i] && cb.back() == sb[i] * shape[i]) {
      cs.back() *= shape[i];
      ca.back() = sa[i];
      cb.back() = sb[i];
    } else {
      cs.push_back(shape[i]);
      ca.push_back(sa[i]);
      cb.push_back(sb[i]);
    }
  }
  if (cs.size() > kMaxDims)
    fail(op, "broadcast over ", cs.size(), " non-mergeable dims; at most ", kMaxDims, " supported");
  p.ndim = static_cast<int>(cs.size());
  for (int i = 0; i < p.ndim; ++i) {
    p.shape[i] = cs[i];
    p.stride_a[i] = ca[i];
    p.stride_b[i] = cb[i];
  }
  return p;
}

}  // namespace ms
