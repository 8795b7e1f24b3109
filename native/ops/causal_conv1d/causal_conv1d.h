// causal_conv1d.h — depthwise causal convolution over time, forward and backward (CPU + CUDA).
//
// Glossary: B batch, D channels, L time steps, W kernel width (1..8).
//   x      (B, D, L)      input (float32; bfloat16 on CUDA and, widened, on CPU)
//   weight (D, W) f32     taps; weight[:, W-1] multiplies the current step
//   bias   (D) f32
//   init   (B, D, W-1) f32  the W-1 inputs before t = 0 (zeros when absent)
//   final  (B, D, W-1) f32  the last W-1 inputs up to the last valid step (for streaming)
//   lengths (B) int32     valid steps; steps t >= len give 0
// Math: pre_t = bias + sum_w weight[w] x_{t-(W-1)+w}  (x_{<0} from init);  out_t = silu(pre_t) or pre_t
// = PyTorch conv1d(x, weight[:, None, :], bias, padding=W-1, groups=D)[..., :L].
#pragma once
#include <memory>

#include "../../core/tensor.h"

namespace ms {

constexpr int64_t kConvMaxWidth = 8;

struct ConvInputs {
  Tensor x, weight, bias, init, lengths;
  bool has_bias = false, has_init = false, has_lengths = false;
  bool silu = false;
};

struct ConvForward {
  Tensor out, final_state;
  bool has_final = false;
};

struct ConvGrads {
  Tensor dx, dweight, dbias, dinit;
};

ConvInputs check_conv(const char* op, ConvInputs in, const std::shared_ptr<Accounting>& acct);
ConvForward causal_conv1d_fwd(const ConvInputs& in, bool return_final, const std::shared_ptr<Accounting>& acct);
// dout (B, D, L) and dfinal (B, D, W-1) may be absent (treated as zeros).
ConvGrads causal_conv1d_bwd(const ConvInputs& in, const Tensor& dout, bool has_dout, const Tensor& dfinal,
                            bool has_dfinal, const std::shared_ptr<Accounting>& acct);

void causal_conv1d_fwd_cpu(const ConvInputs& in, ConvForward& f);
void causal_conv1d_bwd_cpu(const ConvInputs& in, const Tensor* dout, const Tensor* dfinal, ConvGrads& g);
void causal_conv1d_fwd_cuda(const ConvInputs& in, ConvForward& f);
void causal_conv1d_bwd_cuda(const ConvInputs& in, const Tensor* dout, const Tensor* dfinal, ConvGrads& g,
                            const std::shared_ptr<Accounting>& acct);

}  // namespace ms
