#include "cryptounet/packing/bands.h"

#include "cryptounet/common/error.h"

namespace cryptounet::packing {

std::optional<BandSplit> BandSplit::make(int slots, int height, int width, int max_stride, std::string* why) {
  auto fail = [&](const std::string& msg) -> std::optional<BandSplit> {
    if (why) *why = msg;
    return std::nullopt;
  };
  if (slots <= 0 || (slots & (slots - 1)) != 0 || height <= 0 || width <= 0 || max_stride <= 0)
    return fail("bad sizes");
  BandSplit s;
  s.slots = slots;
  s.height = height;
  s.width = width;
  if (static_cast<long>(height) * width <= slots) {
    s.bands = 1;
    s.band_rows = height;
    return s;
  }
  if (slots % width != 0)
    return fail("a " + std::to_string(width) + "-pixel-wide plane cannot be cut into bands of " +
                std::to_string(slots) + " slots (the width must divide the slots)");
  s.band_rows = slots / width;
  if (s.band_rows % (2 * max_stride) != 0)
    return fail("bands of " + std::to_string(s.band_rows) + " rows do not hold whole pooling windows at stride " +
                std::to_string(max_stride));
  if (height % s.band_rows != 0)
    return fail("a height of " + std::to_string(height) + " rows is not a whole number of " +
                std::to_string(s.band_rows) + "-row bands");
  s.bands = height / s.band_rows;
  return s;
}

int cross_band(const BandSplit& split, int band, int dy) {
  if (dy == 0) return -1;
  const int b = dy < 0 ? band - 1 : band + 1;
  return b >= 0 && b < split.bands ? b : -1;
}

std::vector<double> band_tap_mask(const BandSplit& split, int band, int stride, int dy, int dx, BandTerm term) {
  if (band < 0 || band >= split.bands) throw InvalidArgument("band_tap_mask: band " + std::to_string(band) + " out of range");
  if (stride <= 0 || split.height % stride != 0 || split.width % stride != 0 || split.band_rows % stride != 0)
    throw InvalidArgument("band_tap_mask: stride " + std::to_string(stride) + " does not divide the plane and bands");
  if (dy < -1 || dy > 1 || dx < -1 || dx > 1) throw InvalidArgument("band_tap_mask: taps are 3x3");
  std::vector<double> m(static_cast<std::size_t>(split.slots), 0.0);
  const int th = split.height / stride, tw = split.width / stride;
  const int r0 = split.first_row(band);
  const int rows = split.bands == 1 ? split.height : split.band_rows;
  for (int ly = 0; ly < rows; ly += stride) {
    const int gy = r0 + ly;  // full-resolution row
    const int y = gy / stride, sy = y + dy;
    for (int x = 0; x < tw; ++x) {
      const int sx = x + dx;
      if (sy < 0 || sy >= th || sx < 0 || sx >= tw) continue;
      const int src_band = (sy * stride) / split.band_rows;
      const bool own = split.bands == 1 || src_band == band;
      if ((term == BandTerm::own) == own) m[static_cast<std::size_t>(ly) * split.width + x * stride] = 1.0;
    }
  }
  return m;
}

std::vector<std::vector<double>> split_plane(const BandSplit& split, const std::vector<double>& plane) {
  if (plane.size() != static_cast<std::size_t>(split.height) * split.width)
    throw InvalidArgument("split_plane: the plane has " + std::to_string(plane.size()) + " values, not " +
                          std::to_string(split.height) + "x" + std::to_string(split.width));
  std::vector<std::vector<double>> out(static_cast<std::size_t>(split.bands),
                                       std::vector<double>(static_cast<std::size_t>(split.slots), 0.0));
  const int rows = split.bands == 1 ? split.height : split.band_rows;
  for (int b = 0; b < split.bands; ++b)
    for (int ly = 0; ly < rows; ++ly)
      for (int x = 0; x < split.width; ++x)
        out[b][static_cast<std::size_t>(ly) * split.width + x] =
            plane[static_cast<std::size_t>(split.first_row(b) + ly) * split.width + x];
  return out;
}

std::vector<double> join_plane(const BandSplit& split, const std::vector<std::vector<double>>& bands) {
  if (bands.size() != static_cast<std::size_t>(split.bands))
    throw InvalidArgument("join_plane: " + std::to_string(bands.size()) + " bands, not " + std::to_string(split.bands));
  std::vector<double> plane(static_cast<std::size_t>(split.height) * split.width);
  const int rows = split.bands == 1 ? split.height : split.band_rows;
  for (int b = 0; b < split.bands; ++b) {
    if (bands[b].size() != static_cast<std::size_t>(split.slots)) throw InvalidArgument("join_plane: band of the wrong size");
    for (int ly = 0; ly < rows; ++ly)
      for (int x = 0; x < split.width; ++x)
        plane[static_cast<std::size_t>(split.first_row(b) + ly) * split.width + x] =
            bands[b][static_cast<std::size_t>(ly) * split.width + x];
  }
  return plane;
}

}  // namespace cryptounet::packing
