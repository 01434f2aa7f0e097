// PNG reading and writing (through stb_image). Reading accepts 8- or 16-bit, grey, grey+alpha,
// RGB or RGBA and converts to grey (ITU-R BT.601 luma; alpha ignored); writing is 8-bit.
#pragma once

#include "cryptounet/data/image.h"

#include <array>
#include <cstdint>
#include <string>

namespace cryptounet::data {

/// Reads an image as grey doubles in [0, 1] (8-bit: v / 255, 16-bit: v / 65535, each exactly the double quotient).
/// @throws IoError if the file cannot be opened; FormatError if it is not a readable image.
[[nodiscard]] Image read_image(const std::string& path);

/// Reads a mask: grey value ≥ 128 (on the 8-bit scale) is foreground.
/// @throws as read_image.
[[nodiscard]] Mask read_mask(const std::string& path);

/// Writes an 8-bit grey PNG (values clamped to [0, 1], rounded). Written atomically.
/// @throws InvalidArgument for an empty or inconsistent image; IoError if writing fails.
void write_image_png(const std::string& path, const Image& image);

/// Writes a mask as an 8-bit PNG with 0 and 255.
void write_mask_png(const std::string& path, const Mask& mask);

/// Writes an RGB PNG.
void write_rgb_png(const std::string& path, const RgbImage& image);

/// The image in grey with the mask tinted (`alpha` of `color` over foreground) and its outline
/// (foreground pixels with a background 4-neighbour) drawn fully in `color`.
/// @throws InvalidArgument if sizes differ.
[[nodiscard]] RgbImage overlay(const Image& image, const Mask& mask,
                               std::array<std::uint8_t, 3> color = {255, 40, 40},
                               double alpha = 0.3);

/// Like overlay(image, mask) with a second mask (e.g. ground truth) outlined in `truth_color`.
[[nodiscard]] RgbImage overlay(const Image& image, const Mask& mask, const Mask& truth,
                               std::array<std::uint8_t, 3> color = {255, 40, 40},
                               std::array<std::uint8_t, 3> truth_color = {40, 220, 40});

}  // namespace cryptounet::data
