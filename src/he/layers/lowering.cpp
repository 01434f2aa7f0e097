#include "he/layers/lowering.h"

#include <string>

#include "cryptounet/common/error.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

using packing::DvrLayout;
using packing::PackingMode;

void check_pair(const Node& node, const DvrLayout& in, const std::vector<double>& in_factor,
                const DvrLayout& out) {
  if (in.mode() != out.mode() || !(in.grid() == out.grid()) || in.batch() != out.batch())
    throw InvalidArgument(node_msg(node) + ": layouts differ in mode, grid or batch: " +
                          in.describe() + " -> " + out.describe());
  if (static_cast<int>(in_factor.size()) != in.team_size())
    throw InvalidArgument(node_msg(node) + ": " + std::to_string(in_factor.size()) +
                          " input factors for a team of " + std::to_string(in.team_size()));
}

// Where input channel ci is read for output row r (banded: the member of band 0; band b is that
// member + b): the location with the smallest revolver
// turn k = (row' - r) mod R. Throughput mode: the channel's ciphertext, same row (k = 0).
std::pair<int, int> source_of(const DvrLayout& in, int ci, int r) {
  if (in.mode() == PackingMode::throughput) return {ci * in.bands(), 0};  // band 0's member
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

LinearOp finish_linear_op(const Node& node, const DvrLayout& in, const DvrLayout& out, double out_factor,
                          TermTable& table) {
  LinearOp op;
  op.in_team = in.team_size();
  op.out_team = out.team_size();
  op.terms = table.take();
  fill_bias(node, out, out_factor, op);
  return op;
}

}  // namespace cryptounet::nn::detail
