// Square (x -> x^2), the HE U-Net's activation: one ciphertext square + relinearisation and a
// rescale per team member; one level; the value factor squares.
#pragma once

#include "he/layers/layer_env.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

inline void plan_square(const PlanEnv& env, const Node& node, LayerPlan& lp) {
  const LayerPlan& in = env.input(node);
  lp.layout = in.layout;
  lp.level = level_below(node, in.level);
  for (double f : in.factor) lp.factor.push_back(f * f);
}

template <HeBackend B>
HeTensor<typename B::Ct> run_square(LayerEnv<B>& env, int n, const HeTensor<typename B::Ct>& in) {
  return env.map_members(n, in, [&](const typename B::Ct& x) {
    auto y = env.be.square_relin(x);
    env.be.rescale_inplace(y);
    return y;
  });
}

}  // namespace cryptounet::nn::detail
