// The linear layers (Conv2d, he/layers/conv.h; ConvTranspose2d, he/layers/conv_transpose.h):
// both are lowered to one LinearOp (he/plan/linear.h) and share how they are planned (output
// layout, level, value factor; strategy and tap side chosen by running the candidates on the
// planner's shape-only backend and comparing their cost) and how a LinearOp runs on a backend
// (hoisted input rotations, products, accumulation per output step, rescale, bias).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "cryptounet/he/backends/const_product.h"
#include "cryptounet/he/plan/linear.h"
#include "he/layers/layer_env.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

/// Output layout, level (one below the input) and value factor of a Conv2d / ConvTranspose2d:
/// the largest power of two <= 1 that keeps the output (and its square, when a Square follows)
/// within the headroom of its level.
inline void plan_linear(const PlanEnv& env, const Node& node, int n, LayerPlan& lp) {
  const LayerPlan& in = env.input(node);
  lp.layout = env.layout(node, node.shape.channels);
  lp.level = level_below(node, in.level);
  const PlanOptions& o = env.options;
  const double m = env.range(node);
  double f = std::min(1.0, env.bound(lp.level) / (m * o.margin));
  const auto& next = env.consumers[n];
  if (next.size() == 1 && env.graph.nodes[next[0]].kind == OpKind::Square && lp.level >= 1) {
    const Node& sq = env.graph.nodes[next[0]];
    const double m2 = sq.max_abs > 0 ? sq.max_abs : m * m;
    f = std::min(f, std::sqrt(env.bound(lp.level - 1) / (m2 * o.margin)));
  }
  const double pow2 = f >= 1.0 ? 1.0 : std::ldexp(1.0, static_cast<int>(std::floor(std::log2(f))));
  lp.factor.assign(lp.layout.team_size(), pow2);
}

/// Masked products whose constant products go to the same accumulators with the same constants (the
/// groups a multiplexed convolution merges: one weight for all their slices) are added first, and
/// their constant products made once, on the sum. Exact: an integer constant distributes over a sum
/// mod q, so the output ciphertexts are the same; only the counts change (fewer constant products,
/// one addition per summed product).
template <HeBackend B>
void sum_shared_products(LayerEnv<B>& env, std::vector<typename B::Ct>& masked, std::vector<ConstProduct>& terms) {
  using Signature = std::vector<std::tuple<std::uint32_t, double, double>>;
  std::vector<Signature> sig(masked.size());
  for (const ConstProduct& p : terms) sig[p.in].emplace_back(p.out, p.c, p.const_scale);
  std::map<Signature, std::uint32_t> first;
  std::vector<char> summed(masked.size(), 0);
  for (std::uint32_t m = 0; m < masked.size(); ++m) {
    if (sig[m].empty()) continue;
    std::sort(sig[m].begin(), sig[m].end());
    auto [it, fresh] = first.emplace(std::move(sig[m]), m);
    if (fresh) continue;
    env.add(masked[it->second], masked[m]);
    summed[m] = 1;
  }
  std::erase_if(terms, [&](const ConstProduct& p) { return summed[p.in] != 0; });
}

/// The terms of `op` ordered output step by output step (stable: inputs in their order within a
/// step), when run_linear may run them so: masked scalars, no input rotation, one output step per
/// (input, mask) (so no masked product is made twice), two steps or more, not split across
/// processes by input, no multiplexed merge. Empty otherwise.
inline std::vector<LinearTerm> terms_by_output_step(const LinearOp& op, LinearStrategy strategy, bool split_inputs) {
  if (strategy != LinearStrategy::masked_scalar || split_inputs || op.merged_inputs != 1) return {};
  std::map<std::pair<int, packing::MaskKey>, int> step_of;
  for (const LinearTerm& t : op.terms) {
    if (t.in_step != 0) return {};
    auto [it, fresh] = step_of.emplace(std::make_pair(t.in_ct, t.mask), t.out_step);
    if (!fresh && it->second != t.out_step) return {};
  }
  std::vector<LinearTerm> terms = op.terms;
  std::stable_sort(terms.begin(), terms.end(),
                   [](const LinearTerm& a, const LinearTerm& b) { return a.out_step < b.out_step; });
  if (terms.empty() || terms.front().out_step == terms.back().out_step) return {};
  return terms;
}

