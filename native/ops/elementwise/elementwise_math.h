// elementwise_math.h — the scalar formulas, shared by the CPU and CUDA kernels so both devices
// compute the same thing. Float math in float32 (bf16 is widened first).
#pragma once
#include <cmath>
#include <cstdint>

#include "../../core/dtype.h"
#include "elementwise.h"

namespace ms {
namespace ew {

#if defined(__CUDA_ARCH__)
#define MS_MATH(fn) fn##f
#else
#define MS_MATH(fn) std::fn
#endif

MS_HD float binary_f(BinaryOp op, float x, float y) {
  switch (op) {
    case BinaryOp::Add: return x + y;
    case BinaryOp::Sub: return x - y;
    case BinaryOp::Mul: return x * y;
    case BinaryOp::Div: return x / y;
    case BinaryOp::Pow: return MS_MATH(pow)(x, y);
    // NaN propagates, as torch.minimum/maximum do.
    case BinaryOp::Minimum: return (x != x || y != y) ? x + y : (x < y ? x : y);
    case BinaryOp::Maximum: return (x != x || y != y) ? x + y : (x > y ? x : y);
    case BinaryOp::Eq: return x == y ? 1.f : 0.f;
    case BinaryOp::Ne: return x != y ? 1.f : 0.f;
    case BinaryOp::Lt: return x < y ? 1.f : 0.f;
    case BinaryOp::Le: return x <= y ? 1.f : 0.f;
    case BinaryOp::Gt: return x > y ? 1.f : 0.f;
    case BinaryOp::Ge: return x >= y ? 1.f : 0.f;
    default: return 0.f;
  }
}

// int32: computed in uint32 so overflow wraps without undefined behaviour.
MS_HD int32_t binary_i(BinaryOp op, int32_t x, int32_t y) {
  uint32_t ux = static_cast<uint32_t>(x), uy = static_cast<uint32_t>(y);
  switch (op) {
    case BinaryOp::Add: return static_cast<int32_t>(ux + uy);
    case BinaryOp::Sub: return static_cast<int32_t>(ux - uy);
    case BinaryOp::Mul: return static_cast<int32_t>(ux * uy);
    case BinaryOp::Minimum: return x < y ? x : y;
    case BinaryOp::Maximum: return x > y ? x : y;
    case BinaryOp::Eq: return x == y;
    case BinaryOp::Ne: return x != y;
    case BinaryOp::Lt: return x < y;
    case BinaryOp::Le: return x <= y;
    case BinaryOp::Gt: return x > y;
    case BinaryOp::Ge: return x >= y;
    default: return 0;
  }
}

constexpr float kSqrt1_2 = 0.70710678118654752f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

MS_HD float sigmoid(float x) { return 1.f / (1.f + MS_MATH(exp)(-x)); }

MS_HD float unary_f(UnaryOp op, float x, float p0, float p1) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return MS_MATH(fabs)(x);
    case UnaryOp::Sign: return x > 0.f ? 1.f : (x < 0.f ? -1.f : (x == x ? 0.f : x));
    case UnaryOp::Square: return x * x;
    case UnaryOp::Exp: return MS_MATH(exp)(x);
    case UnaryOp::Log: return MS_MATH(log)(x);
    case UnaryOp::Log1p: return MS_MATH(log1p)(x);
    case UnaryOp::Expm1: return MS_MATH(expm1)(x);
    case UnaryOp::Sqrt: return MS_MATH(sqrt)(x);
    case UnaryOp::Rsqrt: return 1.f / MS_MATH(sqrt)(x);
    case UnaryOp::Reciprocal: return 1.f / x;
    case UnaryOp::Sin: return MS_MATH(sin)(x);
    case UnaryOp::Cos: return MS_MATH(cos)(x);
    case UnaryOp::Tanh: return MS_MATH(tanh)(x);
    case UnaryOp::Sigmoid: return sigmoid(x);
    case UnaryOp::Relu: return x > 0.f ? x : (x == x ? 0.f : x);
    case UnaryOp::LeakyRelu: return x > 0.f ? x : x * p0;
    case UnaryOp::Gelu: return 0.5f * x * (1.f + MS_MATH(erf)(x * kSqrt1_2));
    case UnaryOp::GeluTanh: return 0.5f * x * (1.f + MS_MATH(tanh)(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    case UnaryOp::Silu: return x * sigmoid(x);
    case UnaryOp::Softplus: {
      float bx = p0 * x;
      return bx > p1 ? x : MS_MATH(log1p)(MS_MATH(exp)(bx)) / p0;
    }
    case UnaryOp::Clamp: {
      float v = x;
      if (p0 == p0 && v < p0) v = p0;
      if (p1 == p1 && v > p1) v = p1;
      return v;
    }
    case UnaryOp::PowScalar: return MS_MATH(pow)(x, p0);
    default: return 0.f;
  }
}

// d f / d x at x (y = f(x) where that is cheaper); the backward kernel multiplies by g.
MS_HD float unary_df(UnaryOp op, float x, float y, float p0, float p1) {
  switch (op) {
    case UnaryOp::Neg: return -1.f;
    case UnaryOp::Abs: return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f);
    case UnaryOp::Sign: return 0.f;
    case UnaryOp::Square: return 2.f * x;
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return 1.f / x;
    case UnaryOp::Log1p: return 1.f / (1.f + x);
    case UnaryOp::Expm1: return y + 1.f;
    case UnaryOp::Sqrt: return 0.5f / y;
    case UnaryOp::Rsqrt: return -0.5f * y * y * y;
    case UnaryOp::Reciprocal: return -y * y;
    case UnaryOp::Sin: return MS_MATH(cos)(x);
    case UnaryOp::Cos: return -MS_MATH(sin)(x);
    case UnaryOp::Tanh: return 1.f - y * y;
    case UnaryOp::Sigmoid: return y * (1.f - y);
    case UnaryOp::Relu: return x > 0.f ? 1.f : 0.f;
    case UnaryOp::LeakyRelu: return x > 0.f ? 1.f : p0;
    case UnaryOp::Gelu: return 0.5f * (1.f + MS_MATH(erf)(x * kSqrt1_2)) + x * kInvSqrt2Pi * MS_MATH(exp)(-0.5f * x * x);
    case UnaryOp::GeluTanh: {
      float inner = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      float t = MS_MATH(tanh)(inner);
      return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
    }
    case UnaryOp::Silu: {
      float s = sigmoid(x);
      return s * (1.f + x * (1.f - s));
    }
    case UnaryOp::Softplus: {
      float bx = p0 * x;
      return bx > p1 ? 1.f : sigmoid(bx);
    }
    case UnaryOp::Clamp: {
      // Gradient passes where the input was inside [min, max] (at a bound too, as PyTorch).
      bool below = p0 == p0 && x < p0;
      bool above = p1 == p1 && x > p1;
      return below || above ? 0.f : 1.f;
    }
    case UnaryOp::PowScalar: return p0 == 0.f ? 0.f : p0 * MS_MATH(pow)(x, p0 - 1.f);
    default: return 0.f;
  }
}

MS_HD int32_t unary_i(UnaryOp op, int32_t x) {
  uint32_t u = static_cast<uint32_t>(x);
  switch (op) {
    case UnaryOp::Neg: return static_cast<int32_t>(0u - u);
    case UnaryOp::Abs: return x < 0 ? static_cast<int32_t>(0u - u) : x;
    case UnaryOp::Sign: return (x > 0) - (x < 0);
    case UnaryOp::Square: return static_cast<int32_t>(u * u);
    default: return 0;
  }
}

#undef MS_MATH

}  // namespace ew
}  // namespace ms
