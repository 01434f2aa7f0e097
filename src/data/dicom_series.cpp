// A DICOM series folder as one volume: slices sorted along their normal, geometry from the
// patient position and orientation, in NIfTI's RAS+ convention.
#include "cryptounet/data/volume.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "data/dicom_isolated.h"
#include "data/dicom_structure.h"

#include <nifti2_io.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace cryptounet::data {
namespace {

struct SliceFile {
  std::string path;
  double pos[3];              // ImagePositionPatient (LPS, mm)
  double along = 0;           // position along the slice normal
  std::vector<float> values;  // the slice's stored values, row-major
};

constexpr std::size_t kMaxSeriesFiles = 65536;

}  // namespace

Volume read_dicom_series(const std::string& folder) {
  const std::string what = "read_dicom_series '" + folder + "'";
  if (!std::filesystem::is_directory(folder)) throw IoError(what + ": not a folder");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    if (!e.is_regular_file()) continue;
    files.push_back(e.path().string());
    if (files.size() > kMaxSeriesFiles)
      throw FormatError(what + ": more than " + std::to_string(kMaxSeriesFiles) + " files");
  }
  std::sort(files.begin(), files.end());

  // One read per file (structure walk, then gdcm in a child: geometry and pixels), one at a time.
  int w = 0, h = 0;
  double dir[6] = {0, 0, 0, 0, 0, 0}, spacing[2] = {1, 1};
  std::vector<SliceFile> slices;
  for (const std::string& f : files) {
    try {
      check_dicom_structure(f, what);  // before gdcm allocates what the lengths declare
    } catch (const FormatError&) {
      continue;  // not a (well-formed) DICOM file: skipped, as gdcm's refusals below
    }
    const DicomRead r = read_dicom_isolated(f, what + ": '" + f + "'", 0);
    if (!r.readable) continue;  // not a DICOM image: skipped (DICOMDIR, notes, ...)
    const unsigned* dims = r.dims;
    check_declared_size(what + ": '" + f + "'", dims[0], dims[1],
                        std::uint64_t{dims[0]} * dims[1] * sizeof(double));  // before any pixel is decoded
    if (r.ndim >= 3 && dims[2] > 1)
      throw FormatError(what + ": '" + f + "' is a multi-frame image; a series folder holds one frame per file");
    if (r.monochrome1)
      throw FormatError(what + ": '" + f + "' is MONOCHROME1 (inverted grey), not supported in a series");
    const double* o = r.origin;
    const double* d = r.direction;
    const double* s = r.spacing;
    if (slices.empty()) {
      w = static_cast<int>(dims[0]);
      h = static_cast<int>(dims[1]);
      std::copy(d, d + 6, dir);
      spacing[0] = s[0] > 0 && std::isfinite(s[0]) ? s[0] : 1.0;
      spacing[1] = s[1] > 0 && std::isfinite(s[1]) ? s[1] : 1.0;
    } else {
      if (static_cast<int>(dims[0]) != w || static_cast<int>(dims[1]) != h)
        throw FormatError(what + ": '" + f + "' is " + std::to_string(dims[0]) + "x" +
                          std::to_string(dims[1]) + ", the first image " + std::to_string(w) + "x" +
                          std::to_string(h) + " (one series per folder)");
      for (int k = 0; k < 6; ++k)
        if (std::abs(d[k] - dir[k]) > 1e-3)
          throw FormatError(what + ": '" + f + "' has another orientation than the first image (one series per folder)");
    }
    SliceFile sf;
    sf.path = f;
    for (int k = 0; k < 3; ++k) {
      sf.pos[k] = o[k];
      if (!std::isfinite(o[k])) throw FormatError(what + ": '" + f + "' has a bad ImagePositionPatient");
    }
    if (r.width != w || r.height != h)
      throw FormatError(what + ": '" + f + "' has pixel data of another size than its header");
    // Before this slice's values are kept: the series so far stays within the volume limit.
    if (static_cast<double>(w) * h * static_cast<double>(slices.size() + 1) > static_cast<double>(kMaxVolumeVoxels))
      throw FormatError(what + ": the series is larger than this reader accepts");
    sf.values.resize(r.values.size());
    for (std::size_t i = 0; i < r.values.size(); ++i) {
      if (!std::isfinite(r.values[i])) throw FormatError(what + ": '" + f + "' has a non-finite value");
      sf.values[i] = static_cast<float>(r.values[i]);
    }
    slices.push_back(std::move(sf));
  }
  if (slices.empty()) throw FormatError(what + ": no DICOM image gdcm can read in the folder");

  // Slice normal = row direction × column direction; sort by position along it.
  const double n[3] = {dir[1] * dir[5] - dir[2] * dir[4], dir[2] * dir[3] - dir[0] * dir[5],
                       dir[0] * dir[4] - dir[1] * dir[3]};
  for (SliceFile& s : slices) s.along = s.pos[0] * n[0] + s.pos[1] * n[1] + s.pos[2] * n[2];
  std::stable_sort(slices.begin(), slices.end(),
                   [](const SliceFile& a, const SliceFile& b) { return a.along < b.along; });
  double dz = 1.0;
  for (std::size_t k = 1; k < slices.size(); ++k)
    if (std::abs(slices[k].along - slices[k - 1].along) < 1e-4)
      throw FormatError(what + ": '" + slices[k - 1].path + "' and '" + slices[k].path +
                        "' are at one position (two series in one folder?)");
  if (slices.size() > 1)
    dz = (slices.back().along - slices.front().along) / static_cast<double>(slices.size() - 1);

  Volume v;
  VolumeGeometry& g = v.geometry;
  g.dim = {w, h, static_cast<int>(slices.size())};
  g.spacing = {spacing[0], spacing[1], dz};
  g.xyz_units = NIFTI_UNITS_MM;
  // DICOM (LPS): voxel (i = column, j = row, k) -> origin + i·sx·rowdir + j·sy·coldir + k·dz·n.
  // NIfTI is RAS+: negate x and y.
  Affine a{};
  const double* o = slices.front().pos;
  for (int r = 0; r < 3; ++r) {
    const double flip = r < 2 ? -1.0 : 1.0;
    a[r][0] = flip * dir[r] * spacing[0];
    a[r][1] = flip * dir[3 + r] * spacing[1];
    a[r][2] = flip * n[r] * dz;
    a[r][3] = flip * o[r];
  }
  a[3][3] = 1;
  g.sform_code = NIFTI_XFORM_SCANNER_ANAT;
  g.sform = a;
  g.qform_code = NIFTI_XFORM_SCANNER_ANAT;
  {
    nifti_dmat44 m;
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) m.m[r][c] = a[r][c];
    double dx, dy, dzz;
    nifti_dmat44_to_quatern(m, &g.quatern_b, &g.quatern_c, &g.quatern_d, &g.qoffset_x, &g.qoffset_y,
                            &g.qoffset_z, &dx, &dy, &dzz, &g.qfac);
  }

  // The pixels, in sorted order.
  const std::size_t plane = static_cast<std::size_t>(w) * h;
  v.voxels.resize(g.voxels());
  for (std::size_t k = 0; k < slices.size(); ++k)
    std::copy(slices[k].values.begin(), slices[k].values.end(), v.voxels.begin() + static_cast<std::ptrdiff_t>(k * plane));
  return v;
}

}  // namespace cryptounet::data
