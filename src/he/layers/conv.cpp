#include "he/layers/conv.h"

#include <string>

#include "cryptounet/common/error.h"
#include "he/layers/lowering.h"
#include "he/layers/plan_env.h"

namespace cryptounet::nn::detail {

using packing::DvrLayout;
using packing::MaskKey;

namespace {

// Multiplexed throughput layouts (dvr_layout.h): output member (co, go) reads input members
// (ci, gi) of the same group, or, when the output holds twice the images per cell side (the first
// convolution after a pooling), of the four groups it merges: group gi = 4 go + blk moves by
// (blk's high bit, low bit) x the input's mux, an extra shift folded into each tap's rotation, and
// its products keep only its own sub-offsets (the mask's block), so the pooling's leftovers
// between grid points never reach a valid output.
LinearOp build_conv_multiplexed(const Node& node, const DvrLayout& in, const std::vector<double>& in_factor,
                                const DvrLayout& out, double out_factor, TapSide side) {
  const int qi = in.mux(), qo = out.mux();
  const int merge = qo == 2 * qi ? 4 : 1;
  if ((qo != qi && merge == 1) || static_cast<long>(in.groups()) * qi * qi != static_cast<long>(out.groups()) * qo * qo)
    throw InvalidArgument(node_msg(node) + ": cannot go from " + in.describe() + " to " + out.describe());
  const packing::Grid& g = in.grid();
  const int K = node.kernel, p = K / 2, R = g.rows, cin = in.channels();
  TermTable table(out, R, in.groups(), merge);
  for (int j = 0; j < out.team_size(); ++j) {
    const int co = j / out.groups(), go = j % out.groups();
    for (int blk = 0; blk < merge; ++blk) {
      const auto [sub_y, sub_x] = packing::merge_block_origin(blk, qi);  // (0, 0) without a merge
      const long shift = static_cast<long>(sub_y) * g.width + sub_x;
      for (int ci = 0; ci < cin; ++ci) {
        const int i = ci * in.groups() + go * merge + blk;
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx) {
            const int dy = ky - p, dx = kx - p;
            MaskKey mk{in.stride(), in.height(), in.width(), dy, dx, -1, 0};
            if (packing::mask_weight(mk) == 0) continue;  // tap never inside the image
            mk.mux = qi;
            mk.sub_y = sub_y;
            mk.sub_x = sub_x;
            const long tap = packing::tap_step(g, in.stride(), dy, dx);
            const double w =
                node.weight[((static_cast<std::size_t>(co) * cin + ci) * K + ky) * K + kx] * out_factor / in_factor[i];
            LinearTerm* t = nullptr;
            if (side == TapSide::taps_in) {
              t = &table.get(i, packing::normalize_step(tap - shift, g.slots), j, 0, mk, 0);
            } else {
              mk.shift = packing::normalize_step(tap, g.slots);
              t = &table.get(i, packing::normalize_step(-shift, g.slots), j, mk.shift, mk, 0);
            }
            for (int r = 0; r < R; ++r)
              if (t->care[r]) t->weight[r] = w;
          }
      }
    }
  }
  LinearOp op = finish_linear_op(node, in, out, out_factor, table);
  op.merged_inputs = merge;
  return op;
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
  if (in.multiplexed() || out.multiplexed()) return build_conv_multiplexed(node, in, in_factor, out, out_factor, side);
  TermTable table(out, R);
  const int B = g.bands;
  for (int j = 0; j < out.team_size(); ++j)
    for (int r = 0; r < R; ++r) {
      const int co = out.channel_at(j, r);
      if (co < 0) continue;
      const int band = j % B;  // banded grids: the output band; 0 otherwise
      for (int ci = 0; ci < cin; ++ci) {
        auto [i0, k] = source_of(in, ci, r);  // i0: the member holding band 0 of channel ci
        const int turn = packing::normalize_step(packing::row_turn_step(g, k), g.slots);
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx) {
            const int dy = ky - p, dx = kx - p;
            MaskKey mk{in.stride(), in.height(), in.width(), dy, dx, -1, 0};
            if (packing::mask_weight(mk) == 0) continue;  // tap never inside the image
            const int tap =
                packing::normalize_step(packing::tap_step(g, in.stride(), dy, dx), g.slots);
            const double w = node.weight[((static_cast<std::size_t>(co) * cin + ci) * K + ky) * K + kx];
            // The band's own term and, across a band edge, the neighbour band's: its ciphertext
            // rotated by the same tap (the wrap-around of the full-ring rotation brings exactly
            // the neighbour's rows) under the cross mask (packing/bands.h).
            for (int cross = 0; cross <= (B > 1 ? 1 : 0); ++cross) {
              const int src_band = cross ? packing::cross_band_of(g, band, dy) : band;
              if (src_band < 0) continue;
              const int i = i0 + src_band;
              MaskKey tk = mk;
              if (B > 1) {
                tk.band = packing::canonical_band(g, band, dy);
                tk.cross = cross;
              }
              if (side == TapSide::taps_in) {
                // Product frame = input frame: mask row r + k feeds output row r after the turn.
                LinearTerm& t = table.get(i, tap, j, turn, tk, k);
                t.weight[(r + k) % R] = w * out_factor / in_factor[i];
              } else {
                // Turn first (input side), tap last (output side): the mask of output row r,
                // rotated right by the tap, multiplies the turned input.
                tk.shift = tap;
                LinearTerm& t = table.get(i, turn, j, tap, tk, 0);
                t.weight[r] = w * out_factor / in_factor[i];
              }
            }
          }
      }
    }
  return finish_linear_op(node, in, out, out_factor, table);
}

}  // namespace cryptounet::nn::detail
