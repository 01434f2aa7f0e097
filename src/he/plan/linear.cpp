#include "cryptounet/he/plan/linear.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "cryptounet/common/error.h"

namespace cryptounet::nn {

using packing::DvrLayout;
using packing::MaskKey;
using packing::PackingMode;

const char* strategy_name(LinearStrategy s) {
  return s == LinearStrategy::diagonal ? "diagonal" : "masked_scalar";
}

const char* tap_side_name(TapSide s) { return s == TapSide::taps_in ? "taps_in" : "taps_out"; }

namespace {

std::string node_msg(const Node& node) {
  return "node '" + node.name + "' (" + op_name(node.kind) + ")";
}

void check_pair(const Node& node, const DvrLayout& in, const std::vector<double>& in_factor,
                const DvrLayout& out) {
  if (in.mode() != out.mode() || !(in.grid() == out.grid()) || in.batch() != out.batch())
    throw InvalidArgument(node_msg(node) + ": layouts differ in mode, grid or batch: " +
                          in.describe() + " -> " + out.describe());
  if (static_cast<int>(in_factor.size()) != in.team_size())
    throw InvalidArgument(node_msg(node) + ": " + std::to_string(in_factor.size()) +
                          " input factors for a team of " + std::to_string(in.team_size()));
}

// Where input channel ci is read for output row r: the location with the smallest revolver
// turn k = (row' - r) mod R. Throughput mode: the channel's ciphertext, same row (k = 0).
std::pair<int, int> source_of(const DvrLayout& in, int ci, int r) {
  if (in.mode() == PackingMode::throughput) return {ci, 0};
  const int R = in.grid().rows;
  int best_ct = -1, best_k = R;
  for (const auto& loc : in.locations(ci)) {
    int k = ((loc.row - r) % R + R) % R;
    if (k < best_k) {
      best_k = k;
      best_ct = loc.ct;
    }
  }
  return {best_ct, best_k};
}

class TermTable {
 public:
  TermTable(const DvrLayout& out, int rows) : out_(out), rows_(rows) {}

  // The term (in_ct, in_step, out_ct, out_step, mask); `out_turn` is the revolver turn k between
  // the product frame and the output frame (product row q feeds output row q - k).
  LinearTerm& get(int in_ct, int in_step, int out_ct, int out_step, const MaskKey& mask,
                  int out_turn) {
    auto key = std::make_tuple(in_ct, in_step, out_ct, out_step, mask.dy, mask.dx, mask.shift);
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
    std::stable_sort(terms_.begin(), terms_.end(),
                     [](const LinearTerm& a, const LinearTerm& b) { return a.in_ct < b.in_ct; });
    return std::move(terms_);
  }

