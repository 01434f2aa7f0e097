#include "cryptounet/he/plan/rotation_set.h"

#include <algorithm>
#include <set>

#include "cryptounet/packing/masks.h"

namespace cryptounet::nn {

using packing::DvrLayout;
using packing::Grid;
using packing::normalize_step;

namespace {

void insert_nonzero(std::set<int>& steps, long step, int slots) {
  if (const int s = normalize_step(step, slots); s != 0) steps.insert(s);
}

// Latency mode: a channel read for another row turns the revolver by k*P, k < R (linear.cpp's
// source_of). Throughput mode keeps every channel in its own row: no turn.
void insert_turns(std::set<int>& steps, const DvrLayout& layout) {
  if (layout.mode() != packing::PackingMode::latency) return;
  const Grid& g = layout.grid();
  for (int k = 1; k < g.rows; ++k) insert_nonzero(steps, packing::row_turn_step(g, k), g.slots);
}

// The slot shifts of the four blocks of side q in a multiplexed merge or split (dvr_layout.h):
// (bit1 * q) rows and (bit0 * q) columns; {0} when q is 0 (no merge or split).
std::vector<long> merge_shifts(const Grid& g, int q) {
  if (q <= 0) return {0};
  std::vector<long> shifts;
  for (int blk = 0; blk < 4; ++blk) {
    const auto [y, x] = packing::merge_block_origin(blk, q);
    shifts.push_back(static_cast<long>(y) * g.width + x);
  }
  return shifts;
}

}  // namespace

std::vector<int> pool_steps(const Grid& grid, int in_stride) {
  return {normalize_step(in_stride, grid.slots),
          normalize_step(static_cast<long>(in_stride) * grid.width, grid.slots)};
}

std::vector<int> layer_rotation_steps(OpKind kind, const DvrLayout& out) {
  const Grid& g = out.grid();
  const int s = out.stride();
  std::set<int> steps;
  switch (kind) {
    case OpKind::Conv2d: {
      // Kernel 3 covers kernel 1 (whose only tap is (0, 0)); a tap whose mask is empty (it
      // never lands inside the plane) is skipped by build_conv, so it is not needed here.
      // Multiplexed: a merge moves each of four groups by its block's shift, with the tap (taps
      // on the input side) or alone (taps on the output side).
      const auto shifts = merge_shifts(out.grid(), out.mux() / 2);
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx)
          if (packing::mask_weight({s, out.height(), out.width(), dy, dx, -1, 0}) > 0)
            for (long shift : shifts) {
              insert_nonzero(steps, packing::tap_step(g, s, dy, dx) - shift, g.slots);
              insert_nonzero(steps, packing::tap_step(g, s, dy, dx), g.slots);
              insert_nonzero(steps, -shift, g.slots);
            }
      insert_turns(steps, out);
      break;
    }
    case OpKind::ConvTranspose2d: {
      // Multiplexed: a split moves each of four blocks back to the cell's corner.
      const auto shifts = merge_shifts(out.grid(), out.multiplexed() ? out.mux() : 0);
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
          for (long shift : shifts) insert_nonzero(steps, shift - static_cast<long>(s) * (a * g.width + b), g.slots);
      insert_turns(steps, out);
      break;
    }
    case OpKind::AvgPool2d:
      if (s >= 2 && s % 2 == 0)
        for (int step : pool_steps(g, s / 2)) insert_nonzero(steps, step, g.slots);
      break;
    default:  // Input, Square, Concat, Add: no rotation
      break;
  }
  return {steps.begin(), steps.end()};
}

std::vector<int> geometry_rotation_steps(const Plan& plan) {
  std::set<int> steps;
  for (const LayerPlan& lp : plan.layers) {
    const auto layer = layer_rotation_steps(lp.kind, lp.layout);
    steps.insert(layer.begin(), layer.end());
  }
  return {steps.begin(), steps.end()};
}

std::vector<int> unexplained_rotation_steps(const Plan& plan) {
  const std::vector<int> allowed = geometry_rotation_steps(plan);
  std::vector<int> extra;
  for (int step : plan.rotation_steps)
    if (!std::binary_search(allowed.begin(), allowed.end(), step)) extra.push_back(step);
  return extra;
}

}  // namespace cryptounet::nn
