#include "cryptounet/packing/masks.h"

#include <algorithm>
#include <string>
#include <utility>

#include "cryptounet/common/error.h"
#include "cryptounet/packing/bands.h"

namespace cryptounet::packing {

int tap_step(const Grid& grid, int stride, int dy, int dx) {
  return stride * (dy * grid.width + dx);
}

int row_turn_step(const Grid& grid, int k) { return k * grid.plane; }

int normalize_step(long step, int slots) {
  long m = step % slots;
  if (m < 0) m += slots;
  return static_cast<int>(m);
}

int canonical_band(const Grid& grid, int band, int dy) {
  if (grid.bands == 1 || dy == 0 || band == 0 || band == grid.bands - 1) return dy == 0 ? 0 : band;
  return 1;
}

int cross_band_of(const Grid& grid, int band, int dy) {
  if (dy == 0) return -1;
  const int b = dy < 0 ? band - 1 : band + 1;
  return b >= 0 && b < grid.bands ? b : -1;
}

namespace {

std::vector<double> shifted(const Grid& grid, std::vector<double> out, int shift) {
  if (shift == 0) return out;
  const int sh = normalize_step(shift, grid.slots);
  std::vector<double> rotated(grid.slots);
  for (int s = 0; s < grid.slots; ++s) rotated[(s + sh) % grid.slots] = out[s];
  return rotated;
}

}  // namespace

std::vector<double> make_mask(const Grid& grid, const MaskKey& key) {
  if (grid.bands > 1) {
    if (key.stride <= 0 || key.height * key.stride != grid.height || key.width * key.stride != grid.width ||
        key.row > 0 || key.band < 0 || key.band >= grid.bands || key.cross < 0 || key.cross > 1 ||
        key.mux != 1 || key.sub_y != 0 || key.sub_x != 0)
      throw InvalidArgument("make_mask: key (stride " + std::to_string(key.stride) + ", band " +
                            std::to_string(key.band) + ") does not fit the " + std::to_string(grid.height) + "x" +
                            std::to_string(grid.width) + " grid in " + std::to_string(grid.bands) + " bands");
    return shifted(grid,
                   band_tap_mask(grid.band_split(), key.band, key.stride, key.dy, key.dx,
                                 key.cross ? BandTerm::cross : BandTerm::own),
                   key.shift);
  }
  if (key.band != 0 || key.cross != 0)
    throw InvalidArgument("make_mask: a band mask on a grid without bands");
  if (key.mux < 1 || key.sub_y < 0 || key.sub_x < 0 || key.sub_y + key.mux > key.stride ||
      key.sub_x + key.mux > key.stride)
    throw InvalidArgument("make_mask: sub-offsets [" + std::to_string(key.sub_y) + ", " +
                          std::to_string(key.sub_y + key.mux) + ") x [" + std::to_string(key.sub_x) + ", " +
                          std::to_string(key.sub_x + key.mux) + ") leave the stride-" +
                          std::to_string(key.stride) + " cell");
  if (key.stride <= 0 || key.height * key.stride != grid.height ||
      key.width * key.stride != grid.width || key.row < -1 || key.row >= grid.rows)
    throw InvalidArgument("make_mask: key (stride " + std::to_string(key.stride) + ", " +
                          std::to_string(key.height) + "x" + std::to_string(key.width) +
                          ", row " + std::to_string(key.row) + ") does not fit the " +
                          std::to_string(grid.height) + "x" + std::to_string(grid.width) +
                          " grid with " + std::to_string(grid.rows) + " rows");
  std::vector<double> plane(grid.plane, 0.0);
  for (int y = 0; y < key.height; ++y) {
    if (y + key.dy < 0 || y + key.dy >= key.height) continue;
    for (int x = 0; x < key.width; ++x) {
      if (x + key.dx < 0 || x + key.dx >= key.width) continue;
      const std::size_t at = static_cast<std::size_t>(key.stride) * y * grid.width +
                             static_cast<std::size_t>(key.stride) * x;
      for (int oy = key.sub_y; oy < key.sub_y + key.mux; ++oy)
        for (int ox = key.sub_x; ox < key.sub_x + key.mux; ++ox)
          plane[at + static_cast<std::size_t>(oy) * grid.width + ox] = 1.0;
    }
  }
  std::vector<double> out(grid.slots, 0.0);
  for (int r = 0; r < grid.rows; ++r) {
    if (key.row >= 0 && r != key.row) continue;
    std::copy(plane.begin(), plane.end(), out.begin() + static_cast<std::size_t>(r) * grid.plane);
  }
  return shifted(grid, std::move(out), key.shift);
}

int mask_weight(const MaskKey& key) {
  auto span = [](int n, int d) { return std::max(0, n - (d < 0 ? -d : d)); };
  return span(key.height, key.dy) * span(key.width, key.dx);
}

}  // namespace cryptounet::packing
