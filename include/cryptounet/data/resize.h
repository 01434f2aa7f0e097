// Resampling that keeps what each pixel means: area averaging for images (each output pixel is
// the mean of the input area it covers, fractional overlaps weighted), and majority for masks
// (foreground if at least half of the covered area is foreground; nearest when enlarging).
#pragma once

#include "cryptounet/data/image.h"

namespace cryptounet::data {

/// @throws InvalidArgument if a size is not positive or the image is empty.
[[nodiscard]] Image resize_area(const Image& image, int width, int height);

/// @throws InvalidArgument if a size is not positive or the mask is empty.
[[nodiscard]] Mask resize_majority(const Mask& mask, int width, int height);

}  // namespace cryptounet::data
