// One constant product of a backend's mul_const_accumulate: outs[out] += ins[in] * c, the
// constant encoded as round(c * const_scale) (so the product's scale is ins[in].scale * const_scale).
#pragma once

#include <cstdint>

namespace cryptounet::nn {

struct ConstProduct {
  std::uint32_t out = 0;
  std::uint32_t in = 0;
  double c = 0.0;
  double const_scale = 1.0;
};

}  // namespace cryptounet::nn
