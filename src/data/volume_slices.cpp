#include "cryptounet/data/volume_slices.h"

#include "cryptounet/common/error.h"

#include <nifti2_io.h>

namespace cryptounet::data {

SliceAxis parse_slice_axis(const std::string& name) {
  if (name == "axial") return SliceAxis::axial;
  if (name == "coronal") return SliceAxis::coronal;
  if (name == "sagittal") return SliceAxis::sagittal;
  throw InvalidArgument("slice axis '" + name + "': expected axial, coronal or sagittal");
}

const char* slice_axis_name(SliceAxis axis) {
  switch (axis) {
    case SliceAxis::sagittal: return "sagittal";
    case SliceAxis::coronal: return "coronal";
    case SliceAxis::axial: return "axial";
  }
  return "?";
}

std::string Orientation::code() const {
  static const char pos[3] = {'R', 'A', 'S'}, neg[3] = {'L', 'P', 'I'};
  std::string out(3, '?');
  for (int a = 0; a < 3; ++a) out[voxel_axis[a]] = reversed[a] ? neg[a] : pos[a];
  return out;
}

Orientation volume_orientation(const VolumeGeometry& geometry) {
  const Affine a = geometry.best_affine();
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = a[r][c];
  int cod[3] = {0, 0, 0};
  nifti_dmat44_to_orientation(m, &cod[0], &cod[1], &cod[2]);
  Orientation o;
  bool seen[3] = {false, false, false};
  for (int d = 0; d < 3; ++d) {
    if (cod[d] < NIFTI_L2R || cod[d] > NIFTI_S2I)
      throw FormatError("volume orientation: the voxel-to-world transform is degenerate");
    const int ras = (cod[d] - 1) / 2;
    if (seen[ras]) throw FormatError("volume orientation: two voxel axes point along one world axis");
    seen[ras] = true;
    o.voxel_axis[ras] = d;
    o.reversed[ras] = (cod[d] % 2) == 0;  // R2L, A2P, S2I
  }
  return o;
}

SliceView::SliceView(const VolumeGeometry& geometry, SliceAxis axis)
    : dim_(geometry.dim), orient_(volume_orientation(geometry)), axis_(static_cast<int>(axis)) {
  // The plane's RAS axes in increasing order: sagittal (y, z), coronal (x, z), axial (x, y).
  u_ = axis_ == 0 ? 1 : 0;
  v_ = axis_ == 2 ? 1 : 2;
  count_ = dim_[orient_.voxel_axis[axis_]];
  width_ = dim_[orient_.voxel_axis[u_]];
  height_ = dim_[orient_.voxel_axis[v_]];
}

std::size_t SliceView::voxel_index(int s, int row, int col) const {
  // np.rot90 of the RAS plane (u across, v down the array): row r is v = height-1-r, column c is u = c.
  std::array<int, 3> canon{};
  canon[axis_] = s;
  canon[u_] = col;
  canon[v_] = height_ - 1 - row;
  std::array<std::size_t, 3> idx{};
  for (int a = 0; a < 3; ++a) {
    const int d = orient_.voxel_axis[a];
    idx[d] = static_cast<std::size_t>(orient_.reversed[a] ? dim_[d] - 1 - canon[a] : canon[a]);
  }
  return (idx[2] * static_cast<std::size_t>(dim_[1]) + idx[1]) * static_cast<std::size_t>(dim_[0]) + idx[0];
}

std::vector<float> SliceView::extract(const std::vector<float>& voxels, int s) const {
  if (s < 0 || s >= count_)
    throw InvalidArgument("slice " + std::to_string(s) + " out of range (" + std::to_string(count_) + " slices)");
  std::vector<float> plane(static_cast<std::size_t>(width_) * height_);
  for (int r = 0; r < height_; ++r)
    for (int c = 0; c < width_; ++c)
      plane[static_cast<std::size_t>(r) * width_ + c] = voxels.at(voxel_index(s, r, c));
  return plane;
}

void SliceView::insert(std::vector<float>& voxels, int s, const std::vector<float>& plane) const {
  if (s < 0 || s >= count_)
    throw InvalidArgument("slice " + std::to_string(s) + " out of range (" + std::to_string(count_) + " slices)");
  if (plane.size() != static_cast<std::size_t>(width_) * height_)
    throw InvalidArgument("slice plane of " + std::to_string(plane.size()) + " values for " +
                          std::to_string(width_) + "x" + std::to_string(height_));
  for (int r = 0; r < height_; ++r)
    for (int c = 0; c < width_; ++c)
      voxels.at(voxel_index(s, r, c)) = plane[static_cast<std::size_t>(r) * width_ + c];
}

}  // namespace cryptounet::data
