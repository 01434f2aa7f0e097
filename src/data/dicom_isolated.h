// Inside the data layer: one gdcm read of a DICOM file in a child process. gdcm (Debian's build
// keeps its assertions) aborts the whole process on some malformed files (fuzz/fuzz_image.cpp and
// fuzz_volume.cpp found several: a file meta group ending the file, samples per pixel 2, a palette
// image without tables, a retired Recognition Code that is not "ACR-NEMA"). dicom_structure.cpp
// refuses the malformed structures it knows first; whatever else makes gdcm abort kills only the
// child, and the reader gets a FormatError.
#pragma once

#include <string>
#include <vector>

namespace cryptounet::data {

struct DicomRead {
  bool readable = false;  // false: gdcm cannot read it as an image (not DICOM, DICOMDIR, ...)
  unsigned ndim = 0;
  unsigned dims[3] = {0, 0, 0};
  bool monochrome1 = false;
  double origin[3] = {0, 0, 0};     // ImagePositionPatient (LPS, mm)
  double direction[6] = {0, 0, 0, 0, 0, 0};  // ImageOrientationPatient
  double spacing[3] = {1, 1, 1};
  // Frame `frame` (-1: the middle one) as dicom_frame_values gives it.
  int width = 0, height = 0;
  std::vector<double> values;
};

/// Reads `path` with gdcm in a forked child: the header fields and frame `frame`'s values. Errors the reading raises (FormatError, InvalidArgument) come back as themselves;
/// a child that dies becomes FormatError("`what`: gdcm aborted reading this file (malformed DICOM)").
DicomRead read_dicom_isolated(const std::string& path, const std::string& what, int frame);

}  // namespace cryptounet::data
