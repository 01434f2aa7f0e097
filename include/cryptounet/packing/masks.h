// The rotation and mask arithmetic every DVR layer shares. A 3x3 tap (dy, dx) at stride s is a
// left rotation by s*(dy*W0 + dx) of every plane at once; the tap's mask keeps only the output
// pixels whose source pixel lies inside the image, so zero padding, the wrap-around between
// image rows and the spill between planes (rows of the ciphertext) never reach a valid output.
// Masks are 0/1 vectors over all slots; they are encoded once per level and reused.
#pragma once

#include <compare>
#include <vector>

#include "cryptounet/packing/dvr_layout.h"

namespace cryptounet::packing {

/// Left rotation step of tap (dy, dx) at stride s: s*(dy*W0 + dx) (may be negative).
[[nodiscard]] int tap_step(const Grid& grid, int stride, int dy, int dx);
/// Left rotation step that turns the revolver by k rows: k*P.
[[nodiscard]] int row_turn_step(const Grid& grid, int k);
/// A step reduced into [0, slots): the form Galois keys are made and looked up with.
[[nodiscard]] int normalize_step(long step, int slots);

/// Which 0/1 pattern a mask is. The tensor is (height x width) at `stride` on the grid. A
/// slot of plane row `row` (or of every row when row == -1) is 1 iff it holds tensor pixel
/// (y, x) with (y + dy, x + dx) also inside the tensor. (dy, dx) = (0, 0) is the plain grid
/// mask (1x1 convolutions, the coarse grid of a transposed convolution). A nonzero `shift`
/// rotates the finished pattern right by that many slots: the mask a product needs when the
/// tap's rotation is applied after the product instead of before (rot_o(y) (.) m equals
/// rot_o(y (.) rot_right(m, o))). On a banded grid (grid.bands > 1) the pattern is over the
/// slots of output band `band`, and `cross` picks the slots whose source lies in the
/// neighbouring band instead of the band itself (packing/bands.h band_tap_mask); interior
/// bands share one pattern, so keys use canonical_band().
struct MaskKey {
  int stride = 1;
  int height = 0;
  int width = 0;
  int dy = 0;
  int dx = 0;
  int row = -1;
  int shift = 0;  // normalised right rotation of the pattern
  int band = 0;   // banded grids: output band (canonical_band); 0 otherwise
  int cross = 0;  // banded grids: 1 = the neighbour band's term
  // Multiplexed throughput layouts: the pattern repeats at every sub-offset (sub_y + oy,
  // sub_x + ox) of a stride cell, oy, ox in [0, mux): the images of one group (sub_* = 0, mux =
  // the layout's) or one block of four merged or split groups (dvr_layout.h).
  int mux = 1;
  int sub_y = 0;
  int sub_x = 0;
  auto operator<=>(const MaskKey&) const = default;
};

/// The band whose masks band b uses: the first and last bands are themselves, every interior
/// band has band 1's pattern; a tap with dy == 0 has band 0's pattern in every band.
[[nodiscard]] int canonical_band(const Grid& grid, int band, int dy);

/// The band the cross term of output band `band` reads for a tap with vertical offset dy: band - 1
/// (dy < 0) or band + 1 (dy > 0); -1 when dy == 0 or at the plane's edge (zero padding).
[[nodiscard]] int cross_band_of(const Grid& grid, int band, int dy);

/// The mask over all slots of one ciphertext. Throws InvalidArgument on a bad key.
[[nodiscard]] std::vector<double> make_mask(const Grid& grid, const MaskKey& key);

/// Number of ones in the mask of one plane (valid outputs of a tap).
[[nodiscard]] int mask_weight(const MaskKey& key);

}  // namespace cryptounet::packing
