// The rotation steps a plan's layer geometry can need, from the layers' kinds and layouts alone
// (no weights, no graph): the rules the planner lowers layers with (DESIGN.md §5):
//   Conv2d (kernel 1 or 3) at stride s: the 3x3 taps s*(dy*W0 + dx) whose mask is not empty,
//     and, in latency mode, the revolver turns k*P (k = 1..R-1);
//   ConvTranspose2d (k=2, s=2) to stride s: the phase shifts -s*(a*W0 + b), and the turns;
//   AvgPool2d from stride s: s and s*W0.
// The planner's list is a subset (a zero weight drops a term, a 1x1 kernel has no taps, not every
// turn is used); make_plan checks that it is. A client recomputes this set from a server's plan and
// refuses a listed step outside it (issue 9): a hostile plan cannot make it build a Galois key per
// slot, only at most (8 + 3 + 2) per stride plus R - 1 turns.
#pragma once

#include <vector>

#include "cryptounet/he/plan/planner.h"
#include "cryptounet/packing/dvr_layout.h"

namespace cryptounet::nn {

/// The two left-rotation steps of a 2x2 stride-2 average pool of a plane at stride `in_stride`
/// (normalised, as Galois keys are made).
[[nodiscard]] std::vector<int> pool_steps(const packing::Grid& grid, int in_stride);

/// Every normalised nonzero step a layer of `kind` whose output layout is `out` may use, sorted.
[[nodiscard]] std::vector<int> layer_rotation_steps(OpKind kind, const packing::DvrLayout& out);

/// The union of layer_rotation_steps over `plan.layers`, sorted.
[[nodiscard]] std::vector<int> geometry_rotation_steps(const Plan& plan);

/// The steps of `plan.rotation_steps` that its geometry cannot need (empty: the list is sound).
[[nodiscard]] std::vector<int> unexplained_rotation_steps(const Plan& plan);

}  // namespace cryptounet::nn
