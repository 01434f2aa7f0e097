// Backend-generic implementation of the encrypted executor and the HE layers (internal).
// The backend is any HeBackend (he/backends/backend.h: today SimBackend and CkksBackend); the
// runner wraps it in a CountingBackend, the one place operations are counted. Included only by
// the files that instantiate it (executor_sim.cpp, executor_ckks.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "cryptounet/common/error.h"
#include "cryptounet/common/stopwatch.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/linear.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/packing/masks.h"
#include "he/exec/counting_backend.h"

namespace cryptounet::nn::detail {

template <HeBackend B>
class HeRunner {
 public:
  using Ct = typename B::Ct;
  using Pt = typename B::Pt;
  using Tensor_ = HeTensor<Ct>;

  HeRunner(B& be, const Graph& graph, const Plan& plan) : be_(be), graph_(graph), plan_(plan) {}

  Tensor_ run(std::vector<Ct> input, ExecReport* report, const RunOptions& options) {
    const int nn = static_cast<int>(graph_.nodes.size());
    if (static_cast<int>(plan_.layers.size()) != nn)
      throw InvalidArgument("run_encrypted: plan has " + std::to_string(plan_.layers.size()) +
                            " layers for a graph of " + std::to_string(nn) + " nodes");
    for (int n = 0; n < nn; ++n)
      if (plan_.layers[n].kind != graph_.nodes[n].kind || plan_.layers[n].name != graph_.nodes[n].name)
        throw InvalidArgument("run_encrypted: the plan was made for another model (node " +
                              std::to_string(n) + " is '" + graph_.nodes[n].name + "' (" +
                              op_name(graph_.nodes[n].kind) + "), the plan has '" +
                              plan_.layers[n].name + "')");
    for (int n = 0; n < nn; ++n) {
      const packing::DvrLayout& l = plan_.layers[n].layout;
      const Shape& sh = graph_.nodes[n].shape;
      if (l.channels() != sh.channels || l.height() != sh.height || l.width() != sh.width ||
          !(l.grid() == plan_.grid) ||
          static_cast<int>(plan_.layers[n].factor.size()) != l.team_size())
        throw InvalidArgument("run_encrypted: the plan's layout for node '" + graph_.nodes[n].name +
                              "' (" + l.describe() + ") does not fit its shape " +
                              std::to_string(sh.channels) + "x" + std::to_string(sh.height) +
                              "x" + std::to_string(sh.width));
    }
    if (be_.slots() != plan_.grid.slots)
      throw InvalidArgument("run_encrypted: backend has " + std::to_string(be_.slots()) +
                            " slots, the plan " + std::to_string(plan_.grid.slots));
    std::vector<std::optional<Tensor_>> values(nn);
    std::vector<int> uses(nn, 0);
    for (const Node& n : graph_.nodes)
      for (int i : n.inputs) ++uses[i];
    ++uses[graph_.output];
    auto t_all = std::chrono::steady_clock::now();
    for (int n = 0; n < nn; ++n) {
      const Node& node = graph_.nodes[n];
      const LayerPlan& lp = plan_.layers[n];
      OpCounts before = be_.counts();
      auto t0 = std::chrono::steady_clock::now();
      Tensor_ out;
      split_ = options.computes && node.kind != OpKind::Input && node.kind != OpKind::Concat;
      if (node.kind == OpKind::Input) {
        out = input_tensor(std::move(input));
      } else {
        std::vector<const Tensor_*> ins;
        for (int i : node.inputs) ins.push_back(&*values[i]);
        computes_ = &options.computes;
        out = run_node(n, ins);
      }
      if (split_) gather(n, out.cts, options);
      out.layout = lp.layout;
      out.factor = lp.factor;
      for (const Ct& ct : out.cts)
        if (be_.level(ct) != lp.level)
          throw InvalidArgument("run_encrypted: node '" + node.name + "' produced level " +
                                std::to_string(be_.level(ct)) + ", plan says " +
                                std::to_string(lp.level));
      values[n] = std::move(out);
      for (int i : node.inputs)
        if (--uses[i] == 0) values[i].reset();
      if (report) {
        LayerReport r;
        r.node = n;
        r.name = node.name;
        r.kind = node.kind;
        r.level = lp.level;
        r.seconds = seconds_since(t0);
        r.counts = be_.counts() - before;
        report->layers.push_back(r);
        report->total += r.counts;
      }
      if (options.progress) options.progress(n + 1, nn, node.name);
    }
    if (report) {
      report->seconds = seconds_since(t_all);
      report->steps_used = be_.steps_used();
    }
    return std::move(*values[graph_.output]);
  }