/// Runs `op` on `in` (at the layer's input level) with `strategy`; outputs at one level lower.
template <HeBackend B>
HeTensor<typename B::Ct> run_linear(LayerEnv<B>& env, int n, const HeTensor<typename B::Ct>& in,
                                    const LinearOp& op, LinearStrategy strategy) {
  using Ct = typename B::Ct;
  using Pt = typename B::Pt;
  auto& be = env.be;
  const Node& node = env.graph.nodes[n];
  const int level = env.plan.layers[n].level + 1;
  for (std::size_t i = 0; i < in.cts.size(); ++i)
    if (env.input_here(static_cast<int>(i)) && B::level(in.cts[i]) != level)
      throw InvalidArgument("run_encrypted: node '" + node.name + "' input at level " +
                            std::to_string(B::level(in.cts[i])) + ", expected " + std::to_string(level));
  env.start_layer(level);
  const double target = be.default_scale();
  const double prod_scale = target * be.modulus(level);
  const double mask_scale = std::ldexp(1.0, env.plan.mask_bits);
  const bool diagonal = strategy == LinearStrategy::diagonal;
  const int slots = be.slots();

  // Step by step: with masked scalars, no input rotation and no mask shared between two output
  // steps, the terms run output step by output step (inputs in their order within a step), and each
  // step's sums are rotated into their outputs as soon as the step is done. The same operations in
  // another order (sums mod q are exact: the same ciphertexts), but only one step's accumulators
  // live at a time, so each batch of constant products passes over 1/steps of the bytes (a 3x3
  // convolution with its taps on the output side: 9 accumulators per output).
  const std::vector<LinearTerm> stepped = terms_by_output_step(op, strategy, env.split_inputs());
  const bool by_step = !stepped.empty();
  const std::vector<LinearTerm>& terms = by_step ? stepped : op.terms;
  // A run: the terms of one input ciphertext (of one output step, step by step), [t0, run_end(t0)).
  auto run_end = [&](std::size_t t0) {
    std::size_t t1 = t0;
    while (t1 < terms.size() && terms[t1].in_ct == terms[t0].in_ct &&
           (!by_step || terms[t1].out_step == terms[t0].out_step))
      ++t1;
    return t1;
  };

  std::map<std::pair<int, int>, Ct> acc;  // (out_ct, out_step) -> accumulated products
  // Each output's rotated sums: one rotation sum per output (the CKKS engine shares one ModDown
  // among its rotations), filled step by step or all at once when the output is finished.
  std::vector<typename decltype(env.be)::RotSum> partial(op.out_team);
  std::vector<double> sum_scale(op.out_team, 0.0);
  auto add_rotated = [&](int j, Ct& ct, int step) {  // scales reconciled as env.add does
    if (sum_scale[j] == 0.0)
      sum_scale[j] = B::scale(ct);
    else if (LayerEnv<B>::relabel_scale(B::scale(ct), sum_scale[j]))
      be.set_scale(ct, sum_scale[j]);
    be.rotate_add(partial[j], ct, step);
  };
  std::map<std::pair<int, int>, int> first_in;  // split by input: the first input in each sum
  auto accumulate_plain = [&](int j, int step, const Ct& src, const Pt& pt) {
    auto it = acc.find({j, step});
    if (it == acc.end())
      acc.emplace(std::make_pair(j, step), be.mul_plain(src, pt));
    else
      be.mul_plain_add_inplace(it->second, src, pt);
  };

  // Masked-scalar: the constant products of several input ciphertexts go to the accumulators in one
  // mul_const_accumulate call, so each pass over the accumulators (the costly memory traffic: every
  // accumulator word is read and written once per call) serves more products. The masked products
  // of a batch stay alive until its call: at most batch_bytes of them (more only when one input
  // ciphertext alone has more). batch_bytes is the bytes of the accumulators one input reaches,
  // kept within [160, 640] MiB: at N=2^15 that is 160 MiB (e.g. 3 of brain128's enc.2 inputs, 9
  // masked products of 5.2 MB); the 256x256 U-Net's enc.2 at N=2^16 reaches 64 accumulators of
  // 10.5 MB, and a 640 MiB batch made that layer 1.14-1.19x faster for 0.42 GiB more peak memory.
  const double masked_bytes = 2.0 * (level + 1) * 2.0 * slots * 8.0;  // one 2-part product at `level`
  double batch_bytes = 0.0;
  for (std::size_t t0 = 0, t1 = 0; t0 < terms.size(); t0 = t1) {
    t1 = run_end(t0);
    std::set<std::pair<int, int>> reached;  // (out_ct, out_step)
    for (std::size_t t = t0; t < t1; ++t) reached.emplace(terms[t].out_ct, terms[t].out_step);
    batch_bytes = std::max(batch_bytes, static_cast<double>(reached.size()) * masked_bytes);
  }
  batch_bytes = std::clamp(batch_bytes, 160.0 * (1 << 20), 640.0 * (1 << 20));
  std::vector<Ct> masked;
  std::vector<ConstProduct> const_terms;
  std::map<std::pair<int, int>, std::uint32_t> acc_slot;  // (out_ct, out_step) -> output index
  std::vector<std::pair<int, int>> acc_keys;
  auto flush_const = [&] {
    if (op.merged_inputs > 1) sum_shared_products(env, masked, const_terms);
    if (!const_terms.empty()) {
      std::vector<Ct*> outs;
      for (const auto& key : acc_keys) outs.push_back(&acc[key]);  // new entries start empty
      std::vector<const Ct*> ins;
      for (const Ct& z : masked) ins.push_back(&z);
      be.mul_const_accumulate(outs, ins, const_terms);
    }
    masked.clear();
    const_terms.clear();
    acc_slot.clear();
    acc_keys.clear();
  };

  // An output's giant steps: each accumulated sum rotated once by its output step into the output's
  // rotation sum (one ModDown for all of them on CKKS), rescaled, its bias added; its accumulators
  // are freed.
  auto finish = [&](int j) -> Ct {
    for (auto it = acc.lower_bound({j, 0}); it != acc.end() && it->first.first == j; ++it)
      add_rotated(j, it->second, it->first.second);
    if (partial[j].terms == 0)
      throw Unsupported("run_encrypted: node '" + node.name + "' output ciphertext " +
                        std::to_string(j) + " receives no product (all weights zero)");
    Ct sum = be.finish_sum(partial[j]);
    be.rescale_inplace(sum);
    switch (bias_kind(op.bias[j], op.bias_care[j])) {
      case BiasKind::none: break;
      case BiasKind::constant: {
        double b = 0.0;
        for (std::size_t r = 0; r < op.bias[j].size(); ++r)
          if (op.bias_care[j][r]) b = op.bias[j][r];
        be.add_const_inplace(sum, b);
        break;
      }
      case BiasKind::plaintext: {
        auto make = [&] {
          std::vector<double> values;
          if constexpr (LayerEnv<B>::kValues) {
            values.assign(slots, 0.0);
            const int P = env.plan.grid.plane;
            for (std::size_t r = 0; r < op.bias[j].size(); ++r)
              std::fill(values.begin() + r * P, values.begin() + (r + 1) * P, op.bias[j][r]);
          }
          return be.encode(values, B::level(sum), B::scale(sum));
        };
        EncodeCache::Key key;
        key.kind = EncodeCache::Kind::bias;
        key.node = n;
        key.index = j;
        key.level = B::level(sum);
        Pt spare;
        be.add_plain_inplace(sum, env.plan_plaintext(key, B::scale(sum), spare, make));
        break;
      }
    }
    acc.erase(acc.lower_bound({j, 0}), acc.lower_bound({j + 1, 0}));
    return sum;
  };

  // Step by step: a finished step's sums (all acc holds then) rotated into their outputs' rotation sums.
  auto fold_sums = [&] {
    for (auto& [key, ct] : acc) add_rotated(key.first, ct, key.second);
    acc.clear();
  };

  // Outputs whose last input has gone by are finished at once (after the pending constant products
  // reach them), so a layer whose outputs depend on a few inputs each (multiplexed groups) keeps only
  // the accumulators of the outputs in progress. Split runs sum across processes first: no early finish.
  std::vector<std::size_t> last_term(op.out_team, 0);
  for (std::size_t t = 0; t < terms.size(); ++t) last_term[terms[t].out_ct] = t;
  std::vector<std::optional<Ct>> finished(op.out_team);
  std::vector<int> complete;  // outputs whose inputs are all in, finished after the next flush
  const bool finish_early = !env.split_inputs();
  std::size_t t0 = 0;
  int inputs_in_batch = 0;
  while (t0 < terms.size()) {
    const int i = terms[t0].in_ct;
    const std::size_t t1 = run_end(t0);
    const bool step_done = by_step && (t1 == terms.size() || terms[t1].out_step != terms[t0].out_step);
    if (!env.input_here(i)) {  // split by input: another process's input
      t0 = t1;
      continue;
    }
    // Baby steps: every input rotation of this ciphertext, hoisted into one decomposition.
    std::vector<int> steps;
    std::vector<std::vector<RowProduct>> rps(t1 - t0);
    for (std::size_t t = t0; t < t1; ++t) {
      if (!env.products_for(n, terms[t].out_ct, op.out_team)) continue;  // another process's output
      if (!env.step_here(terms[t].in_step)) continue;                     // another process's step
      rps[t - t0] = row_products(terms[t]);
      const int s = terms[t].in_step;
      if (!rps[t - t0].empty() && s != 0 && std::find(steps.begin(), steps.end(), s) == steps.end())
        steps.push_back(s);
    }
    std::sort(steps.begin(), steps.end());
    const Ct& x = in.cts.at(i);
    std::vector<Ct> rotated = be.rotate_hoisted(x, steps);
    auto source = [&](int s) -> const Ct& {
      if (s == 0) return x;
      return rotated[std::lower_bound(steps.begin(), steps.end(), s) - steps.begin()];
    };
    // (in_step, mask with row) -> index of this input's masked product in `masked`.
    std::map<std::pair<int, packing::MaskKey>, std::uint32_t> masked_index;
    const std::size_t masked_before = masked.size();
    for (std::size_t t = t0; t < t1; ++t) {
      const LinearTerm& term = terms[t];
      const auto& rp = rps[t - t0];
      if (rp.empty()) continue;
      const Ct& src = source(term.in_step);
      if (env.split_inputs()) first_in.emplace(std::make_pair(term.out_ct, term.out_step), i);
      if (diagonal) {
        auto make = [&] {
          std::vector<double> values;
          if constexpr (LayerEnv<B>::kValues) {
            values.assign(slots, 0.0);
            for (const RowProduct& r : rp) {
              packing::MaskKey mk = term.mask;
              mk.row = r.row;
              const auto& m = env.plain_mask(mk);
              for (std::size_t k = 0; k < values.size(); ++k) values[k] += r.weight * m[k];
            }
          }
          return be.encode(values, level, prod_scale / B::scale(src));
        };
        EncodeCache::Key key;
        key.kind = EncodeCache::Kind::diagonal;
        key.node = n;
        key.index = static_cast<int>(t);
        key.level = level;
        Pt spare;
        accumulate_plain(term.out_ct, term.out_step, src,
                         env.plan_plaintext(key, prod_scale / B::scale(src), spare, make));
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
            masked.push_back(be.mul_plain(src, env.encoded_mask(level, mk)));
          }
          const_terms.push_back({slot->second, it->second, r.weight,
                                 prod_scale / (B::scale(src) * mask_scale)});
        }
      }
    }
    // Another input like this one would pass the batch's bytes: the batch goes now (a multiplexed
    // merge keeps the inputs it merges in one batch, so that their products are summed first).
    // Outputs whose last input this was are finished right after that flush.
    const std::size_t added = masked.size() - masked_before;
    if (finish_early)
      for (std::size_t t = t0; t < t1; ++t)
        if (last_term[terms[t].out_ct] == t) complete.push_back(terms[t].out_ct);
    const bool full = static_cast<double>(masked.size() + added) * masked_bytes > batch_bytes;
    if (++inputs_in_batch % op.merged_inputs == 0 && (full || step_done || !complete.empty())) {
      flush_const();
      inputs_in_batch = 0;
      if (step_done) fold_sums();
      for (int j : complete)
        if (env.mine(n, j, op.out_team)) finished[j] = finish(j);
      complete.clear();
    }
    t0 = t1;
  }
  flush_const();
  if (env.split_inputs()) env.reduce(n, acc, first_in);  // now only this process's outputs, summed

  HeTensor<Ct> out;
  for (int j = 0; j < op.out_team; ++j) {
    if (!env.mine(n, j, op.out_team)) {
      out.cts.emplace_back();
      continue;
    }
    out.cts.push_back(finished[j] ? std::move(*finished[j]) : finish(j));
  }
  return out;
}

