// Internal to data: reading a NIfTI file through libnifti2 in two steps, shared by the slice
// reader (nifti.cpp) and the volume reader (nifti_volume.cpp): the header alone first (so that
// each reader refuses absurd sizes before the library allocates the voxels), then the voxel data
// with a per-datatype sample reader and the file's scl_slope/scl_inter.
#pragma once

#include <nifti2_io.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace cryptounet::data::detail {

struct NimFree {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};
using NimPtr = std::unique_ptr<nifti_image, NimFree>;

/// The header of a NIfTI file (no voxel data), with its sides: at least 2-D, each side in
/// [1, 65536] (ny, nz are 1 where the file has fewer dimensions). `what` starts every message.
struct NiftiHeader {
  NimPtr hdr;
  std::int64_t nx = 0, ny = 0, nz = 0;
};
NiftiHeader read_nifti_header(const std::string& path, const std::string& what);

/// The voxel data of a file whose header gave nx x ny x nz (the data must hold at least that many
/// voxels). value(i): the i-th voxel as double, scl_slope/scl_inter applied when the slope is set.
class NiftiData {
 public:
  NiftiData(const std::string& path, const std::string& what, std::int64_t nx, std::int64_t ny, std::int64_t nz);
  [[nodiscard]] double value(std::size_t i) const {
    const double v = read_(nim_->data, i);
    return scaled_ ? v * nim_->scl_slope + nim_->scl_inter : v;
  }
  [[nodiscard]] const nifti_image& image() const { return *nim_; }

 private:
  NimPtr nim_;
  double (*read_)(const void*, std::size_t) = nullptr;
  bool scaled_ = false;
};

}  // namespace cryptounet::data::detail
