// What an HE layer plans with (internal to he): the graph, the options, the plan so far (the
// layers before this one), who consumes each node, and the value bounds. Each layer's plan_*
// function (he/layers/<op>.h) decides its output layout, level and value factors from it.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "cryptounet/common/error.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/packing/dvr_layout.h"

namespace cryptounet::nn::detail {

struct PlanEnv {
  const Graph& graph;
  const PlanOptions& options;
  const Plan& plan;                             // layers 0..n-1 are planned
  std::vector<std::vector<int>> consumers;      // per node, the nodes that read it

  PlanEnv(const Graph& g, const PlanOptions& o, const Plan& p) : graph(g), options(o), plan(p) {
    consumers.resize(g.nodes.size());
    for (std::size_t n = 1; n < g.nodes.size(); ++n)
      for (int i : g.nodes[n].inputs) consumers[i].push_back(static_cast<int>(n));
  }

  /// Headroom: a value stored at `level` must satisfy |v| * scale < Q_level / 2 with a safety bit.
  [[nodiscard]] double bound(int level) const {
    return std::ldexp(1.0, options.log_q0 - options.log_scale - 2 + level * options.log_scale);
  }
  /// The activation bound of a node's output (the model card's, else the default).
  [[nodiscard]] double range(const Node& n) const {
    return n.max_abs > 0 ? n.max_abs : options.default_max_abs;
  }
  /// The layout of `node`'s output with `channels` channels, at the node's stride in the grid.
  [[nodiscard]] packing::DvrLayout layout(const Node& node, int channels) const {
    const Shape in_shape = graph.input_shape();
    const int s_out = in_shape.height / node.shape.height;
    return options.mode == packing::PackingMode::latency
               ? packing::DvrLayout::latency(plan.grid, channels, node.shape.height, node.shape.width, s_out)
               : packing::DvrLayout::throughput(plan.grid, channels, node.shape.height, node.shape.width,
                                                s_out, plan.batch);
  }
  [[nodiscard]] const LayerPlan& input(const Node& node, std::size_t k = 0) const {
    return plan.layers.at(node.inputs.at(k));
  }
};

/// "node 'NAME' (Op)", for messages.
inline std::string node_msg(const Node& node) {
  return "node '" + node.name + "' (" + op_name(node.kind) + ")";
}

/// A layer that consumes a level: its output is one below its input (refused below level 0).
inline int level_below(const Node& node, int in_level) {
  if (in_level - 1 < 0) throw InvalidArgument("make_plan: " + node_msg(node) + " below level 0");
  return in_level - 1;
}

}  // namespace cryptounet::nn::detail
