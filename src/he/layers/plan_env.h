// What an HE layer plans with (internal to he): the graph, the options, the plan so far (the
// layers before this one), who consumes each node, and the value bounds. Each layer's plan_*
// function (he/layers/<op>.h) decides its output layout, level and value factors from it.
#pragma once

#include <algorithm>
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

  int mux_side = 1;                             // throughput: multiplex_side of the plan
  std::vector<int> mux;                         // throughput: images per cell side of each node

  PlanEnv(const Graph& g, const PlanOptions& o, const Plan& p) : graph(g), options(o), plan(p) {
    consumers.resize(g.nodes.size());
    for (std::size_t n = 1; n < g.nodes.size(); ++n)
      for (int i : g.nodes[n].inputs) consumers[i].push_back(static_cast<int>(n));
    mux_side = multiplex_side(g, o, p.grid, p.batch);
    mux = plan_multiplexing(g, mux_side);
  }

  /// Images per cell side of every node of a multiplexed throughput plan whose deepest stride holds
  /// top x top: a convolution doubles its input's when its stride leaves room, a transposed
  /// convolution halves it when the finer grid has none, every other layer keeps it. Where the
  /// inputs of a Concat or Add would disagree, the convolutions that merged the larger side's
  /// images do not merge (repeated until every join agrees).
  static std::vector<int> plan_multiplexing(const Graph& g, int top) {
    const std::size_t count = g.nodes.size();
    std::vector<int> q(count, 1);
    if (top <= 1 || count == 0) return q;
    const int height = g.input_shape().height;
    std::vector<char> no_merge(count, 0);
    for (std::size_t round = 0; round <= count; ++round) {
      for (std::size_t n = 1; n < count; ++n) {
        const Node& node = g.nodes[n];
        if (node.inputs.empty()) continue;
        const int s = node.shape.height > 0 ? height / node.shape.height : 1;
        const int in = node.inputs[0];
        q[n] = q[in];
        if (node.kind == OpKind::Conv2d && !no_merge[n] && 2 * q[n] <= std::min(s, top)) q[n] *= 2;
        if (node.kind == OpKind::ConvTranspose2d && q[n] > s) q[n] /= 2;
      }
      bool changed = false;
      for (std::size_t n = 1; n < count; ++n) {
        const Node& node = g.nodes[n];
        if (node.kind != OpKind::Concat && node.kind != OpKind::Add) continue;
        int low = q[node.inputs[0]];
        for (int i : node.inputs) low = std::min(low, q[i]);
        for (int i : node.inputs)
          if (q[i] > low) changed |= stop_merges(g, q, i, no_merge);
      }
      if (!changed) break;
    }
    return q;
  }

  /// Marks the convolutions that raised node n's images per cell side (walking back through the
  /// layers that keep it) as not merging; false if none was left to mark.
  static bool stop_merges(const Graph& g, const std::vector<int>& q, int n, std::vector<char>& no_merge) {
    const Node& node = g.nodes[n];
    if (node.inputs.empty()) return false;
    if (node.kind == OpKind::Conv2d && q[n] > q[node.inputs[0]] && !no_merge[n]) {
      no_merge[n] = 1;
      return true;
    }
    if (node.kind == OpKind::Conv2d || node.kind == OpKind::ConvTranspose2d)
      return stop_merges(g, q, node.inputs[0], no_merge);
    bool any = false;
    for (int i : node.inputs) any |= stop_merges(g, q, i, no_merge);
    return any;
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
    if (options.mode == packing::PackingMode::latency)
      return packing::DvrLayout::latency(plan.grid, channels, node.shape.height, node.shape.width, s_out);
    // Images per cell side as plan_multiplexing decided (1 at full resolution); groups fill the rest of
    // the mux_side^2 images per row.
    const int q = mux.at(static_cast<std::size_t>(&node - graph.nodes.data()));
    return packing::DvrLayout::throughput(plan.grid, channels, node.shape.height, node.shape.width, s_out,
                                          plan.batch, mux_side * mux_side / (q * q), q);
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
