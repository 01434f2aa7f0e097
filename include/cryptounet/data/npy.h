// NumPy .npy files (format version 1.0): raw float64 arrays that numpy.load reads as they are,
// e.g. a model's logits before any threshold.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cryptounet::data {

/// Writes `values` (row-major, C order) as a little-endian float64 .npy array of `shape`.
/// Written atomically. @throws InvalidArgument if the shape's product differs from values.size();
/// IoError if writing fails.
void write_npy(const std::string& path, const std::vector<std::size_t>& shape,
               const std::vector<double>& values);

/// The bytes write_npy writes (header padded to a multiple of 64 bytes, then the data).
[[nodiscard]] std::vector<unsigned char> npy_bytes(const std::vector<std::size_t>& shape,
                                                   const std::vector<double>& values);

}  // namespace cryptounet::data
