// conv.h — 1-D and 2-D convolutions with groups, forward and backward (CPU + CUDA). A transposed
// convolution is the backward-data of the convolution going the other way, so three primitives
// cover conv1d, conv2d and convTranspose1d.
//
// Glossary (1-D convs are 2-D with kh = 1, ih = oh = 1):
//   x (N, Cin, ih, iw), w (Cout, Cin/G, kh, kw), y (N, Cout, oh, ow); G groups
//   s*/p*/d* stride, padding before the first input, dilation; P = oh * ow output positions;
//   Kc = (Cin/G) * kh * kw, the inner dim of each group's GEMM
//   y[n, o, oy, ox] = b[o] + sum_{c, ky, kx} w[o, c, ky, kx] x[n, g*Cin/G + c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw]
//   (inputs outside [0, ih) x [0, iw) are zero; the output sizes are given, so asymmetric
//   'same' padding and a transposed conv's output padding need no extra fields).
//
// Method, CPU: implicit GEMMs on the project's packed GEMM (conv_cpu.cpp): the im2col matrix
//   col (Kc, P) of each item is packed into the GEMM's strips straight from x, never stored;
//   y[n]_g (Cout/G, P) = w_g (Cout/G, Kc) · col_n,g;  dx: dcol = w_g^T · dy[n]_g scatter-added into dx;
//   dw_g = sum_n dy[n]_g · col_n,g^T. One parallel region per op; results independent of the thread count.
// Method, CUDA: one GEMM per group over all (n, p) columns, as implicit-GEMM convolutions do:
//   col (G, Kc, N, P) = im2col(x);  y_g (Cout/G, N*P) = w_g (Cout/G, Kc) · col_g, scattered to (N, Cout, P)
//   dw_g = dyT_g (Cout/G, N*P) · col_g^T;   dcol_g = w_g^T · dyT_g;  dx = col2im(dcol)   (a gather:
//   each dx element sums the columns that read it, so no atomics and deterministic results)
// The batch is cut into chunks so that col stays under ~256 MiB. Depthwise convs (one input
// channel and at most 4 output channels per group; k = 31 in Conformer) use direct kernels
// instead: im2col would copy each input k times to feed GEMMs of inner dim k. dtypes: float32; bfloat16 on CUDA (tensor-core
// GEMMs, float32 accumulation; weight grads accumulated in float32); a bfloat16 conv on the CPU
// is computed in float32 and rounded.
#pragma once
#include <memory>

#include "../../core/tensor.h"

namespace ms {

struct ConvGeom {
  int64_t N = 0, Cin = 0, Cout = 0, G = 1;
  int64_t ih = 1, iw = 1, oh = 1, ow = 1, kh = 1, kw = 1;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int spatial = 1;  // 1 or 2: the rank of x and y is spatial + 2
  int64_t P() const { return oh * ow; }
  int64_t Kc() const { return (Cin / G) * kh * kw; }
};

// op names the user-facing call ("conv1d", "conv2d", "convTranspose1d") in errors.
Tensor conv_forward(const char* op, const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias,
                    const std::shared_ptr<Accounting>& acct);
// dx (N, Cin, ih, iw) of a conv from dy (N, Cout, oh, ow); plus bias[c] when given (convTranspose).
Tensor conv_backward_input(const char* op, const ConvGeom& g, const Tensor& dy, const Tensor& w, const Tensor* bias,
                           const std::shared_ptr<Accounting>& acct);
// dw (Cout, Cin/G, [kh,] kw) in `wdtype`.
Tensor conv_backward_weight(const char* op, const ConvGeom& g, const Tensor& x, const Tensor& dy, DType wdtype,
                            const std::shared_ptr<Accounting>& acct);
// Per-channel sum of dy (N, C, ...) over all other dims, in `dtype` (a bias grad).
Tensor channel_sum(const char* op, const Tensor& dy, DType dtype, const std::shared_ptr<Accounting>& acct);

// ---- CPU: whole ops on contiguous float32 tensors (conv_cpu.cpp). y, dx: (N, C, ih|oh, iw|ow);
// dw (Cout, Kc) float32; bias per output channel (forward) or input channel (dx), or nullptr.
void conv_forward_cpu(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y);
void conv_backward_input_cpu(const ConvGeom& g, const Tensor& dy, const Tensor& w, const float* bias, Tensor& dx);
void conv_backward_weight_cpu(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw);
// out (C) float32 = sum over (n, p) of a (N, C, P).
void channel_sum_cpu(const Tensor& a, int64_t N, int64_t C, int64_t P, Tensor& out);

// ---- CUDA primitives on contiguous tensors (conv_cuda.cu).
// Columns of batch items [n0, n0 + nc): col (G, Kc, nc, P).
void im2col_cuda(const ConvGeom& g, const Tensor& x, int64_t n0, int64_t nc, Tensor& col);
// dx[n0 + n, grp*Cin/G + c, iy, ix] = sum of the columns of group grp that read it (+ bias).
void col2im_cuda(const ConvGeom& g, const Tensor& col, int64_t grp, const float* bias, int64_t n0, int64_t nc, Tensor& dx);
// Between a group's GEMM layout t (Cg, nc, P) and the (N, C, P) tensor a: to_nc writes
// a[n0 + n, c0 + o, p] = t[o, n, p] (+ bias[c0 + o]); from_nc reads it back into t.
void cn_to_nc_cuda(const Tensor& t, Tensor& a, int64_t n0, int64_t c0, const float* bias);
void nc_to_cn_cuda(const Tensor& a, Tensor& t, int64_t n0, int64_t c0);
// acc (float32) += src (float32 or bfloat16), same numel, at acc's element offset `at`.
void accumulate_cuda(Tensor& acc, int64_t at, const Tensor& src);
void channel_sum_cuda(const Tensor& a, int64_t N, int64_t C, int64_t P, Tensor& out);

// Direct kernels for Cin/G == 1 (output channel o reads input channel o / (Cout/G)); conv.cpp
// uses them when Cout/G <= 4 (CPU: conv_depthwise_cpu.cpp).
void depthwise_fwd_cpu(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y);
void depthwise_fwd_cuda(const ConvGeom& g, const Tensor& x, const Tensor& w, const float* bias, Tensor& y);
void depthwise_bwd_input_cpu(const ConvGeom& g, const Tensor& dy, const Tensor& w, const float* bias, Tensor& dx);
void depthwise_bwd_input_cuda(const ConvGeom& g, const Tensor& dy, const Tensor& w, const float* bias, Tensor& dx);
void depthwise_bwd_weight_cpu(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw_f32,
                              const std::shared_ptr<Accounting>& acct);
void depthwise_bwd_weight_cuda(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw_f32,
                               const std::shared_ptr<Accounting>& acct);

}  // namespace ms