 private:
  const DvrLayout& out_;
  int rows_;
  std::map<std::tuple<int, int, int, int, int, int, int>, std::size_t> index_;
  std::vector<LinearTerm> terms_;
};

void fill_bias(const Node& node, const DvrLayout& out, double out_factor, LinearOp& op) {
  const int R = out.grid().rows;
  op.bias.assign(out.team_size(), std::vector<double>(R, 0.0));
  op.bias_care.assign(out.team_size(), std::vector<char>(R, 0));
  for (int j = 0; j < out.team_size(); ++j)
    for (int r = 0; r < R; ++r) {
      int co = out.channel_at(j, r);
      if (co < 0) continue;
      op.bias_care[j][r] = 1;
      op.bias[j][r] = node.bias.empty() ? 0.0 : node.bias.at(co) * out_factor;
    }
}

}  // namespace

LinearOp build_conv(const Node& node, const DvrLayout& in, const std::vector<double>& in_factor,
                    const DvrLayout& out, double out_factor, TapSide side) {
  if (node.kind != OpKind::Conv2d) throw InvalidArgument(node_msg(node) + ": not a Conv2d");
  const int K = node.kernel;
  if ((K != 1 && K != 3) || node.stride != 1 || node.pad != K / 2)
    throw Unsupported(node_msg(node) + ": kernel " + std::to_string(K) + " stride " +
                      std::to_string(node.stride) + " pad " + std::to_string(node.pad) +
                      " (supported: kernel 1 or 3, stride 1, 'same' padding)");
  check_pair(node, in, in_factor, out);
  const int cin = in.channels(), cout = out.channels();
  if (out.stride() != in.stride() || out.height() != in.height() || out.width() != in.width())
    throw InvalidArgument(node_msg(node) + ": output layout " + out.describe() +
                          " does not match input " + in.describe());
  if (node.weight.size() != static_cast<std::size_t>(cout) * cin * K * K)
    throw InvalidArgument(node_msg(node) + ": weight has " + std::to_string(node.weight.size()) +
                          " entries, expected " + std::to_string(cout * cin * K * K));
  const packing::Grid& g = in.grid();
  const int R = g.rows, p = K / 2;
  TermTable table(out, R);
  for (int j = 0; j < out.team_size(); ++j)
    for (int r = 0; r < R; ++r) {
      const int co = out.channel_at(j, r);
      if (co < 0) continue;
      for (int ci = 0; ci < cin; ++ci) {
        auto [i, k] = source_of(in, ci, r);
        const int turn = packing::normalize_step(packing::row_turn_step(g, k), g.slots);
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx) {
            const int dy = ky - p, dx = kx - p;
            MaskKey mk{in.stride(), in.height(), in.width(), dy, dx, -1, 0};
            if (packing::mask_weight(mk) == 0) continue;  // tap never inside the image
            const int tap =
                packing::normalize_step(packing::tap_step(g, in.stride(), dy, dx), g.slots);
            double w = node.weight[((static_cast<std::size_t>(co) * cin + ci) * K + ky) * K + kx];
            if (side == TapSide::taps_in) {
              // Product frame = input frame: mask row r + k feeds output row r after the turn.
              LinearTerm& t = table.get(i, tap, j, turn, mk, k);
              t.weight[(r + k) % R] = w * out_factor / in_factor[i];
            } else {
              // Turn first (input side), tap last (output side): the mask of output row r,
              // rotated right by the tap, multiplies the turned input.
              mk.shift = tap;
              LinearTerm& t = table.get(i, turn, j, tap, mk, 0);
              t.weight[r] = w * out_factor / in_factor[i];
            }
          }
      }
    }
  LinearOp op;
  op.in_team = in.team_size();
  op.out_team = out.team_size();
  op.terms = table.take();
  fill_bias(node, out, out_factor, op);
  return op;
}

LinearOp build_conv_transpose(const Node& node, const DvrLayout& in,
                              const std::vector<double>& in_factor, const DvrLayout& out,
                              double out_factor) {
  if (node.kind != OpKind::ConvTranspose2d)
    throw InvalidArgument(node_msg(node) + ": not a ConvTranspose2d");
  if (node.kernel != 2 || node.stride != 2 || node.pad != 0)
    throw Unsupported(node_msg(node) + ": kernel " + std::to_string(node.kernel) + " stride " +
                      std::to_string(node.stride) + " pad " + std::to_string(node.pad) +
                      " (supported: kernel 2, stride 2, no padding)");
  check_pair(node, in, in_factor, out);
  const int cin = in.channels(), cout = out.channels();
  if (in.stride() != 2 * out.stride() || out.height() != 2 * in.height() ||
      out.width() != 2 * in.width())
    throw InvalidArgument(node_msg(node) + ": output layout " + out.describe() +
                          " is not the 2x finer grid of " + in.describe());
  if (node.weight.size() != static_cast<std::size_t>(cin) * cout * 4)
    throw InvalidArgument(node_msg(node) + ": weight has " + std::to_string(node.weight.size()) +
                          " entries, expected " + std::to_string(cin * cout * 4));
  const packing::Grid& g = in.grid();
  const int R = g.rows, s = out.stride();
  const MaskKey coarse{in.stride(), in.height(), in.width(), 0, 0, -1, 0};
  TermTable table(out, R);
  for (int j = 0; j < out.team_size(); ++j)
    for (int r = 0; r < R; ++r) {
      const int co = out.channel_at(j, r);
      if (co < 0) continue;
      for (int ci = 0; ci < cin; ++ci) {
        auto [i, k] = source_of(in, ci, r);
        const int in_step = packing::normalize_step(packing::row_turn_step(g, k), g.slots);
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) {
            // Products sit on the coarse grid; a right rotation by s*(a*W0 + b) moves phase
            // (a, b) onto its place on the finer grid.
            const int out_step = packing::normalize_step(-static_cast<long>(s) * (a * g.width + b),
                                                         g.slots);
            const MaskKey& mk = coarse;  // the four phases share it; out_step tells them apart
            double w = node.weight[((static_cast<std::size_t>(ci) * cout + co) * 2 + a) * 2 + b];
            LinearTerm& t = table.get(i, in_step, j, out_step, mk, 0);
            t.weight[r] = w * out_factor / in_factor[i];
          }
      }
    }
  LinearOp op;
  op.in_team = in.team_size();
  op.out_team = out.team_size();
  op.terms = table.take();
  fill_bias(node, out, out_factor, op);
  return op;
}

