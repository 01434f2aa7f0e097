// Synthetic fluorescence-microscopy nuclei with exact masks: star-convex nuclei of varied size and
// elongation, some touching in clusters, with texture, uneven illumination, optical blur, Poisson
// (photon) and Gaussian (read-out) noise, quantised to 8 bits. Deterministic: an image depends only
// on (seed, index, size), so the same seed gives the same bytes.
#pragma once

#include "cryptounet/data/dataset.h"

#include <cstdint>
#include <string>

namespace cryptounet::data {

struct SynthOptions {
  int size = 64;           // H = W
  std::uint64_t seed = 1;  // dataset seed
};

/// Image number `index` of the dataset `options.seed`. The image is already quantised to 8 bits
/// (values k / 255), so writing and reading it back is exact.
/// @throws InvalidArgument if size < 16 or > 4096.
[[nodiscard]] Sample synth_nuclei(const SynthOptions& options, std::uint64_t index);

/// Writes `count` images to DIR in the dataset format (nuclei_0000.png, …) with a 70/15/15
/// train/val/test split in index order (at least one test image when count ≥ 2).
/// @throws InvalidArgument for count < 1; IoError if writing fails.
Dataset write_synth_dataset(const std::string& dir, int count, const SynthOptions& options);

}  // namespace cryptounet::data
