// Client-side clean-up of a predicted 2D mask (after decryption; the server never sees it): connected
// components and hole filling, the step of `--clean-mask`. A shape prior for targets without holes
// (a brain mask per slice); not for every model, so it is on only where the model's card names it
// ("mask_cleanup") or the user asks.
//
// Connectivity is the usual consistent pair: foreground 8-connected, background 4-connected, so a
// background pixel reaches the border only through edge neighbours and a diagonal chain of
// foreground pixels closes a hole. Masks are read as foreground = value != 0; results are 0/1.
#pragma once

#include "cryptounet/data/image.h"

#include <cstdint>
#include <vector>

namespace cryptounet::data {

enum class Connectivity { four = 4, eight = 8 };

struct ComponentLabels {
  int width = 0;
  int height = 0;
  std::vector<std::int32_t> labels;  // 0: not in the set; 1..count, numbered in raster order
  std::vector<std::size_t> sizes;    // pixels of each component: sizes[k - 1] for label k
  [[nodiscard]] int count() const { return static_cast<int>(sizes.size()); }
};

/// The connected components of the pixels where (mask value != 0) == `value`, numbered in the
/// raster order of their first pixel.
/// @throws InvalidArgument if the mask's values do not match its width x height.
[[nodiscard]] ComponentLabels label_components(const Mask& mask, bool value, Connectivity c);

/// Fills holes: every 4-connected background component that touches no image border becomes
/// foreground. An empty mask stays empty.
/// @throws InvalidArgument if the mask's values do not match its width x height.
[[nodiscard]] Mask fill_holes(const Mask& mask);

}  // namespace cryptounet::data
