// The one shape every linear DVR layer (Conv 3x3 / 1x1, ConvTranspose 2x2 s2) is lowered to:
//   out[j] = sum over output steps t of rot_t( sum over terms (i, u, mask) of
//            rot_u(in[i]) (.) (mask restricted to rows, times per-row weights) ) + bias[j]
// Input-side steps u are hoisted per input ciphertext (the spatial taps of a 3x3 convolution,
// the revolver turns k*P of a transposed convolution); output-side steps t are applied once per
// accumulated sum (the revolver turns of a convolution, the phase shifts of a transposed one).
// A term carries its weight per row of the product frame and whether that row matters (rows
// whose output row is unused are "don't care", which lets throughput mode use one mask for all
// rows). Built from the graph node, the layouts and the per-ciphertext value factors by the
// lowerings of src/he/layers (conv.cpp, conv_transpose.cpp; linear_op_for in planner.h), and
// run by he/layers/linear.h: on the planner's shape-only backend to predict the counts, on the
// simulator or CKKS to compute. One code path, so predicted and executed counts agree.
#pragma once

#include <vector>

#include "cryptounet/model/graph.h"
#include "cryptounet/packing/dvr_layout.h"
#include "cryptounet/packing/masks.h"

namespace cryptounet::nn {

/// How a linear layer turns weights into products.
enum class LinearStrategy {
  diagonal,       // one plaintext per term: weights x mask, encoded on the fly (exact scale)
  masked_scalar,  // masks encoded once per level; weights become constants (no weight encoding)
};

const char* strategy_name(LinearStrategy s);

struct LinearTerm {
  int in_ct = 0;
  int in_step = 0;   // normalised left rotation of the input, 0 = none
  int out_ct = 0;
  int out_step = 0;  // normalised left rotation of the accumulated products, 0 = none
  packing::MaskKey mask;       // pattern (row = -1; restricted to one row r per weight[r])
  std::vector<double> weight;  // per mask row (size R); already x factors
  std::vector<char> care;      // per row: 1 = this row's value is used (weight 0 means "zero")
};

struct LinearOp {
  int in_team = 0;
  int out_team = 0;
  std::vector<LinearTerm> terms;                // grouped by in_ct (lowering.h TermTable::take)
  std::vector<std::vector<double>> bias;        // [out_ct][row], already x output factor
  std::vector<std::vector<char>> bias_care;     // [out_ct][row]
};

/// Where a convolution rotates. taps_in: the spatial taps rotate each input ciphertext (hoisted,
/// team_in x 8) and the revolver turns rotate each output sum (team_out x ). taps_out: the
/// turns rotate the inputs (hoisted) and the taps the output sums (team_out x 8), with masks
/// pre-rotated to match; cheaper when the output team is the smaller one.
enum class TapSide { taps_in, taps_out };

const char* tap_side_name(TapSide s);

/// The rows a term multiplies: empty if none (the term is skipped); {-1, w} pairs mean "one
/// mask for all rows with constant w"; otherwise one (row, weight) per nonzero cared row.
struct RowProduct {
  int row = -1;  // -1: every row
  double weight = 0.0;
};
[[nodiscard]] std::vector<RowProduct> row_products(const LinearTerm& term);

/// Bias handling for one output ciphertext: none, one constant for all rows, or a plaintext.
enum class BiasKind { none, constant, plaintext };
[[nodiscard]] BiasKind bias_kind(const std::vector<double>& bias, const std::vector<char>& care);

/// Key of a cached, encoded mask: the pattern at a level and scale.
struct MaskCacheKey {
  int level = 0;
  packing::MaskKey mask;
  auto operator<=>(const MaskCacheKey&) const = default;
};

}  // namespace cryptounet::nn