/// The planner's choice for a linear layer: every allowed (tap side, strategy) is run on a copy
/// of `env` (a shape-only backend, so the copy is cheap and its mask cache is the one the layer
/// would find) and the cheapest by cost_units is kept in `lp` (the plan's layer n).
template <HeBackend B>
void choose_linear(const LayerEnv<B>& env, int n, const HeTensor<typename B::Ct>& in,
                   const PlanOptions& o, LayerPlan& lp) {
  const OpKind kind = env.graph.nodes[n].kind;
  std::vector<LinearStrategy> strategies;
  if (o.strategy != StrategyChoice::masked_scalar) strategies.push_back(LinearStrategy::diagonal);
  if (o.strategy != StrategyChoice::diagonal) strategies.push_back(LinearStrategy::masked_scalar);
  std::vector<TapSide> sides;
  if (kind != OpKind::Conv2d || o.taps != TapChoice::taps_out) sides.push_back(TapSide::taps_in);
  if (kind == OpKind::Conv2d && o.taps != TapChoice::taps_in) sides.push_back(TapSide::taps_out);
  double best = -1.0;
  LinearStrategy best_strategy = lp.strategy;
  TapSide best_side = lp.taps;
  for (TapSide side : sides) {
    lp.taps = side;
    const LinearOp op = linear_op_for(env.graph, env.plan, n);
    for (LinearStrategy st : strategies) {
      LayerEnv<B> probe = env;
      (void)run_linear(probe, n, in, op, st);
      const double cost = cost_units(probe.be.counts() - env.be.counts());
      if (best < 0 || cost < best) {
        best = cost;
        best_strategy = st;
        best_side = side;
      }
    }
  }
  lp.strategy = best_strategy;
  lp.taps = best_side;
}

}  // namespace cryptounet::nn::detail
