// 2-D slices of a volume along an anatomical axis, oriented as the training scripts oriented
// them (train/prepare_brain.py: the volume turned to the closest RAS+ orientation, a slice taken,
// then rotated by 90° so the head is upright), and the way back: a plane written into a volume
// of the input's grid at the voxels it came from.
#pragma once

#include "cryptounet/data/volume.h"

#include <array>
#include <string>
#include <vector>

namespace cryptounet::data {

enum class SliceAxis { sagittal = 0, coronal = 1, axial = 2 };

/// "axial" | "coronal" | "sagittal". @throws InvalidArgument naming the choices.
[[nodiscard]] SliceAxis parse_slice_axis(const std::string& name);
[[nodiscard]] const char* slice_axis_name(SliceAxis axis);

/// Which voxel axis runs along each RAS+ axis, and in which direction (closest to the best
/// affine; ties and oblique scans resolved as libnifti's orientation search does).
struct Orientation {
  std::array<int, 3> voxel_axis{0, 1, 2};  // RAS axis a runs along voxel axis voxel_axis[a]
  std::array<bool, 3> reversed{false, false, false};  // ... from the high index down
  /// e.g. "RAS", "LPI": the direction each voxel axis (i, j, k) points to.
  [[nodiscard]] std::string code() const;
};
[[nodiscard]] Orientation volume_orientation(const VolumeGeometry& geometry);

/// The slices of a grid along one anatomical axis. Slice s is the s-th plane along the axis in
/// RAS+ order (from right, from posterior, from inferior); in a slice, row 0 is the top
/// (superior, or anterior for axial) and column 0 the left of the rotated RAS plane.
class SliceView {
 public:
  SliceView(const VolumeGeometry& geometry, SliceAxis axis);
  [[nodiscard]] int count() const { return count_; }
  [[nodiscard]] int width() const { return width_; }
  [[nodiscard]] int height() const { return height_; }
  /// Index into Volume::voxels of pixel (row, col) of slice s.
  [[nodiscard]] std::size_t voxel_index(int s, int row, int col) const;

  /// The plane's values, row-major (height × width).
  [[nodiscard]] std::vector<float> extract(const std::vector<float>& voxels, int s) const;
  /// Writes a row-major plane into `voxels` (a grid of this view's geometry) at slice s.
  void insert(std::vector<float>& voxels, int s, const std::vector<float>& plane) const;

 private:
  std::array<int, 3> dim_{};
  Orientation orient_;
  int axis_ = 2, u_ = 0, v_ = 1;  // RAS axes: slice, columns, rows (rows run from high v down)
  int count_ = 0, width_ = 0, height_ = 0;
};

}  // namespace cryptounet::data
