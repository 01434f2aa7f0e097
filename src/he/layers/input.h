// The Input node: the client's image(s) packed as the plan's input layout (latency mode: channels
// replicated into every row when they fit and PlanOptions::replicate_input), at the top level,
// value factor 1. It runs nothing: the executor takes the client's ciphertexts as they are.
#pragma once

#include "cryptounet/common/error.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

inline void plan_input(const PlanEnv& env, const Node& node, int n, LayerPlan& lp) {
  if (n != 0) throw InvalidArgument("make_plan: " + node_msg(node) + " is not node 0");
  const PlanOptions& o = env.options;
  const packing::Grid& g = env.plan.grid;
  if (o.mode == packing::PackingMode::latency) {
    const bool replicate = o.replicate_input && node.shape.channels <= g.rows;
    lp.layout = packing::DvrLayout::latency(g, node.shape.channels, node.shape.height, node.shape.width, 1,
                                            replicate);
  } else {
    lp.layout = env.layout(node, node.shape.channels);
  }
  lp.level = env.plan.input_level;
  lp.factor.assign(lp.layout.team_size(), 1.0);
}

}  // namespace cryptounet::nn::detail
