#include "cryptounet/packing/masks.h"

#include <algorithm>
#include <string>

#include "cryptounet/common/error.h"

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

std::vector<double> make_mask(const Grid& grid, const MaskKey& key) {
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
      plane[static_cast<std::size_t>(key.stride) * y * grid.width +
            static_cast<std::size_t>(key.stride) * x] = 1.0;
    }
  }
  std::vector<double> out(grid.slots, 0.0);
  for (int r = 0; r < grid.rows; ++r) {
    if (key.row >= 0 && r != key.row) continue;
    std::copy(plane.begin(), plane.end(), out.begin() + static_cast<std::size_t>(r) * grid.plane);
  }
  if (key.shift != 0) {
    const int sh = normalize_step(key.shift, grid.slots);
    std::vector<double> rotated(grid.slots);
    for (int s = 0; s < grid.slots; ++s) rotated[(s + sh) % grid.slots] = out[s];
    return rotated;
  }
  return out;
}

int mask_weight(const MaskKey& key) {
  auto span = [](int n, int d) { return std::max(0, n - (d < 0 ? -d : d)); };
  return span(key.height, key.dy) * span(key.width, key.dx);
}

}  // namespace cryptounet::packing
