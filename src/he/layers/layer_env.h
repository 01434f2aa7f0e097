// What an HE layer runs with (internal to he): the backend (wrapped in the one CountingBackend),
// the graph and plan, the encoded-mask cache, the split-run ownership and reduce hook, and the one place scales
// are reconciled before an addition, and the per-plan plaintext cache (RunOptions::encodings). The executor (he/exec) holds one per run; the planner
// (he/plan) holds one over the shape-only backend and copies it to try a linear layer's options.
#pragma once

#include <any>
#include <cmath>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "cryptounet/he/backends/backend.h"
#include "cryptounet/he/backends/encode_cache.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/exec/split_plan.h"
#include "cryptounet/he/plan/linear.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/packing/masks.h"
#include "he/exec/counting_backend.h"

namespace cryptounet::nn::detail {

template <HeBackend B>
class LayerEnv {
 public:
  using Ct = typename B::Ct;
  using Pt = typename B::Pt;
  using Tensor_ = HeTensor<Ct>;
  /// False for the planner's shape-only backend: layers then build no slot values.
  static constexpr bool kValues = !shape_only_backend<B>;

  LayerEnv(B& backend, const Graph& graph, const Plan& plan)
      : be(backend), graph(graph), plan(plan) {}

  CountingBackend<B> be;
  const Graph& graph;
  const Plan& plan;
  /// Split runs (RunOptions::ranks > 1, he/exec/split_plan.h): set by the executor around each node.
  const SplitLayer* split = nullptr;
  int rank = 0;
  /// Split by input: the partial sums (output, output step) -> ciphertext of this process (each
  /// with the first input index that went into it) in, the reduced sums of its own outputs out.
  std::function<void(int n, std::map<std::pair<int, int>, Ct>&, const std::map<std::pair<int, int>, int>&)> reduce;

  /// Split runs: does this process compute (and hold) output `j` (of `count`) of node `n`?
  [[nodiscard]] bool mine(int /*n*/, int j, int /*count*/) const {
    if (!split) return true;
    const int o = split->owner[static_cast<std::size_t>(j)];
    return o < 0 || o == rank;
  }
  /// Split by input: does this process hoist and multiply input ciphertext `i`?
  [[nodiscard]] bool input_here(int i) const {
    return !split || split->mode != SplitMode::inputs || split->input_owner[static_cast<std::size_t>(i)] == rank;
  }
  /// Split by rotation step: does this process rotate the inputs by `in_step` and multiply them?
  [[nodiscard]] bool step_here(int in_step) const {
    if (!split || split->mode != SplitMode::steps) return true;
    const auto it = split->step_owner.find(in_step);
    return it != split->step_owner.end() && it->second == rank;
  }
  /// Does this process form products for output `j` (all of them when split by input or step)?
  [[nodiscard]] bool products_for(int n, int j, int count) const { return split_inputs() || mine(n, j, count); }
  /// Split by input or by rotation step: partial sums of every output, reduced afterwards.
  [[nodiscard]] bool split_inputs() const {
    return split && (split->mode == SplitMode::inputs || split->mode == SplitMode::steps);
  }

  // The one place scales are reconciled before an addition. A squared tensor carries scale
  // D^2/q (q a prime near D = 2^log_scale), not exactly D; adding it to one at D (a residual Add
  // after a Square, as in tests/fixtures/random_ops.onnx) is off by |D/q - 1|, about 1e-7.
  // Relabelling the addend's scale costs a relative error of that size in its values, far below
  // the CKKS noise; a larger mismatch is left for the backend to refuse.
  [[nodiscard]] static bool relabel_scale(double from, double to) {
    const double rel = std::abs(from / to - 1.0);
    return rel > 1e-9 && rel < 1e-5;
  }
  void add(Ct& acc, const Ct& ct) {
    if (relabel_scale(B::scale(ct), B::scale(acc))) {
      Ct relabelled = ct;
      be.set_scale(relabelled, B::scale(acc));
      be.add_inplace(acc, relabelled);
    } else {
      be.add_inplace(acc, ct);
    }
  }

  /// Applies `f` to every member of `in` this process computes (split runs leave the others
  /// empty): the per-ciphertext layers (Square, AvgPool).
  template <class F>
  Tensor_ map_members(int n, const Tensor_& in, F&& f) {
    Tensor_ t;
    const int count = static_cast<int>(in.cts.size());
    for (int k = 0; k < count; ++k) {
      if (!mine(n, k, count))
        t.cts.emplace_back();
      else
        t.cts.push_back(f(in.cts[k]));
    }
    return t;
  }

  /// A mask pattern's slot values (cached for the layer being run; empty for a shape backend).
  const std::vector<double>& plain_mask(const packing::MaskKey& key) {
    auto it = plain_masks_.find(key);
    if (it == plain_masks_.end())
      it = plain_masks_.emplace(key, kValues ? packing::make_mask(plan.grid, key) : std::vector<double>{})
               .first;
    return it->second;
  }

  /// Encodings kept across runs of this plan (RunOptions::encodings; null: none, as in the planner).
  EncodeCache* cache = nullptr;

  /// The plaintext under `key` (at `level`, `scale`) from the per-plan cache; else `make()`
  /// (which encodes it) offered to the cache, or left in `spare` when there is none or it is full.
  template <class F>
  const Pt& plan_plaintext(const EncodeCache::Key& key, double scale, Pt& spare, F&& make) {
    if (cache) {
      if (const std::any* a = cache->find(key, scale)) return *std::any_cast<Pt>(a);
      std::any v = make();
      const double bytes = std::ldexp(8.0 * (key.level + 1), plan.log_n);
      if (const std::any* a = cache->insert(key, scale, bytes, v)) return *std::any_cast<Pt>(a);
      if (v.has_value()) {
        spare = std::any_cast<Pt>(std::move(v));
        return spare;
      }
    }
    spare = make();
    return spare;
  }

  /// A mask encoded at `level` and scale 2^plan.mask_bits, encoded once per level (and once
  /// per plan with a cache).
  const Pt& encoded_mask(int level, const packing::MaskKey& key) {
    MaskCacheKey k{level, key};
    auto it = masks_.find(k);
    if (it != masks_.end()) return it->second;
    const double scale = std::ldexp(1.0, plan.mask_bits);
    auto make = [&] { return be.encode(plain_mask(key), level, scale); };
    if (cache) {
      EncodeCache::Key ck;
      ck.kind = EncodeCache::Kind::mask;
      ck.level = level;
      ck.mask = key;
      if (const std::any* a = cache->find(ck, scale)) return *std::any_cast<Pt>(a);
      std::any v = make();
      if (const std::any* a = cache->insert(ck, scale, std::ldexp(8.0 * (level + 1), plan.log_n), v))
        return *std::any_cast<Pt>(a);
      if (v.has_value()) return masks_.emplace(k, std::any_cast<Pt>(std::move(v))).first->second;
    }
    return masks_.emplace(k, make()).first->second;
  }

  /// Before a layer whose inputs are at `level`: masks of higher levels are never used again
  /// (levels only go down along the graph); plain masks are per layer.
  void start_layer(int level) {
    std::erase_if(masks_, [&](const auto& kv) { return kv.first.level > level; });
    plain_masks_.clear();
  }

 private:
  std::map<MaskCacheKey, Pt> masks_;
  std::map<packing::MaskKey, std::vector<double>> plain_masks_;
};

}  // namespace cryptounet::nn::detail
