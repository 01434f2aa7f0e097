// The synthetic volume the volume CLI tests segment (one process and under mpirun): a 14 x 12 x 5
// grid, 0.8 x 1.2 x 2 mm voxels, LAS sform; slice 0 empty, then an ellipse of growing brightness
// over a faint pattern, so masks differ from slice to slice.
#pragma once

#include <cstddef>
#include <vector>

#include "cryptounet/data/volume.h"

namespace cryptounet::cli_test {

inline data::VolumeGeometry phantom_geometry() {
  data::VolumeGeometry g;
  g.dim = {14, 12, 5};
  g.spacing = {0.8, 1.2, 2.0};
  g.sform_code = 1;
  g.sform = {{{-0.8, 0, 0, 5}, {0, 1.2, 0, -7}, {0, 0, 2.0, 3}, {0, 0, 0, 1}}};
  return g;
}

inline std::vector<float> phantom_voxels() {
  const int nx = 14, ny = 12, nz = 5;
  std::vector<float> v(static_cast<std::size_t>(nx) * ny * nz, 0.0f);
  for (int k = 1; k < nz; ++k)
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i) {
        const double e = (j - 6) * (j - 6) / 16.0 + (i - 7) * (i - 7) / 25.0;
        v[(static_cast<std::size_t>(k) * ny + j) * nx + i] =
            static_cast<float>((e < 1 ? 50 + 10 * k : 0) + ((i * 7 + j * 3 + k) % 20));
      }
  return v;
}

}  // namespace cryptounet::cli_test
