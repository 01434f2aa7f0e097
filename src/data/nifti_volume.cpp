// NIfTI volumes through libnifti2: read the first 3-D volume with its geometry, write one back.
#include "cryptounet/data/volume.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "data/nifti_data.h"

#include <nifti2_io.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

namespace cryptounet::data {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Affine from_dmat(const nifti_dmat44& m) {
  Affine a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[r][c] = m.m[r][c];
  return a;
}

nifti_dmat44 to_dmat(const Affine& a) {
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = a[r][c];
  return m;
}

}  // namespace

Affine VolumeGeometry::best_affine() const {
  if (sform_code > 0) return sform;
  if (qform_code > 0)
    return from_dmat(nifti_quatern_to_dmat44(quatern_b, quatern_c, quatern_d, qoffset_x, qoffset_y,
                                             qoffset_z, spacing[0], spacing[1], spacing[2], qfac));
  Affine a{};
  a[0][0] = -spacing[0];
  a[1][1] = spacing[1];
  a[2][2] = spacing[2];
  a[3][3] = 1;
  return a;
}

Volume read_nifti_volume(const std::string& path) {
  const std::string what = "read_nifti_volume '" + path + "'";
  auto [hdr, nx, ny, nz] = detail::read_nifti_header(path, what);
  if (static_cast<std::size_t>(nx * ny * nz) > kMaxVolumeVoxels)
    throw FormatError(what + ": " + std::to_string(nx) + "x" + std::to_string(ny) + "x" +
                      std::to_string(nz) + " voxels is more than this reader accepts");
  // A 4-D file: read only the first volume's worth (nifti_image_read reads all of it; refuse
  // files whose whole data would be far larger than the first volume).
  if (static_cast<double>(hdr->nvox) > 4.0 * static_cast<double>(kMaxVolumeVoxels))
    throw FormatError(what + ": the file holds too many voxels (" + std::to_string(hdr->nvox) + ")");
  // libnifti allocates (and, for .nii.gz, inflates) every voxel of every time point at once: bound
  // those bytes as the slice reader does, before it allocates.
  {
    const unsigned __int128 bytes = static_cast<unsigned __int128>(std::max<std::int64_t>(hdr->nvox, 0)) *
                                    static_cast<unsigned>(std::max(hdr->nbyper, 1));
    if (bytes > kMaxDecodedBytes)
      throw FormatError(what + ": the voxel data would take " +
                        std::to_string(static_cast<std::uint64_t>(bytes >> 20)) + " MiB, more than the " +
                        std::to_string(kMaxDecodedBytes >> 20) + " MiB this reader decodes at once");
  }
  hdr.reset();
  const detail::NiftiData data(path, what, nx, ny, nz);
  const nifti_image* nim = &data.image();
  Volume v;
  VolumeGeometry& g = v.geometry;
  g.dim = {static_cast<int>(nx), static_cast<int>(ny), static_cast<int>(nz)};
  for (int d = 0; d < 3; ++d) {
    const double s = nim->pixdim[d + 1];
    g.spacing[d] = std::isfinite(s) && s > 0 ? s : 1.0;
  }
  g.xyz_units = nim->xyz_units;
  g.sform_code = nim->sform_code;
  g.sform = from_dmat(nim->sto_xyz);
  g.qform_code = nim->qform_code;
  g.quatern_b = nim->quatern_b;
  g.quatern_c = nim->quatern_c;
  g.quatern_d = nim->quatern_d;
  g.qoffset_x = nim->qoffset_x;
  g.qoffset_y = nim->qoffset_y;
  g.qoffset_z = nim->qoffset_z;
  g.qfac = nim->qfac < 0 ? -1.0 : 1.0;
  const std::size_t n = g.voxels();
  v.voxels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = data.value(i);
    if (!std::isfinite(x)) throw FormatError(what + ": voxel " + std::to_string(i) + " is not finite");
    v.voxels[i] = static_cast<float>(x);
  }
  return v;
}

