// The HE layers, one file each (internal to he): what each operator decides when planned
// (plan_layer: output layout, level, value factors) and what it does on a backend (run_layer).
// The planner runs run_layer on its shape-only backend to predict counts; the executor runs the
// same function on the simulator or CKKS.
#pragma once

#include <vector>

#include "he/layers/add.h"
#include "he/layers/avg_pool.h"
#include "he/layers/concat.h"
#include "he/layers/layer_env.h"
#include "he/layers/linear.h"
#include "he/layers/plan_env.h"
#include "he/layers/square.h"

namespace cryptounet::nn::detail {

/// Layout, level and factors of node `n` (not the Input node) from the layers before it.
inline void plan_layer(const PlanEnv& env, int n, LayerPlan& lp) {
  const Node& node = env.graph.nodes[n];
  switch (node.kind) {
    case OpKind::Conv2d:
    case OpKind::ConvTranspose2d: return plan_linear(env, node, n, lp);
    case OpKind::Square: return plan_square(env, node, lp);
    case OpKind::AvgPool2d: return plan_avg_pool(env, node, lp);
    case OpKind::Concat: return plan_concat(env, node, lp);
    case OpKind::Add: return plan_add(env, node, lp);
    case OpKind::Input: break;
  }
  throw InvalidArgument("make_plan: " + node_msg(node) + " is not node 0");
}

/// Runs node `n` (not the Input node) as planned on its inputs.
template <HeBackend B>
HeTensor<typename B::Ct> run_layer(LayerEnv<B>& env, int n,
                                   const std::vector<const HeTensor<typename B::Ct>*>& ins) {
  const Node& node = env.graph.nodes[n];
  const LayerPlan& lp = env.plan.layers[n];
  switch (node.kind) {
    case OpKind::Conv2d:
    case OpKind::ConvTranspose2d:
      return run_linear(env, n, *ins[0], linear_op_for(env.graph, env.plan, n), lp.strategy);
    case OpKind::Square: return run_square(env, n, *ins[0]);
    case OpKind::AvgPool2d: return run_avg_pool(env, n, *ins[0]);
    case OpKind::Concat: return run_concat(env, n, ins);
    case OpKind::Add: return run_add(env, n, ins);
    case OpKind::Input: break;
  }
  throw InvalidArgument("run_encrypted: unexpected node '" + node.name + "'");
}

}  // namespace cryptounet::nn::detail
