// conv.cpp — checks, dtype handling, and the im2col + GEMM orchestration of the CUDA
// convolutions (see conv.h). The CPU runs whole ops in conv_cpu.cpp (implicit GEMMs) and
// conv_depthwise_cpu.cpp; CUDA goes through the primitives in conv_cuda.cu and ms::matmul.
#include "conv.h"

#include <algorithm>
#include <cstdlib>

#include "../../core/cuda_api.h"
#include "../../core/error.h"
#include "../cast/cast.h"
#include "../copy/copy.h"
#include "../creation/creation.h"
#include "../matmul/matmul.h"

namespace ms {
namespace {

#ifdef MAMBA_SPEECH_WITH_CUDA
#define CONV_RUN(dev, fn, ...) \
  do { if ((dev) == Device::CPU) fn##_cpu(__VA_ARGS__); else fn##_cuda(__VA_ARGS__); } while (0)
#define CUDA_RUN(fn, ...) fn##_cuda(__VA_ARGS__)
#else
#define CONV_RUN(dev, fn, ...) \
  do { if ((dev) == Device::CPU) fn##_cpu(__VA_ARGS__); else cuda::require("conv", 0); } while (0)
#define CUDA_RUN(fn, ...) cuda::require("conv", 0)
#endif

// Largest im2col buffer, in elements (256 MiB of float32): bigger batches run in chunks.
// MAMBA_SPEECH_CONV_COL_BUDGET overrides it (read per call) so tests can force chunking.
int64_t col_budget() {
  const char* e = std::getenv("MAMBA_SPEECH_CONV_COL_BUDGET");
  const long long v = e ? std::atoll(e) : 0;
  return v > 0 ? v : int64_t(64) << 20;
}

std::vector<int64_t> act_shape(const ConvGeom& g, int64_t C, int64_t h, int64_t w) {
  if (g.spatial == 1) return {g.N, C, w};
  return {g.N, C, h, w};
}
std::vector<int64_t> weight_shape(const ConvGeom& g) {
  if (g.spatial == 1) return {g.Cout, g.Cin / g.G, g.kw};
  return {g.Cout, g.Cin / g.G, g.kh, g.kw};
}

void check_geom(const char* op, const ConvGeom& g) {
  const bool ok = g.N >= 0 && g.Cin >= 1 && g.Cout >= 1 && g.G >= 1 && g.Cin % g.G == 0 && g.Cout % g.G == 0 &&
                  g.ih >= 1 && g.iw >= 1 && g.oh >= 1 && g.ow >= 1 && g.kh >= 1 && g.kw >= 1 && g.sh >= 1 &&
                  g.sw >= 1 && g.dh >= 1 && g.dw >= 1 && (g.spatial == 1 || g.spatial == 2) &&
                  (g.spatial == 2 || (g.ih == 1 && g.oh == 1 && g.kh == 1));
  if (!ok)
    fail(op, "invalid geometry: N ", g.N, ", Cin ", g.Cin, ", Cout ", g.Cout, ", groups ", g.G, ", in ", g.ih, "x", g.iw,
         ", out ", g.oh, "x", g.ow, ", kernel ", g.kh, "x", g.kw);
}

void expect(const char* op, const char* what, const Tensor& t, const std::vector<int64_t>& want) {
  if (t.shape != want) fail(op, what, " must have shape ", shape_str(want), ", got ", shape_str(t.shape));
}

// The dtype the kernels compute in: the activation's; float32 on the CPU (bfloat16 is widened).
DType compute_dtype(const char* op, const Tensor& a) {
  if (a.dtype != DType::F32 && a.dtype != DType::BF16) fail(op, "inputs must be float32 or bfloat16, got ", dtype_name(a.dtype));
  return a.device == Device::CPU ? DType::F32 : a.dtype;
}

Tensor prep(const char* op, const char* what, const Tensor& t, const Tensor& like, DType ct,
            const std::shared_ptr<Accounting>& acct) {
  if (t.device != like.device)
    fail(op, what, " is on ", device_name(t.device), " but x is on ", device_name(like.device), "; move it with .to()");
  if (t.dtype != DType::F32 && t.dtype != like.dtype)
    fail(op, what, " must be float32 or x's dtype (", dtype_name(like.dtype), "), got ", dtype_name(t.dtype));
  Tensor c = contiguous(op, t, acct);
  return c.dtype == ct ? c : to(c, ct, c.device, acct);
}

// A strided 2-D or 3-D view of t's storage at element offset `off` from t's start.
Tensor view(const Tensor& t, std::vector<int64_t> shape, std::vector<int64_t> strides, int64_t off) {
  Tensor v = t;
  v.shape = std::move(shape);
  v.strides = std::move(strides);
  v.offset = t.offset + off;
  return v;
}
Tensor flat3(const Tensor& t, int64_t a, int64_t b, int64_t c) { return view(t, {a, b, c}, {b * c, c, 1}, 0); }

// Depthwise convs (one input channel per group, at most 4 outputs each) run the direct kernels.
// With many outputs per input channel (HuBERT's first conv: 1 -> 512) the GEMM wins: the direct
// input-grad would loop over all 512 outputs for every input sample.
bool direct(const ConvGeom& g) { return g.Cin / g.G == 1 && g.Cout / g.G <= 4; }

int64_t chunk_of(const ConvGeom& g) {
  const int64_t per_item = std::max<int64_t>(1, g.G * g.Kc() * g.P());
  return std::max<int64_t>(1, std::min<int64_t>(g.N, col_budget() / per_item));
}

Tensor finish(Tensor t, DType io, const std::shared_ptr<Accounting>& acct) {
  return t.dtype == io ? t : to(t, io, t.device, acct);
}

}  // namespace

Tensor conv_forward(const char* op, const ConvGeom& g, const Tensor& x_in, const Tensor& w_in, const Tensor* bias_in,
                    const std::shared_ptr<Accounting>& acct) {
  check_geom(op, g);
  expect(op, "x", x_in, act_shape(g, g.Cin, g.ih, g.iw));
  expect(op, "weight", w_in, weight_shape(g));
  const DType ct = compute_dtype(op, x_in), io = x_in.dtype;
  const Device dev = x_in.device;
  if (dev == Device::CUDA) cuda::require(op, 0);
  const Tensor x = prep(op, "x", x_in, x_in, ct, acct), w = prep(op, "weight", w_in, x_in, ct, acct);
  Tensor bias;
  if (bias_in) {
    if (bias_in->numel() != g.Cout) fail(op, "bias must have shape (", g.Cout, "), got ", shape_str(bias_in->shape));
    bias = prep(op, "bias", *bias_in, x_in, DType::F32, acct);
  }
  const float* pb = bias_in ? bias.ptr<float>() : nullptr;
  Tensor y = empty(op, act_shape(g, g.Cout, g.oh, g.ow), ct, dev, acct);
  if (y.numel() == 0) return finish(y, io, acct);
  if (direct(g)) {
    CONV_RUN(dev, depthwise_fwd, g, x, w, pb, y);
    return finish(y, io, acct);
  }
  if (dev == Device::CPU) {
    conv_forward_cpu(g, x, w, pb, y);
    return finish(y, io, acct);
  }
  const int64_t Kc = g.Kc(), P = g.P(), Cg = g.Cout / g.G, step = chunk_of(g);
  Tensor y3 = flat3(y, g.N, g.Cout, P);
  for (int64_t n0 = 0; n0 < g.N; n0 += step) {
    const int64_t nc = std::min(step, g.N - n0);
    Tensor col = empty(op, {g.G, Kc, nc, P}, ct, dev, acct);
    CUDA_RUN(im2col, g, x, n0, nc, col);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const Tensor wg = view(w, {Cg, Kc}, {Kc, 1}, grp * Cg * Kc);             // (Cout/G, Kc)
      const Tensor cg = view(col, {Kc, nc * P}, {nc * P, 1}, grp * Kc * nc * P);  // (Kc, nc*P)
      Tensor t = matmul(wg, cg, MatmulOptions{}, acct);                          // (Cout/G, nc*P)
      Tensor t3 = flat3(t, Cg, nc, P);
      CUDA_RUN(cn_to_nc, t3, y3, n0, grp * Cg, pb);
    }
  }
  return finish(y, io, acct);
}

Tensor conv_backward_input(const char* op, const ConvGeom& g, const Tensor& dy_in, const Tensor& w_in, const Tensor* bias_in,
                           const std::shared_ptr<Accounting>& acct) {
  check_geom(op, g);
  expect(op, "grad of output", dy_in, act_shape(g, g.Cout, g.oh, g.ow));
  expect(op, "weight", w_in, weight_shape(g));
  const DType ct = compute_dtype(op, dy_in), io = dy_in.dtype;
  const Device dev = dy_in.device;
  if (dev == Device::CUDA) cuda::require(op, 0);
  const Tensor dy = prep(op, "grad", dy_in, dy_in, ct, acct), w = prep(op, "weight", w_in, dy_in, ct, acct);
  Tensor bias;
  if (bias_in) {
    if (bias_in->numel() != g.Cin) fail(op, "bias must have shape (", g.Cin, "), got ", shape_str(bias_in->shape));
    bias = prep(op, "bias", *bias_in, dy_in, DType::F32, acct);
  }
  const float* pb = bias_in ? bias.ptr<float>() : nullptr;
  Tensor dx = empty(op, act_shape(g, g.Cin, g.ih, g.iw), ct, dev, acct);
  if (dx.numel() == 0) return finish(dx, io, acct);
  if (direct(g)) {
    CONV_RUN(dev, depthwise_bwd_input, g, dy, w, pb, dx);
    return finish(dx, io, acct);
  }
  if (dev == Device::CPU) {
    conv_backward_input_cpu(g, dy, w, pb, dx);
    return finish(dx, io, acct);
  }
  const int64_t Kc = g.Kc(), P = g.P(), Cg = g.Cout / g.G, step = chunk_of(g);
  const Tensor dy3 = flat3(dy, g.N, g.Cout, P);
  for (int64_t n0 = 0; n0 < g.N; n0 += step) {
    const int64_t nc = std::min(step, g.N - n0);
    Tensor dyT = empty(op, {g.Cout, nc, P}, ct, dev, acct);  // each group's rows are one (Cout/G, nc*P) block
    CUDA_RUN(nc_to_cn, dy3, dyT, n0, 0);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const Tensor wgT = view(w, {Kc, Cg}, {1, Kc}, grp * Cg * Kc);               // (Kc, Cout/G)
      const Tensor dyg = view(dyT, {Cg, nc * P}, {nc * P, 1}, grp * Cg * nc * P);  // (Cout/G, nc*P)
      Tensor dcol = matmul(wgT, dyg, MatmulOptions{}, acct);                       // (Kc, nc*P)
      CUDA_RUN(col2im, g, dcol, grp, pb, n0, nc, dx);
    }
  }
  return finish(dx, io, acct);
}

Tensor conv_backward_weight(const char* op, const ConvGeom& g, const Tensor& x_in, const Tensor& dy_in, DType wdtype,
                            const std::shared_ptr<Accounting>& acct) {
  check_geom(op, g);
  expect(op, "x", x_in, act_shape(g, g.Cin, g.ih, g.iw));
  expect(op, "grad of output", dy_in, act_shape(g, g.Cout, g.oh, g.ow));
  const DType ct = compute_dtype(op, x_in);
  const Device dev = x_in.device;
  if (dev == Device::CUDA) cuda::require(op, 0);
  const Tensor x = prep(op, "x", x_in, x_in, ct, acct), dy = prep(op, "grad", dy_in, x_in, ct, acct);
  const int64_t Kc = g.Kc(), P = g.P(), Cg = g.Cout / g.G, step = chunk_of(g);
  Tensor dw = fill(op, {g.Cout, Kc}, 0.0, DType::F32, dev, acct);  // float32 sums over chunks
  if (g.N > 0) {
    if (direct(g)) {
      CONV_RUN(dev, depthwise_bwd_weight, g, x, dy, dw, acct);
    } else if (dev == Device::CPU) {
      conv_backward_weight_cpu(g, x, dy, dw);
    } else {
      const Tensor dy3 = flat3(dy, g.N, g.Cout, P);
      for (int64_t n0 = 0; n0 < g.N; n0 += step) {
        const int64_t nc = std::min(step, g.N - n0);
        Tensor col = empty(op, {g.G, Kc, nc, P}, ct, dev, acct);
        CUDA_RUN(im2col, g, x, n0, nc, col);
        Tensor dyT = empty(op, {g.Cout, nc, P}, ct, dev, acct);
        CUDA_RUN(nc_to_cn, dy3, dyT, n0, 0);
        for (int64_t grp = 0; grp < g.G; ++grp) {
          const Tensor dyg = view(dyT, {Cg, nc * P}, {nc * P, 1}, grp * Cg * nc * P);   // (Cout/G, nc*P)
          const Tensor cgT = view(col, {nc * P, Kc}, {1, nc * P}, grp * Kc * nc * P);  // (nc*P, Kc)
          Tensor t = matmul(dyg, cgT, MatmulOptions{}, acct);                           // (Cout/G, Kc)
          CUDA_RUN(accumulate, dw, grp * Cg * Kc, t);
        }
      }
    }
  }
  Tensor out = finish(dw, wdtype, acct);
  out.shape = weight_shape(g);
  out.strides = contiguous_strides(out.shape);
  return out;
}

Tensor channel_sum(const char* op, const Tensor& dy_in, DType dtype, const std::shared_ptr<Accounting>& acct) {
  if (dy_in.ndim() < 2) fail(op, "grad must have shape (N, C, ...), got ", shape_str(dy_in.shape));
  const DType ct = compute_dtype(op, dy_in);
  const Device dev = dy_in.device;
  if (dev == Device::CUDA) cuda::require(op, 0);
  const Tensor dy = prep(op, "grad", dy_in, dy_in, ct, acct);
  const int64_t N = dy.shape[0], C = dy.shape[1];
  int64_t P = 1;
  for (int64_t i = 2; i < dy.ndim(); ++i) P *= dy.shape[i];
  Tensor out = empty(op, {C}, DType::F32, dev, acct);
  if (C > 0) CONV_RUN(dev, channel_sum, dy, N, C, P, out);
  return finish(out, dtype, acct);
}

}  // namespace ms
