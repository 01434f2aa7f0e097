// Shared pieces of lowering a linear layer to a LinearOp (internal to he/layers): the checks of
// an input/output layout pair, where an input channel is read for an output row, the table that
// merges products into terms, and the bias per output ciphertext.
#pragma once

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "cryptounet/he/plan/linear.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/packing/dvr_layout.h"
#include "cryptounet/packing/masks.h"

namespace cryptounet::nn::detail {

/// Same mode, grid and batch on both sides; one factor per input ciphertext.
void check_pair(const Node& node, const packing::DvrLayout& in, const std::vector<double>& in_factor,
                const packing::DvrLayout& out);

/// Where input channel ci is read for output row r: (input ciphertext, revolver turn k).
std::pair<int, int> source_of(const packing::DvrLayout& in, int ci, int r);

/// Collects products into terms: one term per (input, input step, output, output step, mask), in
/// the order of their inputs.
class TermTable {
 public:
  /// Multiplexed layouts: inputs whose group / `per_output_group` is the same feed the same output
  /// accumulators, so take() orders the inputs by that first (then by index) and each batch of
  /// products the executor flushes touches the fewest accumulators.
  TermTable(const packing::DvrLayout& out, int rows, int in_groups = 1, int per_output_group = 1)
      : out_(out), rows_(rows), in_groups_(in_groups), per_group_(per_output_group) {}

  // The term (in_ct, in_step, out_ct, out_step, mask); `out_turn` is the revolver turn k between
  // the product frame and the output frame (product row q feeds output row q - k).
  LinearTerm& get(int in_ct, int in_step, int out_ct, int out_step, const packing::MaskKey& mask,
                  int out_turn) {
    auto key = std::make_tuple(in_ct, in_step, out_ct, out_step, mask);
    auto it = index_.find(key);
    if (it != index_.end()) return terms_[it->second];
    LinearTerm t;
    t.in_ct = in_ct;
    t.in_step = in_step;
    t.out_ct = out_ct;
    t.out_step = out_step;
    t.mask = mask;
    t.weight.assign(rows_, 0.0);
    t.care.assign(rows_, 0);
    for (int q = 0; q < rows_; ++q)
      t.care[q] = out_.row_owner(out_ct, ((q - out_turn) % rows_ + rows_) % rows_) >= 0;
    index_.emplace(key, terms_.size());
    terms_.push_back(std::move(t));
    return terms_.back();
  }

  std::vector<LinearTerm> take() {
    auto order = [&](int in_ct) { return std::make_pair(in_ct % in_groups_ / per_group_, in_ct); };
    std::stable_sort(terms_.begin(), terms_.end(),
                     [&](const LinearTerm& a, const LinearTerm& b) { return order(a.in_ct) < order(b.in_ct); });
    return std::move(terms_);
  }

 private:
  const packing::DvrLayout& out_;
  int rows_;
  int in_groups_;
  int per_group_;
  std::map<std::tuple<int, int, int, int, packing::MaskKey>, std::size_t> index_;
  std::vector<LinearTerm> terms_;
};

/// The bias of every output ciphertext, per row, times the output factor.
void fill_bias(const Node& node, const packing::DvrLayout& out, double out_factor, LinearOp& op);

/// The finished LinearOp of a lowering: the table's terms, both team sizes and the bias.
LinearOp finish_linear_op(const Node& node, const packing::DvrLayout& in, const packing::DvrLayout& out,
                          double out_factor, TermTable& table);

}  // namespace cryptounet::nn::detail
