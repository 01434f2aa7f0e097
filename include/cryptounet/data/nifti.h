// NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz) through Debian's libnifti2.
#pragma once

#include "cryptounet/data/image.h"

#include <string>

namespace cryptounet::data {

/// One axial (z) slice of the first volume (slice -1: the middle one) as grey [0, 1]: stored
/// values times scl_slope plus scl_inter (when the slope is set), min-max stretched. Row y is
/// the second voxel index j, column x the first index i, as stored (no reorientation).
/// @throws IoError (cannot open), FormatError (not NIfTI, unsupported datatype, complex or RGB),
/// InvalidArgument (slice out of range).
[[nodiscard]] Image read_nifti_slice(const std::string& path, int slice = -1);

}  // namespace cryptounet::data
