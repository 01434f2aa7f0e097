#include "cryptounet/he/plan/planner.h"
#include "cryptounet/he/backends/encode_cache.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <sstream>

#include "cryptounet/ckks/security.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/plan/rotation_set.h"
#include "cryptounet/packing/bands.h"
#include "he/backends/shape_backend.h"
#include "he/layers/conv.h"
#include "he/layers/conv_transpose.h"
#include "he/layers/input.h"
#include "he/layers/layers.h"

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

int level_cost(OpKind k) {
  return (k == OpKind::Conv2d || k == OpKind::ConvTranspose2d || k == OpKind::Square) ? 1 : 0;
}

// Relative costs for choosing a strategy, in milliseconds per operation at N=2^15, one thread, on the
// project's 2-core AMD EPYC (re-fitted 2026-12-02 to the engine of that day; only the ratios matter).
// From `cryptounet bench ckks --params P2 --threads 1 --reps 5 --json` (level 13): key switch 21.2
// (rotate_1), hoisted rotation 17.6 (rotate_8steps_hoisted / 8), encoding 1.5, plaintext product 0.8,
// rescale 3.1, addition 0.24. A constant product runs inside mul_const_accumulate (lazy reduction, many
// products per pass), which bench ckks does not time alone: 0.3 is `bench unet --threads 1` brain64's
// product time less its plaintext products at 0.5 ms (their mean level is lower), over its 14 088
// constant products (4.48 s - 860 x 0.5 ms). The earlier constants (level 8, 2 threads) were 77, 56, 7.7,
// 2.3, 1.2, 16 and 0.2: key switching got relatively dearer against encodings and rescales, cheaper
// against additions.
double cost_units_of(const OpCounts& c) {
  const double plain_rot = static_cast<double>(c.rotations - c.hoisted_rotations + c.relins);
  return 21.2 * plain_rot + 17.6 * static_cast<double>(c.hoisted_rotations) +
         1.5 * static_cast<double>(c.encodings) + 0.8 * static_cast<double>(c.pt_products) +
         0.3 * static_cast<double>(c.scalar_products) + 3.1 * static_cast<double>(c.rescales) +
         0.24 * static_cast<double>(c.adds);
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

// Levels consumed from the input to each node's output; throws on an ill-formed graph.
std::vector<int> node_depths(const Graph& graph) {
  const int nn = static_cast<int>(graph.nodes.size());
  std::vector<int> depth(nn, 0);
  for (int n = 1; n < nn; ++n) {
    const Node& node = graph.nodes[n];
    if (node.inputs.empty()) throw InvalidArgument("make_plan: " + detail::node_msg(node) + " has no input");
    int d = 0;
    for (int i : node.inputs) {
      if (i < 0 || i >= n)
        throw InvalidArgument("make_plan: " + detail::node_msg(node) + " reads node " + std::to_string(i) +
                              ", not an earlier node");
      d = std::max(d, depth[i]);
    }
    depth[n] = d + level_cost(node.kind);
  }
  return depth;
}

// The first node deeper than `fit` levels, for messages.
std::string first_over(const Graph& graph, const std::vector<int>& depth, int fit) {
  for (std::size_t n = 0; n < depth.size(); ++n)
    if (depth[n] > fit) return graph.nodes[n].name;
  return {};
}

// The largest stride of any node on the input grid (pooling depth): bands must hold whole
// pooling windows at it.
int max_stride(const Graph& graph) {
  const Shape in_shape = graph.input_shape();
  int s = 1;
  for (const Node& node : graph.nodes)
    if (node.shape.height > 0 && in_shape.height % node.shape.height == 0)
      s = std::max(s, in_shape.height / node.shape.height);
  return s;
}

// Can a plane be cut into bands at N=2^log_n? Empty if so, else why not.
std::string band_refusal(const Graph& graph, int log_n) {
  const Shape in_shape = graph.input_shape();
  std::string why;
  if (!packing::BandSplit::make(1 << (log_n - 1), in_shape.height, in_shape.width, max_stride(graph), &why))
    return why.empty() ? std::string("cannot be cut into bands") : why;
  return {};
}

// Ring degree and primes: the given log_n, or the smallest secure N that holds a plane (and the
// batch) and the depth; when no 128-bit ring holds a plane in one ciphertext, every 128-bit ring
// that holds the depth and can cut the plane into bands of whole rows (make_plan keeps the
// cheapest by predicted cost). Throws naming the limit that is hit.
std::vector<ParamChoice> choose_ring(const Graph& graph, const std::vector<int>& depth, int levels,
                                     const PlanOptions& o) {
  const Shape in_shape = graph.input_shape();
  const long pixels = static_cast<long>(in_shape.height) * in_shape.width;
  int plane_log = 0;
  while ((1L << plane_log) < pixels) ++plane_log;
  const std::string size = std::to_string(in_shape.height) + "x" + std::to_string(in_shape.width);
  ParamChoice pc;
  if (o.log_n != 0) {
    if (o.log_n < 10 || o.log_n > 17)
      throw InvalidArgument("make_plan: log_n " + std::to_string(o.log_n) + " outside 10..17");
    if (!o.insecure_for_tests && o.log_n < 14)
      throw SecurityError("make_plan: log_n " + std::to_string(o.log_n) +
                          " is below 14; only allowed with insecure_for_tests");
    if (!fit_params(o.log_n, levels, o, !o.insecure_for_tests, pc)) {
      int fit = static_cast<int>((max_log_qp_128(o.log_n) - o.log_q0 - o.log_special) / o.log_scale);
      throw Unsupported("make_plan: depth " + std::to_string(levels) + " does not fit 128-bit " +
                        "parameters at N=2^" + std::to_string(o.log_n) + " (room for " +
                        std::to_string(std::max(fit, 0)) + " levels); node '" + first_over(graph, depth, fit) +
                        "' is the first over, by " + std::to_string(levels - fit) + " levels");
    }
  } else if (o.insecure_for_tests) {
    // INSECURE, tests only (`--insecure-test-params` without a value): the smallest ring that
    // holds an input plane, without the 128-bit floor (N >= 2^10); bands beyond 2^17.
    fit_params(std::min(17, std::max(10, plane_log + 1)), levels, o, false, pc);
  } else {
    bool ok = false;
    for (int ln = std::max(14, plane_log + 1); ln <= 16 && !ok; ++ln) ok = fit_params(ln, levels, o, true, pc);
    if (!ok) {
      // No 128-bit ring holds a plane in one ciphertext (or the depth): bands, or say which limit
      // is hit in the user's terms: the depth, the plane size, or both.
      const int fit = static_cast<int>((max_log_qp_128(16) - o.log_q0 - o.log_special) / o.log_scale);
      ParamChoice probe;
      const bool depth_fits = fit_params(16, levels, o, true, probe);
      std::vector<ParamChoice> banded;
      std::string refusal;
      if (depth_fits)
        for (int ln = 14; ln <= 16; ++ln) {
          ParamChoice c;
          if (!fit_params(ln, levels, o, true, c)) continue;
          const std::string why = band_refusal(graph, ln);
          if (why.empty())
            banded.push_back(c);
          else if (refusal.empty())
            refusal = "at N=2^" + std::to_string(ln) + ": " + why;
        }
      if (!banded.empty()) return banded;
      std::string msg = "make_plan: ";
      if (!depth_fits) {
        const std::string culprit = first_over(graph, depth, fit);
        msg += "depth " + std::to_string(levels) + " does not fit 128-bit parameters: the largest 128-bit ring (N=2^16, log2 QP <= " +
               std::to_string(static_cast<int>(max_log_qp_128(16))) + ") holds " + std::to_string(fit) + " levels" +
               (culprit.empty() ? std::string() : "; node '" + culprit + "' is the first over, by " +
                                                      std::to_string(levels - fit) + " levels");
        if (plane_log > 15)
          msg += "; also, the " + size + " input plane (" + std::to_string(pixels) + " values) needs N >= 2^" +
                 std::to_string(plane_log + 1) + " to fit one ciphertext (it would be cut into bands of rows)";
      } else {
        msg += "the " + size + " input plane (" + std::to_string(pixels) + " values) needs N >= 2^" +
               std::to_string(plane_log + 1) + " to fit one ciphertext, 128-bit parameters for depth " +
               std::to_string(levels) + " go up to N=2^16 (32768 slots), and it cannot be cut into bands of whole rows " +
               refusal + " (the width must divide the slots and a band must hold whole 2x2 pooling windows at the " +
               "model's largest stride " + std::to_string(max_stride(graph)) + ")";
      }
      throw Unsupported(msg);
    }
  }
  if (plane_log > pc.log_n - 1) {
    const std::string why = band_refusal(graph, pc.log_n);
    if (!why.empty())
      throw Unsupported("make_plan: a " + size + " input plane (" + std::to_string(pixels) +
                        " values) does not fit one ciphertext at N=2^" + std::to_string(pc.log_n) + " (" +
                        std::to_string(1L << (pc.log_n - 1)) + " slots) and cannot be cut into bands: " + why +
                        (o.insecure_for_tests ? "; one ciphertext needs N >= 2^" + std::to_string(plane_log + 1) +
                                                    " (--insecure-test-params " + std::to_string(plane_log + 1) + ")"
                                              : std::string()));
  }
  return {pc};
}

// The plan's parameters and packing grid, no layers yet.
Plan plan_header(const Graph& graph, const ParamChoice& pc, int levels, const PlanOptions& o) {
  const Shape in_shape = graph.input_shape();
  Plan plan;
  plan.log_n = pc.log_n;
  plan.log_q = pc.log_q;
  plan.log_p = pc.log_p;
  plan.log_scale = o.log_scale;
  plan.dnum = pc.dnum;
  plan.insecure_for_tests = o.insecure_for_tests;
  plan.mask_bits = o.mask_bits > 0 ? o.mask_bits : o.log_scale / 2 + 3;
  plan.mode = o.mode;
  plan.grid = Grid::make_banded(1 << (pc.log_n - 1), in_shape.height, in_shape.width, max_stride(graph));
  plan.depth = levels;
  plan.input_level = levels;
  plan.output_node = graph.output;
  plan.batch = 1;
  if (o.mode == PackingMode::throughput) {
    const int q = multiplex_side(graph, o, plan.grid, o.batch);
    const int capacity = plan.grid.rows * q * q;
    plan.batch = o.batch == 0 ? capacity : o.batch;
    if (plan.batch < 1 || plan.batch > capacity)
      throw InvalidArgument("make_plan: batch " + std::to_string(o.batch) + " must be in 1.." +
                            std::to_string(capacity) + " at N=2^" + std::to_string(pc.log_n) +
                            (q > 1 ? " with " + std::to_string(q * q) + " images per stride cell" : std::string()));
  }
  return plan;
}

// A node's output must sit on the input grid at a whole stride.
void check_on_grid(const Graph& graph, const Node& node) {
  const Shape in_shape = graph.input_shape();
  const int s_out = node.shape.height > 0 ? in_shape.height / node.shape.height : 0;
  if (s_out <= 0 || s_out * node.shape.height != in_shape.height || s_out * node.shape.width != in_shape.width)
    throw Unsupported("make_plan: " + detail::node_msg(node) + " has shape " + std::to_string(node.shape.height) +
                      "x" + std::to_string(node.shape.width) + ", not the input grid at a whole stride");
}

// Plans every layer of `plan` (header filled) and predicts its counts.
void plan_layers(const Graph& graph, const PlanOptions& o, Plan& plan);

}  // namespace

