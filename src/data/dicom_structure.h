// A structural check of a DICOM Part 10 file before gdcm reads it. gdcm allocates whatever an
// element's length field declares before it reads the value (a 783-byte file declaring a 3 GB
// element made it allocate 3 GB), and aborts on an assertion for some malformed file meta
// headers: both found by fuzz/fuzz_image.cpp. This walks the tags and lengths (not the values) of
// the file meta group and the data set, through sequences and items, in constant memory.
#pragma once

#include <string>

namespace cryptounet::data {

/// Throws FormatError ("`what`: not a well-formed DICOM file (why, at byte B)") unless the file
/// has the Part 10 preamble ('DICM' at byte 128), a file meta group in explicit VR little endian
/// (starting with its group length, no sequences) naming a transfer syntax this walker knows (implicit or explicit VR, little or big endian,
/// not deflated), samples per pixel 1, 3 or 4, a grey, RGB or YBR photometric interpretation, and every element, sequence, item and pixel-data fragment lies within the file
/// and within its parent, with a standard VR, nested at most 16 deep. IoError if the file cannot be opened.
void check_dicom_structure(const std::string& path, const std::string& what);

}  // namespace cryptounet::data
