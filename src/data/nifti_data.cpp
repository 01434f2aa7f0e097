#include "data/nifti_data.h"

#include "cryptounet/common/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace cryptounet::data::detail {
namespace {

template <class T>
double sample(const void* base, std::size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(base) + i * sizeof(T), sizeof v);
  return static_cast<double>(v);
}

}  // namespace

NiftiHeader read_nifti_header(const std::string& path, const std::string& what) {
  if (!std::filesystem::is_regular_file(path)) throw IoError(what + ": no such file");
  nifti_set_debug_level(0);
  NiftiHeader h;
  h.hdr.reset(nifti_image_read(path.c_str(), 0));
  if (!h.hdr) throw FormatError(what + ": not a NIfTI file libnifti2 can read");
  h.nx = h.hdr->nx;
  h.ny = std::max<std::int64_t>(h.hdr->ny, 1);
  h.nz = std::max<std::int64_t>(h.hdr->nz, 1);
  if (h.hdr->ndim < 2 || h.nx <= 0 || h.ny <= 0 || h.nx > 65536 || h.ny > 65536 || h.nz > 65536)
    throw FormatError(what + ": bad dimensions");
  return h;
}

NiftiData::NiftiData(const std::string& path, const std::string& what, std::int64_t nx, std::int64_t ny,
                     std::int64_t nz)
    : nim_(nifti_image_read(path.c_str(), 1)) {
  if (!nim_ || !nim_->data) throw FormatError(what + ": cannot read the voxel data");
  if (nim_->nx != nx || static_cast<std::int64_t>(nim_->nvox) < nx * ny * nz)
    throw FormatError(what + ": voxel data do not match the header");
  switch (nim_->datatype) {
    case DT_UINT8: read_ = &sample<std::uint8_t>; break;
    case DT_INT8: read_ = &sample<std::int8_t>; break;
    case DT_UINT16: read_ = &sample<std::uint16_t>; break;
    case DT_INT16: read_ = &sample<std::int16_t>; break;
    case DT_UINT32: read_ = &sample<std::uint32_t>; break;
    case DT_INT32: read_ = &sample<std::int32_t>; break;
    case DT_UINT64: read_ = &sample<std::uint64_t>; break;
    case DT_INT64: read_ = &sample<std::int64_t>; break;
    case DT_FLOAT32: read_ = &sample<float>; break;
    case DT_FLOAT64: read_ = &sample<double>; break;
    default:
      throw FormatError(what + ": unsupported datatype " + std::string(nifti_datatype_string(nim_->datatype)));
  }
  scaled_ = nim_->scl_slope != 0 && std::isfinite(nim_->scl_slope);
}

}  // namespace cryptounet::data::detail
