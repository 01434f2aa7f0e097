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

/// The same scene seen from farther away: the image shrunk to round(scale · side) by area
/// averaging, centred on a zero canvas of the original size and renormalised to maximum 1 (as the
/// training scripts' zoom-out test); the mask shrunk by majority and centred likewise.
/// Tests how a model copes with content that fills less of the field of view.
/// @throws InvalidArgument unless 0 < scale ≤ 1 and image and mask have one size.
void zoom_out(Image& image, Mask& mask, double scale);

}  // namespace cryptounet::data
