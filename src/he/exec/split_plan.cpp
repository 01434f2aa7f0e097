#include "cryptounet/he/exec/split_plan.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "cryptounet/common/error.h"

namespace cryptounet::nn {

const char* split_mode_name(SplitMode m) {
  switch (m) {
    case SplitMode::none: return "none";
    case SplitMode::outputs: return "outputs";
    case SplitMode::inputs: return "inputs";
    case SplitMode::steps: return "steps";
  }
  return "?";
}

std::map<int, int> assign_steps(const LinearOp& op, const std::vector<int>& owner, int ranks) {
  if (ranks < 1) throw InvalidArgument("assign_steps: " + std::to_string(ranks) + " ranks");
  // Rough relative costs on one core: a key switch of a hoisted rotation, encoding one mask,
  // multiplying a rotated input by a mask, one const product into an accumulator.
  constexpr double kKeySwitch = 1.0, kEncode = 0.85, kProduct = 0.6, kRow = 0.05;
  std::map<int, double> cost;
  std::set<std::pair<int, int>> rotated;                    // (in_step, in_ct)
  std::set<std::pair<int, packing::MaskKey>> encoded;       // (in_step, mask with row)
  std::set<std::tuple<int, int, packing::MaskKey>> masked;  // (in_step, in_ct, mask with row)
  std::set<std::pair<int, int>> giant;                      // (out_ct, out_step)
  for (const LinearTerm& t : op.terms) {
    const std::vector<RowProduct> rows = row_products(t);
    if (rows.empty()) continue;
    double& c = cost[t.in_step];
    if (t.in_step != 0 && rotated.emplace(t.in_step, t.in_ct).second) c += kKeySwitch;
    for (const RowProduct& r : rows) {
      packing::MaskKey mk = t.mask;
      mk.row = r.row;
      if (encoded.emplace(t.in_step, mk).second) c += kEncode;
      if (masked.emplace(t.in_step, t.in_ct, mk).second) c += kProduct;
      c += kRow;
    }
    if (t.out_step != 0) giant.emplace(t.out_ct, t.out_step);
  }
  std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
  for (const auto& [j, s] : giant) {
    const int o = j >= 0 && static_cast<std::size_t>(j) < owner.size() ? owner[static_cast<std::size_t>(j)] : -1;
    if (o >= 0 && o < ranks) load[static_cast<std::size_t>(o)] += kKeySwitch;
  }
  std::vector<std::pair<double, int>> order;
  for (const auto& [s, c] : cost) order.emplace_back(c, s);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::map<int, int> out;
  for (const auto& [c, s] : order) {
    const auto r = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    out[s] = static_cast<int>(r);
    load[r] += c;
  }
  return out;
}

SplitPlan plan_split(const Graph& graph, const Plan& plan, int ranks) {
  if (ranks < 1) throw InvalidArgument("plan_split: " + std::to_string(ranks) + " ranks");
  const int nn = static_cast<int>(graph.nodes.size());
  if (static_cast<int>(plan.layers.size()) != nn)
    throw InvalidArgument("plan_split: plan has " + std::to_string(plan.layers.size()) + " layers for a graph of " +
                          std::to_string(nn) + " nodes");
  SplitPlan sp;
  sp.ranks = ranks;
  sp.layers.resize(static_cast<std::size_t>(nn));
  // The current owners of each node's ciphertexts (whole_first turns a node's into -1).
  std::vector<std::vector<int>> own(static_cast<std::size_t>(nn));
  auto team = [&](int n) { return plan.layers[static_cast<std::size_t>(n)].layout.team_size(); };
  auto make_whole = [&](SplitLayer& L, int m) {
    auto& o = own[static_cast<std::size_t>(m)];
    if (std::any_of(o.begin(), o.end(), [](int r) { return r >= 0; })) {
      if (std::find(L.whole_first.begin(), L.whole_first.end(), m) == L.whole_first.end()) L.whole_first.push_back(m);
      std::fill(o.begin(), o.end(), -1);
    }
  };
  auto round_robin = [&](int count) {
    std::vector<int> o(static_cast<std::size_t>(count));
    for (int j = 0; j < count; ++j) o[static_cast<std::size_t>(j)] = j % ranks;
    return o;
  };
  for (int n = 0; n < nn; ++n) {
    const Node& node = graph.nodes[static_cast<std::size_t>(n)];
    SplitLayer& L = sp.layers[static_cast<std::size_t>(n)];
    const int count = team(n);
    switch (node.kind) {
      case OpKind::Input: L.owner.assign(static_cast<std::size_t>(count), -1); break;
      case OpKind::Conv2d:
      case OpKind::ConvTranspose2d: {
        const int in = node.inputs.at(0);
        const auto& io = own[static_cast<std::size_t>(in)];
        // By input where every process gets at least two inputs; else by step (also when the
        // inputs would divide: measured on brain64 at 2 ranks, enc.1's two inputs ran faster by
        // step, the layers of four and eight inputs by input).
        if (ranks > 1 && static_cast<int>(io.size()) >= 2 * ranks) {
          L.mode = SplitMode::inputs;
          for (std::size_t i = 0; i < io.size(); ++i)
            L.input_owner.push_back(io[i] >= 0 ? io[i] : static_cast<int>(i % static_cast<std::size_t>(ranks)));
        } else {
          L.mode = ranks > 1 ? SplitMode::steps : SplitMode::outputs;
          make_whole(L, in);
        }
        L.owner = round_robin(count);
        if (L.mode == SplitMode::steps) L.step_owner = assign_steps(linear_op_for(graph, plan, n), L.owner, ranks);
        break;
      }
      case OpKind::Square:
      case OpKind::AvgPool2d: {
        const auto& io = own[static_cast<std::size_t>(node.inputs.at(0))];
        L.mode = SplitMode::outputs;
        L.owner = round_robin(count);
        for (std::size_t k = 0; k < io.size() && k < L.owner.size(); ++k)
          if (io[k] >= 0) L.owner[k] = io[k];
        break;
      }
      case OpKind::Add: {
        const int a = node.inputs.at(0), b = node.inputs.at(1);
        bool clash = false;
        for (std::size_t k = 0; k < own[static_cast<std::size_t>(a)].size() && k < own[static_cast<std::size_t>(b)].size(); ++k) {
          const int x = own[static_cast<std::size_t>(a)][k], y = own[static_cast<std::size_t>(b)][k];
          if (x >= 0 && y >= 0 && x != y) clash = true;
        }
        if (clash) {
          make_whole(L, a);
          make_whole(L, b);
        }
        L.mode = SplitMode::outputs;
        L.owner = round_robin(count);
        for (std::size_t k = 0; k < L.owner.size(); ++k) {
          const auto& oa = own[static_cast<std::size_t>(a)];
          const auto& ob = own[static_cast<std::size_t>(b)];
          if (k < oa.size() && oa[k] >= 0) L.owner[k] = oa[k];
          else if (k < ob.size() && ob[k] >= 0) L.owner[k] = ob[k];
        }
        break;
      }
      case OpKind::Concat:
        for (int in : node.inputs) {
          const auto& io = own[static_cast<std::size_t>(in)];
          L.owner.insert(L.owner.end(), io.begin(), io.end());
        }
        if (static_cast<int>(L.owner.size()) != count)
          throw InvalidArgument("plan_split: concat '" + node.name + "' joins " + std::to_string(L.owner.size()) +
                                " ciphertexts, its layout has " + std::to_string(count));
        break;
    }
    if (static_cast<int>(L.owner.size()) != count)
      throw InvalidArgument("plan_split: node '" + node.name + "' has " + std::to_string(L.owner.size()) +
                            " owners for " + std::to_string(count) + " ciphertexts");
    own[static_cast<std::size_t>(n)] = L.owner;
  }
  sp.output_owner = own[static_cast<std::size_t>(graph.output)];
  return sp;
}

}  // namespace cryptounet::nn
