#include "cryptounet/he/plan/planner.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "cryptounet/ckks/security.h"
#include "cryptounet/he/plan/rotation_set.h"
#include "cryptounet/common/error.h"

namespace cryptounet::nn {

using packing::DvrLayout;
using packing::Grid;
using packing::PackingMode;

double max_log_qp_128(int log_n) {
  // One table for the whole project: the engine's (ckks/security.h, HE standard 2018).
  return ckks::max_log_qp_128(log_n);
}

double Plan::log_qp() const {
  double s = 0;
  for (int b : log_q) s += b;
  for (int b : log_p) s += b;
  return s;
}

namespace {

std::string node_msg(const Node& node) {
  return "node '" + node.name + "' (" + op_name(node.kind) + ")";
}

int level_cost(OpKind k) {
  return (k == OpKind::Conv2d || k == OpKind::ConvTranspose2d || k == OpKind::Square) ? 1 : 0;
}


double pow2_floor(double v) { return std::ldexp(1.0, static_cast<int>(std::floor(std::log2(v)))); }

// Relative costs for choosing a strategy, in milliseconds per operation as measured with the
// engine at N=2^15, level 8, 2 threads on the project's 2-core machine (shared, so only the
// ratios matter): key switch 77, hoisted rotation 56, encoding 7.7, plaintext product 2.3,
// constant product 1.2, rescale 16, addition 0.2.
double cost_units_of(const OpCounts& c) {
  const double plain_rot = static_cast<double>(c.rotations - c.hoisted_rotations + c.relins);
  return 77.0 * plain_rot + 56.0 * static_cast<double>(c.hoisted_rotations) +
         7.7 * static_cast<double>(c.encodings) + 2.3 * static_cast<double>(c.pt_products) +
         1.2 * static_cast<double>(c.scalar_products) + 16.0 * static_cast<double>(c.rescales) +
         0.2 * static_cast<double>(c.adds);
}

struct ParamChoice {
  int log_n = 0;
  std::vector<int> log_q, log_p;
  int dnum = 0;
};

// Special primes: about a third as many as Q primes (dnum ~ 3), fewer if the budget is short.
bool fit_params(int log_n, int levels, const PlanOptions& o, bool check_security, ParamChoice& out) {
  std::vector<int> q{o.log_q0};
  for (int i = 0; i < levels; ++i) q.push_back(o.log_scale);
  double qbits = o.log_q0 + static_cast<double>(levels) * o.log_scale;
  int want = std::max(1, (levels + 1 + 2) / 3);
  int np = want;
  if (check_security) {
    double budget = max_log_qp_128(log_n) - qbits;
    int np_max = static_cast<int>(std::floor(budget / o.log_special));
    np = std::min(want, np_max);
    if (np < 1) return false;
  }
  out.log_n = log_n;
  out.log_q = q;
  out.log_p.assign(np, o.log_special);
  out.dnum = (levels + 1 + np - 1) / np;
  return true;
}

}  // namespace

LinearOp linear_op_for(const Graph& graph, const Plan& plan, int n) {
  const Node& node = graph.nodes.at(n);
  const LayerPlan& in = plan.layers.at(node.inputs.at(0));
  const LayerPlan& out = plan.layers.at(n);
  double f = out.factor.empty() ? 1.0 : out.factor.front();
  if (node.kind == OpKind::Conv2d)
    return build_conv(node, in.layout, in.factor, out.layout, f, out.taps);
  if (node.kind == OpKind::ConvTranspose2d)
    return build_conv_transpose(node, in.layout, in.factor, out.layout, f);
  throw InvalidArgument("linear_op_for: " + node_msg(node) + " is not linear");
}

Plan make_plan(const Graph& graph, const PlanOptions& o) {
  if (graph.nodes.empty() || graph.nodes[0].kind != OpKind::Input)
    throw InvalidArgument("make_plan: graph '" + graph.name + "' has no Input node first");
  if (graph.output < 0 || graph.output >= static_cast<int>(graph.nodes.size()))
    throw InvalidArgument("make_plan: graph output index " + std::to_string(graph.output) +
                          " is out of range");
  if (o.log_scale < 20 || o.log_scale > 60 || o.log_q0 < o.log_scale || o.log_q0 > 61 ||
      o.log_special < 20 || o.log_special > 61)
    throw InvalidArgument("make_plan: bad prime sizes (log_scale " +
                          std::to_string(o.log_scale) + ", log_q0 " + std::to_string(o.log_q0) +
                          ", log_special " + std::to_string(o.log_special) + ")");
  const int nn = static_cast<int>(graph.nodes.size());
  const Shape in_shape = graph.input_shape();

  // Depth per node (levels consumed from the input to the node's output).
  std::vector<int> depth(nn, 0);
  for (int n = 1; n < nn; ++n) {
    const Node& node = graph.nodes[n];
    if (node.inputs.empty()) throw InvalidArgument("make_plan: " + node_msg(node) + " has no input");
    int d = 0;
    for (int i : node.inputs) {
      if (i < 0 || i >= n)
        throw InvalidArgument("make_plan: " + node_msg(node) + " reads node " +
                              std::to_string(i) + ", not an earlier node");
      d = std::max(d, depth[i]);
    }
    depth[n] = d + level_cost(node.kind);
  }
  const int levels = depth[graph.output];

  // Ring degree: smallest secure N that holds a plane (and the batch) and the depth.
  long pixels = static_cast<long>(in_shape.height) * in_shape.width;
  int plane_log = 0;
  while ((1L << plane_log) < pixels) ++plane_log;
  ParamChoice pc;
  if (o.log_n != 0) {
    if (o.log_n < 10 || o.log_n > 17)
      throw InvalidArgument("make_plan: log_n " + std::to_string(o.log_n) + " outside 10..17");
    if (!o.insecure_for_tests && o.log_n < 14)
      throw SecurityError("make_plan: log_n " + std::to_string(o.log_n) +
                          " is below 14; only allowed with insecure_for_tests");
    if (!fit_params(o.log_n, levels, o, !o.insecure_for_tests, pc)) {
      int fit = static_cast<int>((max_log_qp_128(o.log_n) - o.log_q0 - o.log_special) / o.log_scale);
      std::string culprit;
      for (int n = 0; n < nn; ++n)
        if (depth[n] > fit) {
          culprit = graph.nodes[n].name;
          break;
        }
      throw Unsupported("make_plan: depth " + std::to_string(levels) + " does not fit 128-bit " +
                        "parameters at N=2^" + std::to_string(o.log_n) + " (room for " +
                        std::to_string(std::max(fit, 0)) + " levels); node '" + culprit +
                        "' is the first over, by " + std::to_string(levels - fit) + " levels");
    }
  } else {
    bool ok = false;
    for (int ln = std::max(14, plane_log + 1); ln <= 16 && !ok; ++ln)
      ok = fit_params(ln, levels, o, true, pc);
    if (!ok) {
      // Say which limit is hit, in the user's terms: the depth, the plane size, or both.
      const int fit = static_cast<int>((max_log_qp_128(16) - o.log_q0 - o.log_special) / o.log_scale);
      ParamChoice probe;
      const bool depth_fits = fit_params(16, levels, o, true, probe);
      std::string msg = "make_plan: ";
      if (!depth_fits) {
        std::string culprit;
        for (int n = 0; n < nn; ++n)
          if (depth[n] > fit) {
            culprit = graph.nodes[n].name;
            break;
          }
        msg += "depth " + std::to_string(levels) + " does not fit 128-bit parameters: the largest 128-bit ring (N=2^16, log2 QP <= " +
               std::to_string(static_cast<int>(max_log_qp_128(16))) + ") holds " + std::to_string(fit) + " levels" +
               (culprit.empty() ? std::string() : "; node '" + culprit + "' is the first over, by " +
                                                      std::to_string(levels - fit) + " levels");
        if (plane_log > 15) msg += "; also, ";
      }
      if (plane_log > 15)
        msg += "the " + std::to_string(in_shape.height) + "x" + std::to_string(in_shape.width) + " input plane (" +
               std::to_string(pixels) + " values) needs N >= 2^" + std::to_string(plane_log + 1) +
               " to fit one ciphertext, and 128-bit parameters for depth " + std::to_string(levels) +
               " go up to N=2^16 (32768 slots); the encrypted executor does not split a plane over several "
               "ciphertexts yet: export the model at 181x181 or smaller (e.g. 128x128)";
      throw Unsupported(msg);
    }
  }
  if (plane_log > pc.log_n - 1)
    throw Unsupported("make_plan: a " + std::to_string(in_shape.height) + "x" + std::to_string(in_shape.width) +
                      " input plane (" + std::to_string(pixels) + " values) does not fit one ciphertext at N=2^" +
                      std::to_string(pc.log_n) + " (" + std::to_string(1L << (pc.log_n - 1)) +
                      " slots); it needs N >= 2^" + std::to_string(plane_log + 1) +
                      (o.insecure_for_tests ? ", the smallest ring that fits it (--insecure-test-params " +
                                                  std::to_string(plane_log + 1) + ")"
                                            : std::string()));

  Plan plan;
  plan.log_n = pc.log_n;
  plan.log_q = pc.log_q;
  plan.log_p = pc.log_p;
  plan.log_scale = o.log_scale;
  plan.dnum = pc.dnum;
  plan.insecure_for_tests = o.insecure_for_tests;
  plan.mask_bits = o.mask_bits > 0 ? o.mask_bits : o.log_scale / 2 + 3;
  plan.mode = o.mode;
  plan.grid = Grid::make(1 << (pc.log_n - 1), in_shape.height, in_shape.width);
  plan.depth = levels;
  plan.input_level = levels;
  plan.output_node = graph.output;
  if (o.mode == PackingMode::throughput) {
    plan.batch = o.batch == 0 ? plan.grid.rows : o.batch;
    if (plan.batch < 1 || plan.batch > plan.grid.rows)
      throw InvalidArgument("make_plan: batch " + std::to_string(o.batch) + " must be in 1.." +
                            std::to_string(plan.grid.rows) + " at N=2^" +
                            std::to_string(pc.log_n));
  } else {
    plan.batch = 1;
  }

  // Headroom: a value stored at level l must satisfy |v| * scale < Q_l / 2 with a safety bit.
  auto bound = [&](int level) {
    return std::ldexp(1.0, o.log_q0 - o.log_scale - 2 + level * o.log_scale);
  };
  auto range = [&](const Node& n) { return n.max_abs > 0 ? n.max_abs : o.default_max_abs; };

  // Consumers, to see whether a linear layer's output is squared next.
  std::vector<std::vector<int>> consumers(nn);
  for (int n = 1; n < nn; ++n)
    for (int i : graph.nodes[n].inputs) consumers[i].push_back(n);

  std::vector<MaskCacheKey> masks;
  std::set<int> steps;
  plan.layers.reserve(nn);  // `in0` below points into it
  const Grid& g = plan.grid;
  for (int n = 0; n < nn; ++n) {
    const Node& node = graph.nodes[n];
    LayerPlan lp;
    lp.node = n;
    lp.name = node.name;
    lp.kind = node.kind;
    const int s_out = node.shape.height > 0 ? in_shape.height / node.shape.height : 0;
    if (s_out <= 0 || s_out * node.shape.height != in_shape.height ||
        s_out * node.shape.width != in_shape.width)
      throw Unsupported("make_plan: " + node_msg(node) + " has shape " +
                        std::to_string(node.shape.height) + "x" +
                        std::to_string(node.shape.width) +
                        ", not the input grid at a whole stride");
    auto make_layout = [&](int channels) {
      return o.mode == PackingMode::latency
                 ? DvrLayout::latency(g, channels, node.shape.height, node.shape.width, s_out)
                 : DvrLayout::throughput(g, channels, node.shape.height, node.shape.width, s_out,
                                         plan.batch);
    };
    const LayerPlan* in0 = node.inputs.empty() ? nullptr : &plan.layers[node.inputs[0]];
    switch (node.kind) {
      case OpKind::Input: {
        if (n != 0) throw InvalidArgument("make_plan: " + node_msg(node) + " is not node 0");
        bool rep = o.mode == PackingMode::latency && o.replicate_input &&
                   node.shape.channels <= g.rows;
        lp.layout = o.mode == PackingMode::latency
                        ? DvrLayout::latency(g, node.shape.channels, node.shape.height,
                                             node.shape.width, 1, rep)
                        : make_layout(node.shape.channels);
        lp.level = plan.input_level;
        lp.factor.assign(lp.layout.team_size(), 1.0);
        break;
      }
      case OpKind::Conv2d:
      case OpKind::ConvTranspose2d: {
        lp.layout = make_layout(node.shape.channels);
        lp.level = in0->level - 1;
        if (lp.level < 0) throw InvalidArgument("make_plan: " + node_msg(node) + " below level 0");
        double m = range(node);
        double f = std::min(1.0, bound(lp.level) / (m * o.margin));
        if (consumers[n].size() == 1 && graph.nodes[consumers[n][0]].kind == OpKind::Square &&
            lp.level >= 1) {
          const Node& sq = graph.nodes[consumers[n][0]];
          double m2 = sq.max_abs > 0 ? sq.max_abs : m * m;
          f = std::min(f, std::sqrt(bound(lp.level - 1) / (m2 * o.margin)));
        }
        lp.factor.assign(lp.layout.team_size(), f >= 1.0 ? 1.0 : pow2_floor(f));
        break;
      }
      case OpKind::Square:
        lp.layout = in0->layout;
        lp.level = in0->level - 1;
        if (lp.level < 0) throw InvalidArgument("make_plan: " + node_msg(node) + " below level 0");
        for (double f : in0->factor) lp.factor.push_back(f * f);
        break;
      case OpKind::AvgPool2d:
        if (node.kernel != 0 && (node.kernel != 2 || node.stride != 2))
          throw Unsupported("make_plan: " + node_msg(node) + ": only 2x2 stride-2 pooling");
        lp.layout = in0->layout.with_stride(2 * in0->layout.stride(), node.shape.height,
                                            node.shape.width);
        lp.level = in0->level;
        for (double f : in0->factor) lp.factor.push_back(4.0 * f);
        break;
      case OpKind::Concat: {
        lp.level = in0->level;
        for (int i : node.inputs) lp.level = std::min(lp.level, plan.layers[i].level);
        lp.layout = in0->layout;
        lp.factor = in0->factor;
        for (std::size_t k = 1; k < node.inputs.size(); ++k) {
          const LayerPlan& o2 = plan.layers[node.inputs[k]];
          lp.layout = DvrLayout::concat(lp.layout, o2.layout);
          lp.factor.insert(lp.factor.end(), o2.factor.begin(), o2.factor.end());
        }
        break;
      }
      case OpKind::Add: {
        if (node.inputs.size() != 2)
          throw Unsupported("make_plan: " + node_msg(node) + " must have two inputs");
        const LayerPlan& b = plan.layers[node.inputs[1]];
        if (!(in0->layout == b.layout) || in0->factor != b.factor)
          throw Unsupported("make_plan: " + node_msg(node) +
                            ": inputs differ in layout or value factor");
        lp.layout = in0->layout;
        lp.level = std::min(in0->level, b.level);
        lp.factor = in0->factor;
        break;
      }
    }
    if (lp.layout.channels() != node.shape.channels)
      throw InvalidArgument("make_plan: " + node_msg(node) + " has " +
                            std::to_string(node.shape.channels) + " channels but its layout " +
                            lp.layout.describe());
    plan.layers.push_back(lp);
    LayerPlan& cur = plan.layers.back();

    // Predicted counts.
    OpCounts c;
    const int team = cur.layout.team_size();
    switch (node.kind) {
      case OpKind::Input: break;
      case OpKind::Conv2d:
      case OpKind::ConvTranspose2d: {
        const int in_level = cur.level + 1;
        std::vector<LinearStrategy> strategies;
        if (o.strategy != StrategyChoice::masked_scalar) strategies.push_back(LinearStrategy::diagonal);
        if (o.strategy != StrategyChoice::diagonal) strategies.push_back(LinearStrategy::masked_scalar);
        std::vector<TapSide> sides;
        if (node.kind != OpKind::Conv2d || o.taps != TapChoice::taps_out) sides.push_back(TapSide::taps_in);
        if (node.kind == OpKind::Conv2d && o.taps != TapChoice::taps_in) sides.push_back(TapSide::taps_out);
        double best = -1.0;
        for (TapSide side : sides) {
          cur.taps = side;
          LinearOp op = linear_op_for(graph, plan, n);
          for (LinearStrategy st : strategies) {
            auto probe = masks;
            double cost = cost_units_of(count_linear(op, st, in_level, probe));
            if (best < 0 || cost < best) {
              best = cost;
              cur.strategy = st;
              lp.taps = side;
            }
          }
        }
        cur.taps = lp.taps;
        LinearOp op = linear_op_for(graph, plan, n);
        c = count_linear(op, cur.strategy, in_level, masks);
        for (int s : linear_steps(op)) steps.insert(s);
        break;
      }
      case OpKind::Square:
        c.relins = team;
        c.rescales = team;
        break;
      case OpKind::AvgPool2d: {
        const int s = in0->layout.stride();
        c.rotations = 2L * team;
        c.adds = 2L * team;
        steps.insert(packing::normalize_step(s, g.slots));
        steps.insert(packing::normalize_step(static_cast<long>(s) * g.width, g.slots));
        break;
      }
      case OpKind::Concat:
        for (int i : node.inputs)
          if (plan.layers[i].level > cur.level) c.level_drops += plan.layers[i].layout.team_size();
        break;
      case OpKind::Add:
        for (int i : node.inputs)
          if (plan.layers[i].level > cur.level) c.level_drops += plan.layers[i].layout.team_size();
        c.adds = team;
        break;
    }
    cur.predicted = c;
    plan.total += c;
  }
  plan.output_level = plan.layers[graph.output].level;
  steps.erase(0);
  plan.rotation_steps.assign(steps.begin(), steps.end());
  // Clients recompute the steps from the layers' geometry and refuse any other (rotation_set.h).
  if (const auto extra = unexplained_rotation_steps(plan); !extra.empty())
    throw std::logic_error("make_plan: rotation step " + std::to_string(extra.front()) +
                           " is not in rotation_set.h's geometric set (planner and rule disagree)");
  return plan;
}

PlanSizes plan_sizes(const Plan& plan) {
  PlanSizes s;
  const double n = std::ldexp(1.0, plan.log_n);
  const double qp_limbs = static_cast<double>(plan.log_q.size() + plan.log_p.size());
  // A key-switching key: dnum digits, each a pair of polynomials over Q*P.
  const double key = plan.dnum * 2.0 * qp_limbs * n * 8.0;
  s.galois_keys = static_cast<int>(plan.rotation_steps.size());
  s.eval_key_bytes = key * (s.galois_keys + 1);
  s.input_bytes = plan.input().layout.team_size() * 2.0 * (plan.input_level + 1) * n * 8.0;
  s.output_bytes = plan.output().layout.team_size() * 2.0 * (plan.output_level + 1) * n * 8.0;
  return s;
}

double cost_units(const OpCounts& counts) { return cost_units_of(counts); }

double predicted_cost_per_image(const Plan& plan) {
  return cost_units_of(plan.total) / std::max(plan.batch, 1);
}

void print_cost_table(const Plan& plan, std::ostream& os) {
  os << "plan: N=2^" << plan.log_n << ", " << plan.log_q.size() << " Q primes (" << plan.log_q[0]
     << " + " << (plan.log_q.size() - 1) << "x" << plan.log_scale << " bits), " << plan.log_p.size()
     << " special primes, dnum " << plan.dnum << ", log2(QP) " << plan.log_qp()
     << (plan.insecure_for_tests ? " [INSECURE, tests only]" : " [128-bit]") << "\n";
  os << "      mode " << packing::mode_name(plan.mode) << ", batch " << plan.batch << ", R="
     << plan.grid.rows << " rows of P=" << plan.grid.plane << " slots, depth " << plan.depth
     << ", " << plan.rotation_steps.size() << " rotation steps\n";
  os << std::left << std::setw(4) << "#" << std::setw(18) << "node" << std::setw(16) << "op"
     << std::setw(6) << "lvl" << std::setw(30) << "layout" << std::right << std::setw(7) << "rot"
     << std::setw(7) << "hoist" << std::setw(7) << "relin" << std::setw(8) << "pt*ct"
     << std::setw(9) << "const*ct" << std::setw(7) << "enc" << std::setw(8) << "rescale"
     << "  strategy\n";
  auto row = [&](const std::string& idx, const std::string& name, const std::string& op,
                 const std::string& lvl, const std::string& layout, const OpCounts& c,
                 const std::string& st) {
    os << std::left << std::setw(4) << idx << std::setw(18) << name.substr(0, 17) << std::setw(16)
       << op << std::setw(6) << lvl << std::setw(30) << layout.substr(0, 29) << std::right
       << std::setw(7) << c.rotations << std::setw(7) << c.hoisted_rotations << std::setw(7)
       << c.relins << std::setw(8) << c.pt_products << std::setw(9) << c.scalar_products
       << std::setw(7) << c.encodings << std::setw(8) << c.rescales << "  " << st << "\n";
  };
  for (const LayerPlan& lp : plan.layers) {
    std::ostringstream lay;
    lay << packing::mode_name(lp.layout.mode()) << " c" << lp.layout.channels() << " s"
        << lp.layout.stride() << " t" << lp.layout.team_size();
    bool lin = lp.kind == OpKind::Conv2d || lp.kind == OpKind::ConvTranspose2d;
    row(std::to_string(lp.node), lp.name, op_name(lp.kind), std::to_string(lp.level), lay.str(),
        lp.predicted,
        lin ? std::string(strategy_name(lp.strategy)) +
                  (lp.kind == OpKind::Conv2d ? std::string(" ") + tap_side_name(lp.taps) : "")
            : "");
  }
  row("", "total", "", "", "", plan.total, "");
  PlanSizes sz = plan_sizes(plan);
  os << "key switches " << plan.total.key_switches() << "; " << sz.galois_keys
     << " Galois keys + relin key = " << sz.eval_key_bytes / 1048576.0 << " MiB; input "
     << sz.input_bytes / 1048576.0 << " MiB, output " << sz.output_bytes / 1048576.0
     << " MiB (unseeded)\n";
}

}  // namespace cryptounet::nn
