#include "cryptounet/data/nifti.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"

#include <nifti2_io.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace cryptounet::data {
namespace {

struct NimFree {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};

template <class T>
double sample(const void* base, std::size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(base) + i * sizeof(T), sizeof v);
  return static_cast<double>(v);
}

}  // namespace

Image read_nifti_slice(const std::string& path, int slice) {
  const std::string what = "read_nifti_slice '" + path + "'";
  if (!std::filesystem::is_regular_file(path)) throw IoError(what + ": no such file");
  nifti_set_debug_level(0);
  // Header first: refuse absurd sizes before the library allocates the data.
  std::unique_ptr<nifti_image, NimFree> hdr(nifti_image_read(path.c_str(), 0));
  if (!hdr) throw FormatError(what + ": not a NIfTI file libnifti2 can read");
  const std::int64_t nx = hdr->nx, ny = std::max<std::int64_t>(hdr->ny, 1), nz = std::max<std::int64_t>(hdr->nz, 1);
  if (hdr->ndim < 2 || nx <= 0 || ny <= 0 || nx > 65536 || ny > 65536 || nz > 65536)
    throw FormatError(what + ": bad dimensions");
  // Before the library reads (and inflates, for .nii.gz) the whole volume: every voxel of every
  // dimension the header declares.
  {
    const unsigned __int128 voxels = static_cast<unsigned __int128>(std::max<std::int64_t>(hdr->nvox, 0));
    const unsigned __int128 bytes = voxels * static_cast<unsigned>(std::max(hdr->nbyper, 1));
    check_declared_size(what, static_cast<std::uint64_t>(nx), static_cast<std::uint64_t>(ny),
                        bytes > kMaxDecodedBytes ? kMaxDecodedBytes + 1 : static_cast<std::uint64_t>(bytes));
  }
  if (slice < 0) slice = static_cast<int>(nz / 2);
  if (slice >= nz)
    throw InvalidArgument(what + ": slice " + std::to_string(slice) + " out of range (the volume has " +
                          std::to_string(nz) + ")");
  hdr.reset();
  std::unique_ptr<nifti_image, NimFree> nim(nifti_image_read(path.c_str(), 1));
  if (!nim || !nim->data) throw FormatError(what + ": cannot read the voxel data");
  if (nim->nx != nx || static_cast<std::int64_t>(nim->nvox) < nx * ny * nz)
    throw FormatError(what + ": voxel data do not match the header");
  double (*read)(const void*, std::size_t) = nullptr;
  switch (nim->datatype) {
    case DT_UINT8: read = &sample<std::uint8_t>; break;
    case DT_INT8: read = &sample<std::int8_t>; break;
    case DT_UINT16: read = &sample<std::uint16_t>; break;
    case DT_INT16: read = &sample<std::int16_t>; break;
    case DT_UINT32: read = &sample<std::uint32_t>; break;
    case DT_INT32: read = &sample<std::int32_t>; break;
    case DT_UINT64: read = &sample<std::uint64_t>; break;
    case DT_INT64: read = &sample<std::int64_t>; break;
    case DT_FLOAT32: read = &sample<float>; break;
    case DT_FLOAT64: read = &sample<double>; break;
    default:
      throw FormatError(what + ": unsupported datatype " + std::string(nifti_datatype_string(nim->datatype)));
  }
  const bool scaled = nim->scl_slope != 0 && std::isfinite(nim->scl_slope);
  const std::size_t plane = static_cast<std::size_t>(nx * ny);
  std::vector<double> values(plane);
  const std::size_t off = plane * static_cast<std::size_t>(slice);
  for (std::size_t i = 0; i < plane; ++i) {
    const double v = read(nim->data, off + i);
    values[i] = scaled ? v * nim->scl_slope + nim->scl_inter : v;
  }
  return image_from_values(values, static_cast<int>(nx), static_cast<int>(ny), what);
}

}  // namespace cryptounet::data
