// Concat along channels: the teams are joined (no slot moves; DvrLayout::concat), every input
// dropped to the lowest input level. Split runs: each process drops the ciphertexts it holds.
#pragma once

#include <algorithm>

#include "he/layers/layer_env.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

inline void plan_concat(const PlanEnv& env, const Node& node, LayerPlan& lp) {
  const LayerPlan& first = env.input(node);
  lp.level = first.level;
  for (std::size_t k = 0; k < node.inputs.size(); ++k) lp.level = std::min(lp.level, env.input(node, k).level);
  lp.layout = first.layout;
  lp.factor = first.factor;
  for (std::size_t k = 1; k < node.inputs.size(); ++k) {
    const LayerPlan& other = env.input(node, k);
    lp.layout = packing::DvrLayout::concat(lp.layout, other.layout);
    lp.factor.insert(lp.factor.end(), other.factor.begin(), other.factor.end());
  }
}

template <HeBackend B>
HeTensor<typename B::Ct> run_concat(LayerEnv<B>& env, int n,
                                    const std::vector<const HeTensor<typename B::Ct>*>& ins) {
  const int level = env.plan.layers[n].level;
  HeTensor<typename B::Ct> t;
  const int count = static_cast<int>(env.plan.layers[n].layout.team_size());
  for (const auto* in : ins)
    for (const auto& x : in->cts) {
      if (!env.mine(n, static_cast<int>(t.cts.size()), count)) {  // split run: held by another process
        t.cts.emplace_back();
        continue;
      }
      auto y = x;
      if (B::level(y) > level) env.be.drop_level_inplace(y, level);
      t.cts.push_back(std::move(y));
    }
  return t;
}

}  // namespace cryptounet::nn::detail