void write_nifti(const std::string& path, const VolumeGeometry& g, const std::vector<float>& voxels,
                 VoxelType type, const std::string& description) {
  const std::string what = "write_nifti '" + path + "'";
  const bool gz = ends_with(path, ".nii.gz");
  if (!gz && !ends_with(path, ".nii"))
    throw InvalidArgument(what + ": the name must end in .nii or .nii.gz");
  if (g.dim[0] <= 0 || g.dim[1] <= 0 || g.dim[2] <= 0 || g.voxels() > kMaxVolumeVoxels)
    throw InvalidArgument(what + ": bad dimensions");
  if (voxels.size() != g.voxels())
    throw InvalidArgument(what + ": " + std::to_string(voxels.size()) + " voxels for a " +
                          std::to_string(g.dim[0]) + "x" + std::to_string(g.dim[1]) + "x" +
                          std::to_string(g.dim[2]) + " grid");
  nifti_set_debug_level(0);
  const std::int64_t dims[8] = {3, g.dim[0], g.dim[1], g.dim[2], 1, 1, 1, 1};
  const int dt = type == VoxelType::uint8 ? DT_UINT8 : DT_FLOAT32;
  detail::NimPtr nim(nifti_make_new_nim(dims, dt, 1));
  if (!nim) throw IoError(what + ": cannot make a NIfTI header");
  for (int d = 0; d < 3; ++d) nim->pixdim[d + 1] = g.spacing[d];
  nim->dx = g.spacing[0];
  nim->dy = g.spacing[1];
  nim->dz = g.spacing[2];
  nim->xyz_units = g.xyz_units;
  nim->qform_code = g.qform_code;
  nim->quatern_b = g.quatern_b;
  nim->quatern_c = g.quatern_c;
  nim->quatern_d = g.quatern_d;
  nim->qoffset_x = g.qoffset_x;
  nim->qoffset_y = g.qoffset_y;
  nim->qoffset_z = g.qoffset_z;
  nim->qfac = g.qfac < 0 ? -1.0 : 1.0;
  nim->pixdim[0] = nim->qfac;
  nim->qto_xyz = nifti_quatern_to_dmat44(g.quatern_b, g.quatern_c, g.quatern_d, g.qoffset_x,
                                         g.qoffset_y, g.qoffset_z, g.spacing[0], g.spacing[1],
                                         g.spacing[2], nim->qfac);
  nim->qto_ijk = nifti_dmat44_inverse(nim->qto_xyz);
  nim->sform_code = g.sform_code;
  nim->sto_xyz = to_dmat(g.sform);
  if (g.sform_code > 0) nim->sto_ijk = nifti_dmat44_inverse(nim->sto_xyz);
  nim->scl_slope = 0;  // values as stored
  nim->scl_inter = 0;
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  std::snprintf(nim->descrip, sizeof nim->descrip, "%s", description.c_str());
  if (type == VoxelType::uint8) {
    auto* out = static_cast<std::uint8_t*>(nim->data);
    for (std::size_t i = 0; i < voxels.size(); ++i) {
      const float x = std::isfinite(voxels[i]) ? voxels[i] : 0.0f;
      out[i] = static_cast<std::uint8_t>(std::clamp(std::lround(x), 0L, 255L));
    }
    nim->cal_min = 0;
    nim->cal_max = 1;
  } else {
    std::memcpy(nim->data, voxels.data(), voxels.size() * sizeof(float));
  }

  // Write beside the target under a temporary name with the same extension, then rename.
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  if (!std::filesystem::is_directory(dir)) throw IoError(what + ": no folder '" + dir.string() + "'");
  std::random_device rd;
  char tag[32];
  std::snprintf(tag, sizeof tag, ".tmp-%d-%08x", static_cast<int>(getpid()), rd());
  const std::string tmp = (dir / (std::string(tag) + (gz ? ".nii.gz" : ".nii"))).string();
  if (nifti_set_filenames(nim.get(), tmp.c_str(), 0, 1) != 0)
    throw IoError(what + ": cannot set the file name");
  nifti_image_write(nim.get());
  std::error_code ec;
  detail::NimPtr check(
      std::filesystem::is_regular_file(tmp, ec) ? nifti_image_read(tmp.c_str(), 0) : nullptr);
  if (!check || check->nvox != nim->nvox) {
    std::filesystem::remove(tmp, ec);
    throw IoError(what + ": cannot write (folder missing or not writable?)");
  }
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw IoError(what + ": cannot move the written file into place");
  }
}

Volume read_volume(const std::string& path) {
  if (std::filesystem::is_directory(path)) return read_dicom_series(path);
  // A single DICOM file (preamble + "DICM"): say how to pass a series instead of "not NIfTI".
  std::ifstream in(path, std::ios::binary);
  char head[132] = {};
  if (in.read(head, sizeof head) && std::memcmp(head + 128, "DICM", 4) == 0)
    throw FormatError("read_volume '" + path + "': a single DICOM file; pass the folder that holds the series");
  return read_nifti_volume(path);
}

}  // namespace cryptounet::data