int multiplex_side(const Graph& graph, const PlanOptions& options, const packing::Grid& grid, int batch) {
  if (options.mode != PackingMode::throughput || grid.bands > 1 || options.mux < 1) return 1;
  const int top = std::min(options.mux, max_stride(graph));
  int q = 1;
  while (2 * q <= top) q *= 2;
  while (q > 1 && batch > 0 && static_cast<long>(grid.rows) * (q / 2) * (q / 2) >= batch) q /= 2;
  return q;
}

LinearOp linear_op_for(const Graph& graph, const Plan& plan, int n) {
  const Node& node = graph.nodes.at(n);
  const LayerPlan& in = plan.layers.at(node.inputs.at(0));
  const LayerPlan& out = plan.layers.at(n);
  double f = out.factor.empty() ? 1.0 : out.factor.front();
  if (node.kind == OpKind::Conv2d)
    return detail::build_conv(node, in.layout, in.factor, out.layout, f, out.taps);
  if (node.kind == OpKind::ConvTranspose2d)
    return detail::build_conv_transpose(node, in.layout, in.factor, out.layout, f);
  throw InvalidArgument("linear_op_for: " + detail::node_msg(node) + " is not linear");
}

// Each layer plans itself (he/layers: layout, level, factors; a linear layer also its strategy
// and tap side) and is then run, by the same layer code the executor runs, on a shape-only
// backend through the same counting wrapper: the predicted counts and rotation steps are those
// of that run.
Plan make_plan(const Graph& graph, const PlanOptions& o) {
  if (graph.nodes.empty() || graph.nodes[0].kind != OpKind::Input)
    throw InvalidArgument("make_plan: graph '" + graph.name + "' has no Input node first");
  if (graph.output < 0 || graph.output >= static_cast<int>(graph.nodes.size()))
    throw InvalidArgument("make_plan: graph output index " + std::to_string(graph.output) + " is out of range");
  if (o.log_scale < 20 || o.log_scale > 60 || o.log_q0 < o.log_scale || o.log_q0 > 61 || o.log_special < 20 ||
      o.log_special > 61)
    throw InvalidArgument("make_plan: bad prime sizes (log_scale " + std::to_string(o.log_scale) + ", log_q0 " +
                          std::to_string(o.log_q0) + ", log_special " + std::to_string(o.log_special) + ")");
  const std::vector<int> depth = node_depths(graph);
  const int levels = depth[graph.output];
  // One candidate ring unless the plane needs bands: then each ring's plan is made and the one
  // with the least predicted time kept (cost units are per operation at N=2^15; an operation's
  // time grows about linearly with N at a fixed number of primes).
  std::optional<Plan> best;
  double best_cost = 0.0;
  for (const ParamChoice& pc : choose_ring(graph, depth, levels, o)) {
    Plan plan = plan_header(graph, pc, levels, o);
    plan_layers(graph, o, plan);
    const double cost = cost_units_of(plan.total) * std::ldexp(1.0, plan.log_n - 15);
    if (!best || cost < best_cost) {
      best_cost = cost;
      best = std::move(plan);
    }
  }
  return std::move(*best);
}

