// Volumes: a 3-D grid of scalar voxels and the geometry that places it in the patient (the NIfTI
// sform/qform, or a DICOM series' position and orientation turned into the same affine), read
// from a NIfTI file or a DICOM series folder and written as NIfTI, so that a mask written with
// the input's geometry overlays the input in any viewer.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace cryptounet::data {

using Affine = std::array<std::array<double, 4>, 4>;

/// Where the voxels are: NIfTI's two transforms as stored (a reader that prefers one finds it
/// unchanged in the output) and the voxel size.
struct VolumeGeometry {
  std::array<int, 3> dim{0, 0, 0};               // voxels along i, j, k
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // voxel size (pixdim[1..3])
  int xyz_units = 2;                             // NIFTI_UNITS_MM
  int sform_code = 0;                            // 0: sform unset
  Affine sform{};                                // voxel (i, j, k, 1) -> RAS+ mm
  int qform_code = 0;                            // 0: qform unset
  double quatern_b = 0, quatern_c = 0, quatern_d = 0;
  double qoffset_x = 0, qoffset_y = 0, qoffset_z = 0;
  double qfac = 1;

  [[nodiscard]] std::size_t voxels() const {
    return static_cast<std::size_t>(dim[0]) * dim[1] * dim[2];
  }
  /// The transform a viewer uses: sform if set, else qform if set, else the voxel size with x
  /// flipped (as nibabel and the NIfTI standard's method 1 for files without either).
  [[nodiscard]] Affine best_affine() const;
};

struct Volume {
  VolumeGeometry geometry;
  std::vector<float> voxels;  // i fastest, then j, then k; stored value × slope + intercept
  [[nodiscard]] float at(int i, int j, int k) const {
    return voxels[(static_cast<std::size_t>(k) * geometry.dim[1] + j) * geometry.dim[0] + i];
  }
};

/// Largest volume read or written (voxels), about 2 GiB of floats: bounds memory on hostile input.
inline constexpr std::size_t kMaxVolumeVoxels = std::size_t{1} << 29;

/// The first 3-D volume of a NIfTI-1/-2 file (.nii, .nii.gz; a 4-D file's first time point).
/// @throws IoError (cannot open), FormatError (not NIfTI, bad dimensions, unsupported datatype,
/// too large).
[[nodiscard]] Volume read_nifti_volume(const std::string& path);

/// A DICOM series folder: every file gdcm reads as a single-frame grey image with one size and
/// one orientation, sorted along the slice normal; the affine from ImagePositionPatient,
/// ImageOrientationPatient and PixelSpacing (LPS turned into NIfTI's RAS+). Files that are not
/// DICOM images are skipped; the folder must hold at least one.
/// @throws IoError (not a folder), FormatError (no images, mixed sizes or orientations, two
/// slices at one position, too large).
[[nodiscard]] Volume read_dicom_series(const std::string& folder);

/// A folder: read_dicom_series; a file: read_nifti_volume.
[[nodiscard]] Volume read_volume(const std::string& path);

enum class VoxelType { uint8, float32 };

/// Writes a NIfTI-1 file (.nii or .nii.gz, by the name) with `geometry`'s transforms and voxel
/// size and `voxels` (i fastest) as uint8 (values rounded and clamped to 0..255) or float32;
/// `description` goes into the header's descrip field (cut to 79 characters). Atomic: the file
/// appears complete or not at all.
/// @throws InvalidArgument (size mismatch, a name without .nii/.nii.gz), IoError (cannot write).
void write_nifti(const std::string& path, const VolumeGeometry& geometry,
                 const std::vector<float>& voxels, VoxelType type,
                 const std::string& description = "");

}  // namespace cryptounet::data
