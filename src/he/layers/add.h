// Add of two tensors of the same layout and value factors (a residual connection): both dropped
// to the lower level, scales reconciled (LayerEnv::add), one addition per team member.
#pragma once

#include <algorithm>

#include "he/layers/layer_env.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

inline void plan_add(const PlanEnv& env, const Node& node, LayerPlan& lp) {
  if (node.inputs.size() != 2) throw Unsupported("make_plan: " + node_msg(node) + " must have two inputs");
  const LayerPlan& a = env.input(node, 0);
  const LayerPlan& b = env.input(node, 1);
  if (!(a.layout == b.layout) || a.factor != b.factor)
    throw Unsupported("make_plan: " + node_msg(node) + ": inputs differ in layout or value factor");
  lp.layout = a.layout;
  lp.level = std::min(a.level, b.level);
  lp.factor = a.factor;
}

template <HeBackend B>
HeTensor<typename B::Ct> run_add(LayerEnv<B>& env, int n,
                                 const std::vector<const HeTensor<typename B::Ct>*>& ins) {
  const int level = env.plan.layers[n].level;
  HeTensor<typename B::Ct> t;
  const int count = static_cast<int>(ins[0]->cts.size());
  for (int k = 0; k < count; ++k) {
    if (!env.mine(n, k, count)) {
      t.cts.emplace_back();
      continue;
    }
    auto a = ins[0]->cts[k], b = ins[1]->cts[k];
    if (B::level(a) > level) env.be.drop_level_inplace(a, level);
    if (B::level(b) > level) env.be.drop_level_inplace(b, level);
    env.add(a, b);
    t.cts.push_back(std::move(a));
  }
  return t;
}

}  // namespace cryptounet::nn::detail