namespace {

void plan_layers(const Graph& graph, const PlanOptions& o, Plan& plan) {
  const int nn = static_cast<int>(graph.nodes.size());
  plan.layers.reserve(nn);
  const detail::PlanEnv penv(graph, o, plan);
  std::vector<double> moduli;
  for (int bits : plan.log_q) moduli.push_back(std::ldexp(1.0, bits));
  detail::ShapeBackend shape(plan.grid.slots, std::move(moduli), std::ldexp(1.0, plan.log_scale));
  detail::LayerEnv<detail::ShapeBackend> env(shape, graph, plan);
  std::vector<HeTensor<detail::ShapeBackend::Ct>> values(nn);
  for (int n = 0; n < nn; ++n) {
    const Node& node = graph.nodes[n];
    check_on_grid(graph, node);
    LayerPlan lp;
    lp.node = n;
    lp.name = node.name;
    lp.kind = node.kind;
    if (node.kind == OpKind::Input)
      detail::plan_input(penv, node, n, lp);
    else
      detail::plan_layer(penv, n, lp);
    if (lp.layout.channels() != node.shape.channels)
      throw InvalidArgument("make_plan: " + detail::node_msg(node) + " has " + std::to_string(node.shape.channels) +
                            " channels but its layout " + lp.layout.describe());
    plan.layers.push_back(lp);
    LayerPlan& cur = plan.layers.back();

    const OpCounts before = env.be.counts();
    auto& out = values[n];
    if (node.kind == OpKind::Input) {
      out.cts.assign(cur.layout.team_size(), shape.input(plan.input_level));
    } else {
      std::vector<const HeTensor<detail::ShapeBackend::Ct>*> ins;
      for (int i : node.inputs) ins.push_back(&values[i]);
      if (node.kind == OpKind::Conv2d || node.kind == OpKind::ConvTranspose2d)
        detail::choose_linear(env, n, *ins[0], o, cur);
      out = detail::run_layer(env, n, ins);
    }
    out.layout = cur.layout;
    out.factor = cur.factor;
    for (const auto& ct : out.cts)
      if (ct.level != cur.level)
        throw std::logic_error("make_plan: " + detail::node_msg(node) + " runs to level " + std::to_string(ct.level) +
                               ", planned " + std::to_string(cur.level));
    cur.predicted = env.be.counts() - before;
    plan.total += cur.predicted;
  }
  plan.output_level = plan.layers[graph.output].level;
  std::set<int> steps = env.be.steps_used();
  steps.erase(0);
  plan.rotation_steps.assign(steps.begin(), steps.end());
  // Clients recompute the steps from the layers' geometry and refuse any other (rotation_set.h).
  if (const auto extra = unexplained_rotation_steps(plan); !extra.empty())
    throw std::logic_error("make_plan: rotation step " + std::to_string(extra.front()) +
                           " is not in rotation_set.h's geometric set (planner and rule disagree)");
}

}  // namespace

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
  // Masks and weight plaintexts are encoded at a layer's input level (one above its output);
  // plaintext biases at the output level, counted here at the input level (hence "at most").
  for (const LayerPlan& lp : plan.layers)
    s.encoded_bytes += static_cast<double>(lp.predicted.encodings) * (lp.level + 2) * n * 8.0;
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
     << plan.grid.rows << " rows of P=" << plan.grid.plane << " slots"
     << (plan.grid.bands > 1 ? ", planes in " + std::to_string(plan.grid.bands) + " bands of " +
                                   std::to_string(plan.grid.band_rows) + " rows"
                             : std::string())
     << ", depth " << plan.depth
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
  os << "encoded plaintexts (masks, weights; kept across runs of one plan) at most "
     << sz.encoded_bytes / 1048576.0 << " MiB, cache budget " << kEncodeCacheBudgetBytes / 1048576.0
     << " MiB\n";
}

}  // namespace cryptounet::nn
