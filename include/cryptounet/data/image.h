// Images and masks as the data layer sees them: one grey plane of doubles in [0, 1], and one
// binary plane (0 background, 1 foreground). Row-major, index = y * width + x.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cryptounet::data {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<double> pixels;  // in [0, 1]; double end to end (the reference executor is float64)

  Image() = default;
  Image(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h, 0.0) {}
  double& at(int y, int x) { return pixels[static_cast<std::size_t>(y) * width + x]; }
  [[nodiscard]] double at(int y, int x) const {
    return pixels[static_cast<std::size_t>(y) * width + x];
  }
};

struct Mask {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> values;  // 0 or 1

  Mask() = default;
  Mask(int w, int h) : width(w), height(h), values(static_cast<std::size_t>(w) * h, 0) {}
  std::uint8_t& at(int y, int x) { return values[static_cast<std::size_t>(y) * width + x]; }
  [[nodiscard]] std::uint8_t at(int y, int x) const {
    return values[static_cast<std::size_t>(y) * width + x];
  }
  [[nodiscard]] std::size_t count() const {
    std::size_t n = 0;
    for (auto v : values) n += v != 0;
    return n;
  }
};

/// 8-bit RGB, interleaved; for overlays.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;  // 3 bytes per pixel
};

}  // namespace cryptounet::data
