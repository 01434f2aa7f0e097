// Conv2d, kernel 1 or 3 with 'same' padding, stride 1: lowered to a LinearOp (he/layers/lowering.h)
// whose spatial taps rotate either the inputs (taps_in, hoisted) or the output sums (taps_out);
// planned and run as every linear layer is (he/layers/linear.h). Banded planes (packing/bands.h): a
// tap that reaches across a band edge adds a cross term, the neighbour band's ciphertext rotated by
// the same tap under the band's cross mask, so no rotation or Galois key is added.
#pragma once

#include <vector>

#include "cryptounet/he/plan/linear.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/packing/dvr_layout.h"

namespace cryptounet::nn::detail {

/// Conv2d from `in` (factors per input ciphertext) to `out` at the same stride; output values are
/// stored times `out_factor`. Throws Unsupported/InvalidArgument.
[[nodiscard]] LinearOp build_conv(const Node& node, const packing::DvrLayout& in,
                                  const std::vector<double>& in_factor,
                                  const packing::DvrLayout& out, double out_factor,
                                  TapSide side = TapSide::taps_in);

}  // namespace cryptounet::nn::detail
