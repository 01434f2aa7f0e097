// DICOM images through Debian's libgdcm (any transfer syntax gdcm decodes, JPEG included).
#pragma once

#include "cryptounet/data/image.h"

#include <string>

namespace cryptounet::data {

/// One frame of a DICOM image (frame -1: the middle one of a multi-frame file) as grey [0, 1]:
/// stored values times RescaleSlope plus RescaleIntercept, min-max stretched; MONOCHROME1
/// inverted; RGB converted to luma. @throws IoError (cannot open), FormatError (not DICOM, no
/// pixel data, unsupported pixel format), InvalidArgument (frame out of range).
[[nodiscard]] Image read_dicom(const std::string& path, int frame = -1);

}  // namespace cryptounet::data
