// Inside the data layer: a DICOM frame's stored values through gdcm, shared by the single-image
// reader (dicom.cpp) and the series reader (dicom_series.cpp).
#pragma once

#include <gdcmImage.h>

#include <string>
#include <vector>

namespace cryptounet::data {

/// Frame `frame` (-1: the middle one; set to the frame read) of `im`, read from `path`, as stored
/// values times RescaleSlope plus RescaleIntercept (RGB turned into luma), row-major; width and
/// height set. Messages start with `what`. @throws FormatError (bad dimensions, unsupported or
/// truncated pixel data), InvalidArgument (frame out of range).
std::vector<double> dicom_frame_values(const gdcm::Image& im, const std::string& path,
                                       const std::string& what, int& frame, int& width, int& height);

}  // namespace cryptounet::data
