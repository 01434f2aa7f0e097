// ConvTranspose2d, kernel 2 stride 2 (the U-Net's upsampling): lowered to a LinearOp whose input
// steps are the revolver turns and whose output steps move each of the four phases onto the 2x
// finer grid; planned and run as every linear layer is (he/layers/linear.h). Banded planes: each
// output band reads only the same band of its input (a 2x2 block never crosses a band edge).
#pragma once

#include <vector>

#include "cryptounet/he/plan/linear.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/packing/dvr_layout.h"

namespace cryptounet::nn::detail {

/// ConvTranspose2d k=2 s=2 from `in` at stride 2s to `out` at stride s.
[[nodiscard]] LinearOp build_conv_transpose(const Node& node, const packing::DvrLayout& in,
                                            const std::vector<double>& in_factor,
                                            const packing::DvrLayout& out, double out_factor);

}  // namespace cryptounet::nn::detail
