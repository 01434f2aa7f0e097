#include "cryptounet/data/dicom.h"
#include "data/dicom_pixels.h"
#include "data/dicom_isolated.h"
#include "data/dicom_structure.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"

#include <gdcmImage.h>
#include <gdcmPixelFormat.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace cryptounet::data {
namespace {

template <class T>
double sample(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return static_cast<double>(v);
}

}  // namespace

std::vector<double> dicom_frame_values(const gdcm::Image& im, const std::string& path,
                                       const std::string& what, int& frame, int& width, int& height) {
  const unsigned* dims = im.GetDimensions();
  const unsigned ndim = im.GetNumberOfDimensions();
  if (ndim < 2 || dims[0] == 0 || dims[1] == 0 || dims[0] > 65536 || dims[1] > 65536)
    throw FormatError(what + ": bad dimensions");
  const unsigned frames = ndim >= 3 ? std::max(dims[2], 1u) : 1u;
  if (frame < 0) frame = static_cast<int>(frames / 2);
  if (static_cast<unsigned>(frame) >= frames)
    throw InvalidArgument(what + ": frame " + std::to_string(frame) + " out of range (the file has " +
                          std::to_string(frames) + ")");
  const gdcm::PixelFormat& pf = im.GetPixelFormat();
  const unsigned spp = pf.GetSamplesPerPixel();
  if (spp != 1 && spp != 3)
    throw FormatError(what + ": " + std::to_string(spp) + " samples per pixel (1 or 3 supported)");
  const gdcm::PixelFormat::ScalarType st = pf.GetScalarType();
  std::size_t bytes = 0;
  double (*read)(const char*) = nullptr;
  switch (st) {
    case gdcm::PixelFormat::UINT8: bytes = 1, read = &sample<std::uint8_t>; break;
    case gdcm::PixelFormat::INT8: bytes = 1, read = &sample<std::int8_t>; break;
    case gdcm::PixelFormat::UINT16: bytes = 2, read = &sample<std::uint16_t>; break;
    case gdcm::PixelFormat::INT16: bytes = 2, read = &sample<std::int16_t>; break;
    case gdcm::PixelFormat::UINT32: bytes = 4, read = &sample<std::uint32_t>; break;
    case gdcm::PixelFormat::INT32: bytes = 4, read = &sample<std::int32_t>; break;
    case gdcm::PixelFormat::FLOAT32: bytes = 4, read = &sample<float>; break;
    case gdcm::PixelFormat::FLOAT64: bytes = 8, read = &sample<double>; break;
    default:
      throw FormatError(what + ": unsupported pixel format (" + std::string(pf.GetScalarTypeAsString()) + ")");
  }
  const std::size_t w = dims[0], h = dims[1];
  const std::size_t plane = w * h * spp * bytes;
  const std::size_t need = plane * frames;
  // Before gdcm decodes (decompresses) the pixel data: every frame at once.
  check_declared_size(what, w, h, static_cast<std::uint64_t>(need));
  if (im.GetBufferLength() < need) throw FormatError(what + ": pixel data shorter than the dimensions say");
  // Uncompressed pixel data cut short: gdcm reads it with a warning; refuse it.
  // gdcm pads truncated uncompressed pixel data (with a warning only): count the bytes really
  // stored after the last Pixel Data tag (7FE0,0010).
  if (!im.GetTransferSyntax().IsEncapsulated()) {
    std::ifstream in(path, std::ios::binary);
    const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string tag("\xE0\x7F\x10\x00", 4);
    const std::size_t at = file.rfind(tag);
    if (at != std::string::npos) {
      const bool explicit_ow = at + 6 <= file.size() && (file.compare(at + 4, 2, "OW") == 0 ||
                                                         file.compare(at + 4, 2, "OB") == 0);
      const std::size_t start = at + (explicit_ow ? 12 : 8);
      const std::size_t stored = file.size() > start ? file.size() - start : 0;
      if (stored < need)
        throw FormatError(what + ": pixel data truncated (" + std::to_string(stored) + " of " +
                          std::to_string(need) + " bytes stored)");
    }
  }
  std::vector<char> buf(im.GetBufferLength());
  if (!im.GetBuffer(buf.data())) throw FormatError(what + ": cannot decode the pixel data");
  const double slope = im.GetSlope() != 0 ? im.GetSlope() : 1.0, intercept = im.GetIntercept();
  const bool planar = spp == 3 && im.GetPlanarConfiguration() == 1;
  std::vector<double> values(w * h);
  const char* base = buf.data() + plane * static_cast<std::size_t>(frame);
  for (std::size_t i = 0; i < w * h; ++i) {
    double v;
    if (spp == 1) {
      v = read(base + i * bytes);
    } else {
      double c[3];
      for (std::size_t k = 0; k < 3; ++k)
        c[k] = read(base + (planar ? (k * w * h + i) : (i * 3 + k)) * bytes);
      v = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    }
    values[i] = v * slope + intercept;
  }
  width = static_cast<int>(w);
  height = static_cast<int>(h);
  return values;
}

Image read_dicom(const std::string& path, int frame) {
  const std::string what = "read_dicom '" + path + "'";
  if (!std::filesystem::is_regular_file(path)) throw IoError(what + ": no such file");
  check_dicom_structure(path, what);  // before gdcm allocates what the lengths declare
  const DicomRead r = read_dicom_isolated(path, what, frame);  // gdcm's aborts end in the child
  if (!r.readable) throw FormatError(what + ": not a DICOM image gdcm can read");
  Image img = image_from_values(r.values, r.width, r.height, what);
  if (r.monochrome1)
    for (double& p : img.pixels) p = 1.0 - p;
  return img;
}

}  // namespace cryptounet::data
