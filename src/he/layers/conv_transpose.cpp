#include "he/layers/conv_transpose.h"

#include <string>

#include "cryptounet/common/error.h"
#include "he/layers/lowering.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

using packing::DvrLayout;
using packing::MaskKey;

namespace {

// Multiplexed throughput layouts (dvr_layout.h): output member (co, go) reads input member (ci, gi)
// of the same group, or, when the input holds twice the images per cell side that the finer grid
// has room for, one block of four: go = 4 gi + blk keeps only the sub-offsets of block blk (its
// mask) and moves them back to the cell's corner, a shift folded into each phase's rotation.
LinearOp build_conv_transpose_multiplexed(const Node& node, const DvrLayout& in,
                                          const std::vector<double>& in_factor, const DvrLayout& out,
                                          double out_factor) {
  const int qi = in.mux(), qo = out.mux();
  const int split = qi == 2 * qo ? 4 : 1;
  if ((qo != qi && split == 1) || static_cast<long>(in.groups()) * qi * qi != static_cast<long>(out.groups()) * qo * qo)
    throw InvalidArgument(node_msg(node) + ": cannot go from " + in.describe() + " to " + out.describe());
  const packing::Grid& g = in.grid();
  const int R = g.rows, s = out.stride(), cin = in.channels(), cout = out.channels();
  TermTable table(out, R, in.groups(), 1);
  for (int j = 0; j < out.team_size(); ++j) {
    const int co = j / out.groups(), go = j % out.groups();
    const int blk = go % split;
    const auto [sub_y, sub_x] = packing::merge_block_origin(blk, qo);  // (0, 0) without a split
    const long shift = static_cast<long>(sub_y) * g.width + sub_x;
    MaskKey mk{in.stride(), in.height(), in.width(), 0, 0, -1, 0};
    mk.mux = split > 1 ? qo : qi;
    mk.sub_y = sub_y;
    mk.sub_x = sub_x;
    for (int ci = 0; ci < cin; ++ci) {
      const int i = ci * in.groups() + go / split;
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) {
          const int out_step =
              packing::normalize_step(shift - static_cast<long>(s) * (a * g.width + b), g.slots);
          const double w =
              node.weight[((static_cast<std::size_t>(ci) * cout + co) * 2 + a) * 2 + b] * out_factor / in_factor[i];
          LinearTerm& t = table.get(i, 0, j, out_step, mk, 0);
          for (int r = 0; r < R; ++r)
            if (t.care[r]) t.weight[r] = w;
        }
    }
  }
  return finish_linear_op(node, in, out, out_factor, table);
}

}  // namespace

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
  if (in.multiplexed() || out.multiplexed())
    return build_conv_transpose_multiplexed(node, in, in_factor, out, out_factor);
  const packing::Grid& g = in.grid();
  const int R = g.rows, s = out.stride();
  const MaskKey coarse{in.stride(), in.height(), in.width(), 0, 0, -1, 0};
  TermTable table(out, R);
  for (int j = 0; j < out.team_size(); ++j)
    for (int r = 0; r < R; ++r) {
      const int co = out.channel_at(j, r);
      if (co < 0) continue;
      const int band = j % g.bands;  // up-convolution pairs never cross a band edge
      for (int ci = 0; ci < cin; ++ci) {
        auto [i0, k] = source_of(in, ci, r);
        const int i = i0 + band;
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
  return finish_linear_op(node, in, out, out_factor, table);
}

}  // namespace cryptounet::nn::detail