 private:
  // Split runs: does this process compute output `j` (of `count`) of node `n`?
  bool mine(int n, int j, int count) const { return !split_ || (*computes_)(n, j, count); }

  void gather(int n, std::vector<Ct>& cts, const RunOptions& options) {
    if constexpr (std::is_same_v<Ct, ckks::Ciphertext>) {
      if (!options.gather) throw InvalidArgument("run_encrypted: RunOptions::computes without gather");
      options.gather(n, cts);
    } else {
      throw Unsupported("run_encrypted: split runs (RunOptions::computes) need the CKKS backend");
    }
  }

  // The one place scales are reconciled before an addition. A squared tensor carries scale
  // D^2/q (q a prime near D = 2^log_scale), not exactly D; adding it to one at D (a residual Add
  // after a Square, as in tests/fixtures/random_ops.onnx) is off by |D/q - 1|, about 1e-7.
  // Relabelling the addend's scale costs a relative error of that size in its values, far below
  // the CKKS noise; a larger mismatch is left for the backend to refuse.
  void add(Ct& acc, const Ct& ct) {
    const double rel = std::abs(B::scale(ct) / B::scale(acc) - 1.0);
    if (rel > 1e-9 && rel < 1e-5) {
      Ct relabelled = ct;
      be_.set_scale(relabelled, B::scale(acc));
      be_.add_inplace(acc, relabelled);
    } else {
      be_.add_inplace(acc, ct);
    }
  }

  Tensor_ input_tensor(std::vector<Ct> input) {
    const LayerPlan& lp = plan_.layers[0];
    if (static_cast<int>(input.size()) != lp.layout.team_size())
      throw InvalidArgument("run_encrypted: " + std::to_string(input.size()) +
                            " input ciphertexts, the plan's input layout needs " +
                            std::to_string(lp.layout.team_size()) + " (" +
                            lp.layout.describe() + ")");
    for (const Ct& ct : input)
      if (be_.level(ct) != plan_.input_level)
        throw InvalidArgument("run_encrypted: input ciphertext at level " +
                              std::to_string(be_.level(ct)) + ", the plan needs " +
                              std::to_string(plan_.input_level));
    Tensor_ t;
    t.cts = std::move(input);
    return t;
  }

  Tensor_ run_node(int n, const std::vector<const Tensor_*>& ins) {
    const Node& node = graph_.nodes[n];
    const LayerPlan& lp = plan_.layers[n];
    switch (node.kind) {
      case OpKind::Conv2d:
      case OpKind::ConvTranspose2d: return linear(n, *ins[0]);
      case OpKind::Square: {
        Tensor_ t;
        for (const Ct& x : ins[0]->cts) {
          if (!mine(n, static_cast<int>(t.cts.size()), static_cast<int>(ins[0]->cts.size()))) {
            t.cts.emplace_back();
            continue;
          }
          Ct y = be_.square_relin(x);
          be_.rescale_inplace(y);
          t.cts.push_back(std::move(y));
        }
        return t;
      }
      case OpKind::AvgPool2d: {
        // x + rot(x, s), then + rot(., s*W0): each output grid point (stride 2s) sums its 2x2
        // block of stride-s points; the 1/4 is in the factor, folded into the next weights.
        const int s = ins[0]->layout.stride();
        const int step_x = packing::normalize_step(s, be_.slots());
        const int step_y =
            packing::normalize_step(static_cast<long>(s) * plan_.grid.width, be_.slots());
        Tensor_ t;
        for (const Ct& x : ins[0]->cts) {
          if (!mine(n, static_cast<int>(t.cts.size()), static_cast<int>(ins[0]->cts.size()))) {
            t.cts.emplace_back();
            continue;
          }
          Ct y = x;
          add(y, be_.rotate(x, step_x));
          Ct r = be_.rotate(y, step_y);
          add(y, r);
          t.cts.push_back(std::move(y));
        }
        return t;
      }
      case OpKind::Concat: {
        Tensor_ t;
        for (const Tensor_* in : ins)
          for (const Ct& x : in->cts) {
            Ct y = x;
            if (be_.level(y) > lp.level) be_.drop_level_inplace(y, lp.level);
            t.cts.push_back(std::move(y));
          }
        return t;
      }
      case OpKind::Add: {
        Tensor_ t;
        for (std::size_t k = 0; k < ins[0]->cts.size(); ++k) {
          if (!mine(n, static_cast<int>(k), static_cast<int>(ins[0]->cts.size()))) {
            t.cts.emplace_back();
            continue;
          }
          Ct a = ins[0]->cts[k], b = ins[1]->cts[k];
          if (be_.level(a) > lp.level) be_.drop_level_inplace(a, lp.level);
          if (be_.level(b) > lp.level) be_.drop_level_inplace(b, lp.level);
          add(a, b);
          t.cts.push_back(std::move(a));
        }
        return t;
      }
      case OpKind::Input: break;
    }
    throw InvalidArgument("run_encrypted: unexpected node '" + node.name + "'");
  }