std::vector<RowProduct> row_products(const LinearTerm& term) {
  std::vector<RowProduct> rows;
  bool any_zero = false;
  for (std::size_t q = 0; q < term.weight.size(); ++q) {
    if (!term.care[q]) continue;
    if (term.weight[q] == 0.0)
      any_zero = true;
    else
      rows.push_back({static_cast<int>(q), term.weight[q]});
  }
  if (rows.empty()) return rows;
  bool uniform = !any_zero && std::all_of(rows.begin(), rows.end(), [&](const RowProduct& r) {
    return r.weight == rows.front().weight;
  });
  if (uniform) return {{-1, rows.front().weight}};
  return rows;
}

BiasKind bias_kind(const std::vector<double>& bias, const std::vector<char>& care) {
  bool any = false, first = true, uniform = true;
  double v = 0.0;
  for (std::size_t r = 0; r < bias.size(); ++r) {
    if (!care[r]) continue;
    if (bias[r] != 0.0) any = true;
    if (first) {
      v = bias[r];
      first = false;
    } else if (bias[r] != v) {
      uniform = false;
    }
  }
  if (!any) return BiasKind::none;
  return uniform ? BiasKind::constant : BiasKind::plaintext;
}

OpCounts count_linear(const LinearOp& op, LinearStrategy strategy, int level,
                      std::vector<MaskCacheKey>& masks_encoded) {
  OpCounts c;
  std::erase_if(masks_encoded, [&](const MaskCacheKey& k) { return k.level > level; });
  std::map<int, std::set<int>> in_steps;                  // in_ct -> nonzero steps
  std::map<int, std::set<std::tuple<int, int, int, int, int>>> zkeys;  // (step, dy, dx, shift, row)
  std::map<int, std::set<int>> out_steps;                 // out_ct -> steps (0 included)
  for (const LinearTerm& t : op.terms) {
    auto rps = row_products(t);
    if (rps.empty()) continue;
    if (t.in_step != 0) in_steps[t.in_ct].insert(t.in_step);
    out_steps[t.out_ct].insert(t.out_step);
    if (strategy == LinearStrategy::diagonal) {
      ++c.encodings;
      ++c.pt_products;
    } else {
      for (const RowProduct& rp : rps) {
        ++c.scalar_products;
        if (zkeys[t.in_ct].insert({t.in_step, t.mask.dy, t.mask.dx, t.mask.shift, rp.row}).second) {
          ++c.pt_products;
          MaskCacheKey mk{level, t.mask};
          mk.mask.row = rp.row;
          if (std::find(masks_encoded.begin(), masks_encoded.end(), mk) == masks_encoded.end()) {
            masks_encoded.push_back(mk);
            ++c.encodings;
          }
        }
      }
    }
  }
  for (const auto& [i, steps] : in_steps) {
    ++c.hoisted_groups;
    c.hoisted_rotations += static_cast<long>(steps.size());
    c.rotations += static_cast<long>(steps.size());
  }
  for (int j = 0; j < op.out_team; ++j) {
    auto it = out_steps.find(j);
    if (it == out_steps.end()) continue;
    for (int s : it->second)
      if (s != 0) ++c.rotations;
    c.adds += static_cast<long>(it->second.size()) - 1;
    ++c.rescales;
    switch (bias_kind(op.bias[j], op.bias_care[j])) {
      case BiasKind::none: break;
      case BiasKind::constant: ++c.adds; break;
      case BiasKind::plaintext:
        ++c.adds;
        ++c.encodings;
        break;
    }
  }
  return c;
}

std::vector<int> linear_steps(const LinearOp& op) {
  std::set<int> s;
  for (const LinearTerm& t : op.terms) {
    if (row_products(t).empty()) continue;
    if (t.in_step) s.insert(t.in_step);
    if (t.out_step) s.insert(t.out_step);
  }
  return {s.begin(), s.end()};
}

}  // namespace cryptounet::nn
