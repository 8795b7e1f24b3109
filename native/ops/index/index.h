// index.h — gather and scatter-add along one dim, cumsum, one-hot.
//
// Every op here works on a (O, N, I) view of a contiguous tensor: O = product of the dims before
// `dim`, N = the size of `dim`, I = product of the dims after it. The TS side (lib/ops/indexing.ts)
// makes that view, so one pair of kernels serves gather, indexSelect and embedding.
//
// Glossary: O outer rows, I inner columns, Nx = size of `dim` in x (the indexed tensor), Ni = size
// of `dim` in the index (and in gather's output). Index element (o, j, k) is
// idx[o * s0 + j * s1 + k * s2]: strides (Ni * I, I, 1) for a full index tensor (gather,
// scatterAdd), (0, 1, 0) for one 1-D index shared by every o and k (indexSelect, embedding).
//
//   gather_dim(x (O, Nx, I), idx) -> out (O, Ni, I)           out[o,j,k] = x[o, idx(o,j,k), k]
//   scatter_add_dim(base (O, Nx, I) or zeros, idx, src (O, Ni, I)) -> out (O, Nx, I)
//                    out = base; out[o, idx(o,j,k), k] += src[o,j,k]  (skipped where idx == skip)
//   cumsum_dim(x (O, N, I), reverse) -> out (O, N, I)         out[o,n,k] = sum_{m<=n} x[o,m,k]
//                                                             (m >= n when reverse)
//   one_hot(labels int32 (...), C) -> (..., C) float32
//
// Determinism: scatter-add never uses float atomics. Each (o, k) column is summed by one thread
// in j order (CPU and CUDA); on CUDA a long j range is split into chunks whose partial sums are
// added in chunk order, so results are bitwise reproducible run to run.
//
// Index checks: the CPU checks every index before writing and throws
// "[gather] index 7 is out of range for dim 1 of size 5". CUDA kernels are bounds-safe (an
// out-of-range index gathers 0 and is dropped by scatter-add / one-hot) and report the same
// error only when `validate` is set (an extra pass over the index and a stream sync): the TS side
// sets it under MAMBA_SPEECH_VALIDATE=1 or ops.setIndexValidation(true).
#pragma once
#include <string>

#include "../../core/tensor.h"

namespace ms {

struct IndexSpec {
  std::string op;          // for messages: gather, indexSelect, embedding, scatterAdd
  int64_t O = 1, Nx = 0, Ni = 0, I = 1;
  int64_t s0 = 0, s1 = 1, s2 = 0;  // index strides, see above
  int64_t dim = 0;         // the user's dim, for messages
  int64_t skip = INT64_MIN;  // scatter-add ignores this index value (embedding paddingIdx)
  bool validate = false;   // CUDA: check indices exactly (syncs)
};

Tensor gather_dim(const Tensor& x, const Tensor& idx, const IndexSpec& s, const std::shared_ptr<Accounting>& acct);
Tensor scatter_add_dim(const Tensor* base, const Tensor& idx, const Tensor& src, const IndexSpec& s,
                       const std::shared_ptr<Accounting>& acct);
Tensor cumsum_dim(const Tensor& x, int64_t O, int64_t N, int64_t I, bool reverse, const std::shared_ptr<Accounting>& acct);
Tensor one_hot(const Tensor& labels, int64_t C, bool validate, const std::shared_ptr<Accounting>& acct);

void gather_dim_cpu(const Tensor& x, const Tensor& idx, const IndexSpec& s, Tensor& out);
void gather_dim_cuda(const Tensor& x, const Tensor& idx, const IndexSpec& s, Tensor& out);
void scatter_add_dim_cpu(const Tensor& idx, const Tensor& src, const IndexSpec& s, Tensor& out);
void scatter_add_dim_cuda(const Tensor& idx, const Tensor& src, const IndexSpec& s, Tensor& out,
                          const std::shared_ptr<Accounting>& acct);
void cumsum_dim_cpu(const Tensor& x, int64_t O, int64_t N, int64_t I, bool reverse, Tensor& out);
void cumsum_dim_cuda(const Tensor& x, int64_t O, int64_t N, int64_t I, bool reverse, Tensor& out);
void one_hot_cpu(const Tensor& labels, int64_t C, Tensor& out);
void one_hot_cuda(const Tensor& labels, int64_t C, Tensor& out);
// First (flat order) element of idx (n int32 values) outside [0, size) and != skip; false if none.
// Syncs the stream. Used by the validate path.
bool first_bad_index_cuda(const Tensor& idx, int64_t size, int64_t skip, int32_t* value);

}  // namespace ms