  const std::vector<double>& plain_mask(const packing::MaskKey& key) {
    auto it = plain_masks_.find(key);
    if (it == plain_masks_.end())
      it = plain_masks_.emplace(key, packing::make_mask(plan_.grid, key)).first;
    return it->second;
  }

  const Pt& encoded_mask(int level, const packing::MaskKey& key) {
    MaskCacheKey k{level, key};
    auto it = masks_.find(k);
    if (it == masks_.end()) {
      const auto& m = plain_mask(key);
      it = masks_.emplace(k, be_.encode(m, level, std::ldexp(1.0, plan_.mask_bits))).first;
    }
    return it->second;
  }

  Tensor_ linear(int n, const Tensor_& in) {
    const Node& node = graph_.nodes[n];
    const LayerPlan& lp = plan_.layers[n];
    const LinearOp op = linear_op_for(graph_, plan_, n);
    const int level = lp.level + 1;
    for (const Ct& x : in.cts)
      if (be_.level(x) != level)
        throw InvalidArgument("run_encrypted: node '" + node.name + "' input at level " +
                              std::to_string(be_.level(x)) + ", expected " + std::to_string(level));
    // Masks of higher levels are never used again (levels only go down along the graph).
    std::erase_if(masks_, [&](const auto& kv) { return kv.first.level > level; });
    plain_masks_.clear();
    const double target = be_.default_scale();
    const double prod_scale = target * be_.modulus(level);
    const double mask_scale = std::ldexp(1.0, plan_.mask_bits);
    const bool diagonal = lp.strategy == LinearStrategy::diagonal;

    std::map<std::pair<int, int>, Ct> acc;  // (out_ct, out_step) -> accumulated products
    auto accumulate_plain = [&](int j, int step, const Ct& src, const Pt& pt) {
      auto it = acc.find({j, step});
      if (it == acc.end())
        acc.emplace(std::make_pair(j, step), be_.mul_plain(src, pt));
      else
        be_.mul_plain_add_inplace(it->second, src, pt);
    };

    std::size_t t0 = 0;
    while (t0 < op.terms.size()) {
      const int i = op.terms[t0].in_ct;
      std::size_t t1 = t0;
      while (t1 < op.terms.size() && op.terms[t1].in_ct == i) ++t1;
      // Baby steps: every input rotation of this ciphertext, hoisted into one decomposition.
      std::vector<int> steps;
      std::vector<std::vector<RowProduct>> rps(t1 - t0);
      for (std::size_t t = t0; t < t1; ++t) {
        if (!mine(n, op.terms[t].out_ct, op.out_team)) continue;  // another process's output
        rps[t - t0] = row_products(op.terms[t]);
        int s = op.terms[t].in_step;
        if (!rps[t - t0].empty() && s != 0 && std::find(steps.begin(), steps.end(), s) == steps.end())
          steps.push_back(s);
      }
      std::sort(steps.begin(), steps.end());
      const Ct& x = in.cts.at(i);
      std::vector<Ct> rotated = be_.rotate_hoisted(x, steps);
      auto source = [&](int s) -> const Ct& {
        if (s == 0) return x;
        return rotated[std::lower_bound(steps.begin(), steps.end(), s) - steps.begin()];
      };
      // (in_step, mask with row) -> index of the masked product in `masked`.
      std::map<std::pair<int, packing::MaskKey>, std::uint32_t> masked_index;
      std::vector<Ct> masked;
      // Masked-scalar: every constant product of this input ciphertext, into every accumulator,
      // in one call (one pass over the masked products for all accumulators, lazy reduction).
      std::vector<ConstProduct> const_terms;
      std::map<std::pair<int, int>, std::uint32_t> acc_slot;  // (out_ct, out_step) -> output index
      std::vector<std::pair<int, int>> acc_keys;
      for (std::size_t t = t0; t < t1; ++t) {
        const LinearTerm& term = op.terms[t];
        const auto& rp = rps[t - t0];
        if (rp.empty()) continue;
        const Ct& src = source(term.in_step);
        if (diagonal) {
          std::vector<double> values(be_.slots(), 0.0);
          for (const RowProduct& r : rp) {
            packing::MaskKey mk = term.mask;
            mk.row = r.row;
            const auto& m = plain_mask(mk);
            for (std::size_t k = 0; k < values.size(); ++k) values[k] += r.weight * m[k];
          }
          Pt pt = be_.encode(values, level, prod_scale / be_.scale(src));
          accumulate_plain(term.out_ct, term.out_step, src, pt);
        } else {
          const std::pair<int, int> out_key{term.out_ct, term.out_step};
          auto [slot, fresh] = acc_slot.emplace(out_key, static_cast<std::uint32_t>(acc_keys.size()));
          if (fresh) acc_keys.push_back(out_key);
          for (const RowProduct& r : rp) {
            packing::MaskKey mk = term.mask;
            mk.row = r.row;
            auto key = std::make_pair(term.in_step, mk);
            auto it = masked_index.find(key);
            if (it == masked_index.end()) {
              it = masked_index.emplace(key, static_cast<std::uint32_t>(masked.size())).first;
              masked.push_back(be_.mul_plain(src, encoded_mask(level, mk)));
            }
            const_terms.push_back({slot->second, it->second, r.weight,
                                   prod_scale / (be_.scale(src) * mask_scale)});
          }
        }
      }
      if (!const_terms.empty()) {
        std::vector<Ct*> outs;
        for (const auto& key : acc_keys) outs.push_back(&acc[key]);  // new entries start empty
        std::vector<const Ct*> ins;
        for (const Ct& z : masked) ins.push_back(&z);
        be_.mul_const_accumulate(outs, ins, const_terms);
      }
      t0 = t1;
    }

    Tensor_ out;
    for (int j = 0; j < op.out_team; ++j) {
      if (!mine(n, j, op.out_team)) {
        out.cts.emplace_back();
        continue;
      }
      std::optional<Ct> sum;
      for (auto it = acc.lower_bound({j, 0}); it != acc.end() && it->first.first == j; ++it) {
        const int step = it->first.second;
        if (!sum) {
          sum = step == 0 ? std::move(it->second) : be_.rotate(it->second, step);
        } else if (step == 0) {
          add(*sum, it->second);
        } else {
          add(*sum, be_.rotate(it->second, step));
        }
      }
      if (!sum)
        throw Unsupported("run_encrypted: node '" + node.name + "' output ciphertext " +
                          std::to_string(j) + " receives no product (all weights zero)");
      be_.rescale_inplace(*sum);
      switch (bias_kind(op.bias[j], op.bias_care[j])) {
        case BiasKind::none: break;
        case BiasKind::constant: {
          double b = 0.0;
          for (std::size_t r = 0; r < op.bias[j].size(); ++r)
            if (op.bias_care[j][r]) b = op.bias[j][r];
          be_.add_const_inplace(*sum, b);
          break;
        }
        case BiasKind::plaintext: {
          std::vector<double> values(be_.slots(), 0.0);
          const int P = plan_.grid.plane;
          for (std::size_t r = 0; r < op.bias[j].size(); ++r)
            std::fill(values.begin() + r * P, values.begin() + (r + 1) * P, op.bias[j][r]);
          Pt pt = be_.encode(values, be_.level(*sum), be_.scale(*sum));
          be_.add_plain_inplace(*sum, pt);
          break;
        }
      }
      out.cts.push_back(std::move(*sum));
    }
    return out;
  }

  CountingBackend<B> be_;
  const Graph& graph_;
  const Plan& plan_;
  bool split_ = false;  // the node being run is split across processes
  const std::function<bool(int, int, int)>* computes_ = nullptr;
  std::map<MaskCacheKey, Pt> masks_;
  std::map<packing::MaskKey, std::vector<double>> plain_masks_;
};

}  // namespace cryptounet::nn::detail

namespace cryptounet::nn {

template <HeBackend Backend>
HeTensor<typename Backend::Ct> run_encrypted(Backend& backend, const Graph& graph,
                                             const Plan& plan,
                                             std::vector<typename Backend::Ct> input,
                                             ExecReport* report, const RunOptions& options) {
  detail::HeRunner<Backend> runner(backend, graph, plan);
  return runner.run(std::move(input), report, options);
}

}  // namespace cryptounet::nn
