// cast_convert.h — the scalar conversions, shared by the CPU and CUDA kernels.
#pragma once
#include <cstdint>

#include "../../core/dtype.h"

namespace ms {

MS_HD int32_t float_to_i32(float v) {
  if (!(v == v)) return 0;
  if (v >= 2147483647.0f) return 2147483647;
  if (v <= -2147483648.0f) return -2147483647 - 1;
  return static_cast<int32_t>(v);
}

template <typename S> MS_HD float load_as_float(const S* p);
template <> MS_HD float load_as_float<float>(const float* p) { return *p; }
template <> MS_HD float load_as_float<uint16_t>(const uint16_t* p) { return bf16_to_f32(*p); }
template <> MS_HD float load_as_float<int32_t>(const int32_t* p) { return static_cast<float>(*p); }

template <typename D> MS_HD void store_from(D* p, float v);
template <> MS_HD void store_from<float>(float* p, float v) { *p = v; }
template <> MS_HD void store_from<uint16_t>(uint16_t* p, float v) { *p = f32_to_bf16(v); }
template <> MS_HD void store_from<int32_t>(int32_t* p, float v) { *p = float_to_i32(v); }

}  // namespace ms
