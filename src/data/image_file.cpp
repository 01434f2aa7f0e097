#include "cryptounet/data/image_file.h"

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/data/dicom.h"
#include "cryptounet/data/nifti.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/tiff.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace cryptounet::data {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  return true;
}

// The caller's plane limit while read_any_image(path, slice, limit) runs on this thread: every
// reader already calls check_declared_size before it decodes, so the limit needs no reader change.
thread_local const PlaneLimit* t_plane_limit = nullptr;

void check_plane_limit(const std::string& what, std::uint64_t width, std::uint64_t height) {
  const PlaneLimit* l = t_plane_limit;
  if (l == nullptr || l->width <= 0 || l->height <= 0) return;
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  const std::string want = std::to_string(l->width) + "x" + std::to_string(l->height);
  if (!l->resample) {
    if (width != static_cast<std::uint64_t>(l->width) || height != static_cast<std::uint64_t>(l->height))
      throw InvalidArgument(what + " is " + size + " but " + l->owner + " expects " + want +
                            "; pass --resize to resample it (refused before decoding)");
    return;
  }
  if (width > static_cast<std::uint64_t>(l->width) * kMaxResampleFactor ||
      height > static_cast<std::uint64_t>(l->height) * kMaxResampleFactor)
    throw InvalidArgument(what + " is " + size + ", more than " + std::to_string(kMaxResampleFactor) +
                          " times the " + want + " input of " + l->owner +
                          " per side; refused before decoding (downscale it first)");
}

}  // namespace

void check_declared_size(const std::string& what, std::uint64_t width, std::uint64_t height,
                         std::uint64_t decoded_bytes) {
  const unsigned __int128 pixels = static_cast<unsigned __int128>(width) * height;
  if (pixels > kMaxImagePixels)
    throw FormatError(what + ": declared size " + std::to_string(width) + "x" + std::to_string(height) +
                      " is more than " + std::to_string(kMaxImagePixels) + " pixels; refused before decoding");
  if (decoded_bytes > kMaxDecodedBytes)
    throw FormatError(what + ": decoding would take " + std::to_string(decoded_bytes >> 20) + " MiB, more than " +
                      std::to_string(kMaxDecodedBytes >> 20) + " MiB; refused before decoding");
  check_plane_limit(what, width, height);
}

ImageFileKind image_file_kind(const std::string& path) {
  check_regular_file(path);  // a folder or FIFO: a clear IoError, no hang
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("image_file_kind: cannot open '" + path + "'");
  char head[132] = {};
  in.read(head, sizeof head);
  const auto got = in.gcount();
  if (got >= 132 && std::memcmp(head + 128, "DICM", 4) == 0) return ImageFileKind::dicom;
  if (got >= 4 && (std::memcmp(head, "II*\0", 4) == 0 || std::memcmp(head, "MM\0*", 4) == 0 ||
                   std::memcmp(head, "II+\0", 4) == 0 || std::memcmp(head, "MM\0+", 4) == 0))
    return ImageFileKind::tiff;
  if (ends_with(path, ".dcm") || ends_with(path, ".dicom")) return ImageFileKind::dicom;
  if (ends_with(path, ".nii") || ends_with(path, ".nii.gz")) return ImageFileKind::nifti;
  if (got >= 4) {
    std::int32_t sizeof_hdr = 0;
    std::memcpy(&sizeof_hdr, head, 4);
    if (sizeof_hdr == 348 || sizeof_hdr == 540) return ImageFileKind::nifti;
  }
  return ImageFileKind::png_or_stb;
}

Image read_any_image(const std::string& path, int slice) {
  switch (image_file_kind(path)) {
    case ImageFileKind::dicom:
      return read_dicom(path, slice);
    case ImageFileKind::nifti:
      return read_nifti_slice(path, slice);
    case ImageFileKind::tiff:
      return read_tiff(path, slice < 0 ? 0 : slice);
    case ImageFileKind::png_or_stb:
      break;
  }
  return read_image(path);
}

Image read_any_image(const std::string& path, int slice, const PlaneLimit& limit) {
  struct Scope {
    const PlaneLimit* saved;
    explicit Scope(const PlaneLimit* l) : saved(t_plane_limit) { t_plane_limit = l; }
    ~Scope() { t_plane_limit = saved; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  } scope(&limit);
  return read_any_image(path, slice);
}

Image image_from_values(const std::vector<double>& values, int width, int height, const std::string& what) {
  if (width <= 0 || height <= 0 || values.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    throw InvalidArgument("image_from_values: " + what + ": " + std::to_string(values.size()) + " values for " +
                          std::to_string(width) + "x" + std::to_string(height));
  double lo = 0, hi = 0;
  bool first = true;
  for (double v : values) {
    if (!std::isfinite(v)) throw FormatError(what + ": a pixel value is not finite");
    if (first) lo = hi = v, first = false;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  Image img(width, height);
  if (hi > lo)
    for (std::size_t i = 0; i < values.size(); ++i) img.pixels[i] = static_cast<float>((values[i] - lo) / (hi - lo));
  return img;
}

std::string image_file_stem(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  auto strip = [&name](const std::string& ext) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      name.resize(name.size() - ext.size());
      return true;
    }
    return false;
  };
  // Compressed NIfTI first: ".nii.gz" is one extension.
  if (strip(".nii.gz") || strip(".NII.GZ")) return name;
  const std::size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

}  // namespace cryptounet::data
