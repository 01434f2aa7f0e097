// AvgPool 2x2 stride 2: x + rot(x, s), then + rot(., s*W0), so that each output grid point
// (stride 2s) sums its 2x2 block of stride-s points; the 1/4 goes into the value factor (folded
// into the next layer's weights). No level; two rotations and two additions per team member.
// Banded planes (packing/bands.h): a window never crosses a band edge (bands hold whole windows at
// the largest stride), so the rotations' wrap-around only reaches slots no output reads.
#pragma once

#include "cryptounet/packing/masks.h"
#include "he/layers/layer_env.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

inline void plan_avg_pool(const PlanEnv& env, const Node& node, LayerPlan& lp) {
  if (node.kernel != 0 && (node.kernel != 2 || node.stride != 2))
    throw Unsupported("make_plan: " + node_msg(node) + ": only 2x2 stride-2 pooling");
  const LayerPlan& in = env.input(node);
  lp.layout = in.layout.with_stride(2 * in.layout.stride(), node.shape.height, node.shape.width);
  lp.level = in.level;
  for (double f : in.factor) lp.factor.push_back(4.0 * f);
}

template <HeBackend B>
HeTensor<typename B::Ct> run_avg_pool(LayerEnv<B>& env, int n, const HeTensor<typename B::Ct>& in) {
  const int s = in.layout.stride();
  const int slots = env.be.slots();
  const int step_x = packing::normalize_step(s, slots);
  const int step_y = packing::normalize_step(static_cast<long>(s) * env.plan.grid.width, slots);
  return env.map_members(n, in, [&](const typename B::Ct& x) {
    auto y = x;
    env.add(y, env.be.rotate(x, step_x));
    auto r = env.be.rotate(y, step_y);
    env.add(y, r);
    return y;
  });
}

}  // namespace cryptounet::nn::detail
