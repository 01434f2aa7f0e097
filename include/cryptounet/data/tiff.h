// TIFF images through Debian's libtiff: 8/16/32-bit unsigned or 32/64-bit float samples, grey or
// RGB(A), contiguous or planar, read by scanline (tiled TIFFs are refused).
#pragma once

#include "cryptounet/data/image.h"

#include <string>

namespace cryptounet::data {

/// The first page (or `page`) of a TIFF as grey [0, 1]: integer samples divided by their maximum
/// (8-bit: 255, 16-bit: 65535, ...), float samples min-max stretched; RGB(A) to luma (alpha
/// ignored). @throws IoError (cannot open), FormatError (not a TIFF, unsupported sample format,
/// unreadable data), InvalidArgument (page out of range).
[[nodiscard]] Image read_tiff(const std::string& path, int page = 0);

}  // namespace cryptounet::data
