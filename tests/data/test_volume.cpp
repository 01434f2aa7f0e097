// Volumes (data/volume.h, data/volume_slices.h): NIfTI write/read round trips keep the voxel size,
// sform and qform exactly; the orientation code and slice mapping follow the training scripts'
// convention (closest RAS+, slice, rot90) for plain, flipped and permuted voxel axes; a DICOM
// series written byte by byte in shuffled file order is sorted along its normal and gets the
// LPS -> RAS affine; bad input is refused with one clear error.
#include <gtest/gtest.h>

#include "cryptounet/common/error.h"
#include "cryptounet/data/volume.h"
#include "cryptounet/data/volume_slices.h"
#include "data/image_writers.h"
#include "support/temp_dir.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace cryptounet;
using namespace cryptounet::data;
namespace fs = std::filesystem;

namespace {

VolumeGeometry geometry(int nx, int ny, int nz, const Affine& a) {
  VolumeGeometry g;
  g.dim = {nx, ny, nz};
  g.spacing = {std::abs(a[0][0]) + std::abs(a[1][0]) + std::abs(a[2][0]),
               std::abs(a[0][1]) + std::abs(a[1][1]) + std::abs(a[2][1]),
               std::abs(a[0][2]) + std::abs(a[1][2]) + std::abs(a[2][2])};
  g.sform_code = 1;
  g.sform = a;
  return g;
}

Affine affine(std::array<std::array<double, 3>, 3> m, std::array<double, 3> t) {
  Affine a{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) a[r][c] = m[r][c];
    a[r][3] = t[r];
  }
  a[3][3] = 1;
  return a;
}

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 251);
  return v;
}

}  // namespace

TEST(NiftiVolume, RoundTripKeepsGeometryAndValues) {
  const test_support::TempDir t("cu-volume");
  VolumeGeometry g = geometry(7, 5, 3, affine({{{-0.9, 0, 0}, {0, 1.1, 0}, {0, 0, 2.5}}}, {12.5, -30.25, 7}));
  g.qform_code = 1;
  g.quatern_b = 0;
  g.quatern_c = 1;  // 180° about y: x and z flip
  g.quatern_d = 0;
  g.qoffset_x = 3, g.qoffset_y = 4, g.qoffset_z = 5;
  g.qfac = -1;
  g.spacing = {0.9, 1.1, 2.5};
  const std::vector<float> vox = ramp(g.voxels());
  for (const char* name : {"m.nii", "m.nii.gz"}) {
    const std::string p = (t.path() / name).string();
    write_nifti(p, g, vox, VoxelType::uint8, "test");
    const Volume v = read_nifti_volume(p);
    EXPECT_EQ(v.geometry.dim, g.dim);
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(v.geometry.spacing[d], g.spacing[d], 1e-6);
    EXPECT_EQ(v.geometry.sform_code, 1);
    EXPECT_EQ(v.geometry.qform_code, 1);
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) EXPECT_NEAR(v.geometry.sform[r][c], g.sform[r][c], 1e-5) << r << "," << c;
    EXPECT_NEAR(v.geometry.quatern_c, 1.0, 1e-6);
    EXPECT_NEAR(v.geometry.qoffset_x, 3.0, 1e-6);
    EXPECT_EQ(v.geometry.qfac, -1.0);
    EXPECT_EQ(v.voxels, vox);  // 0..250 fits uint8 exactly
  }
  // float32 keeps fractions; uint8 rounds and clamps.
  std::vector<float> f(g.voxels(), 0.25f);
  f[0] = -3, f[1] = 300.4f, f[2] = 1.6f;
  write_nifti((t.path() / "f.nii").string(), g, f, VoxelType::float32);
  EXPECT_EQ(read_nifti_volume((t.path() / "f.nii").string()).voxels, f);
  write_nifti((t.path() / "u.nii").string(), g, f, VoxelType::uint8);
  const Volume u = read_nifti_volume((t.path() / "u.nii").string());
  EXPECT_EQ(u.voxels[0], 0.0f);
  EXPECT_EQ(u.voxels[1], 255.0f);
  EXPECT_EQ(u.voxels[2], 2.0f);
  EXPECT_EQ(u.voxels[3], 0.0f);
}

TEST(NiftiVolume, RefusesBadInput) {
  const test_support::TempDir t("cu-volume");
  const VolumeGeometry g = geometry(2, 2, 2, affine({{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}, {0, 0, 0}));
  EXPECT_THROW(write_nifti((t.path() / "x.png").string(), g, std::vector<float>(8), VoxelType::uint8), InvalidArgument);
  EXPECT_THROW(write_nifti((t.path() / "x.nii").string(), g, std::vector<float>(7), VoxelType::uint8), InvalidArgument);
  EXPECT_THROW(write_nifti((t.path() / "no" / "x.nii").string(), g, std::vector<float>(8), VoxelType::uint8), IoError);
  EXPECT_THROW((void)read_nifti_volume((t.path() / "missing.nii").string()), IoError);
  {
    std::ofstream o(t.path() / "junk.nii", std::ios::binary);
    o << std::string(400, 'x');
  }
  EXPECT_THROW((void)read_nifti_volume((t.path() / "junk.nii").string()), FormatError);
  EXPECT_THROW((void)read_volume(t.path().string()), FormatError);  // a folder without DICOM
  EXPECT_THROW((void)parse_slice_axis("transverse"), InvalidArgument);
}

TEST(VolumeSlices, RasVolumeAxialIsRot90OfTheXYPlane) {
  // RAS grid 4 x 3 x 2: axial slice k, row r = y (3-1-r), column c = x.
  const VolumeGeometry g = geometry(4, 3, 2, affine({{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}, {0, 0, 0}));
  EXPECT_EQ(volume_orientation(g).code(), "RAS");
  const SliceView ax(g, SliceAxis::axial);
  EXPECT_EQ(ax.count(), 2);
  EXPECT_EQ(ax.width(), 4);
  EXPECT_EQ(ax.height(), 3);
  std::vector<float> vox(g.voxels());
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 4; ++i) vox[(k * 3 + j) * 4 + i] = static_cast<float>(100 * k + 10 * j + i);
  const std::vector<float> s1 = ax.extract(vox, 1);
  EXPECT_EQ(s1[0], 120.0f);           // row 0 = most anterior (j = 2), column 0 = i 0
  EXPECT_EQ(s1[2 * 4 + 3], 103.0f);   // last row = j 0, last column = i 3
  // Sagittal: slice = x, columns = y, rows = z from the top.
  const SliceView sag(g, SliceAxis::sagittal);
  EXPECT_EQ(sag.count(), 4);
  EXPECT_EQ(sag.width(), 3);
  EXPECT_EQ(sag.height(), 2);
  EXPECT_EQ(sag.extract(vox, 2)[0], 102.0f);  // row 0 = k 1, column 0 = j 0
  // insert is extract's inverse.
  std::vector<float> back(g.voxels(), -1.0f);
  for (int s = 0; s < ax.count(); ++s) ax.insert(back, s, ax.extract(vox, s));
  EXPECT_EQ(back, vox);
}

TEST(VolumeSlices, FlippedAndPermutedAxesGiveTheSameAnatomicalSlices) {
  // One anatomy stored two ways: RAS (i=x, j=y, k=z) and "SLP"-like storage (i = z, j = -x, k = -y).
  const int X = 5, Y = 4, Z = 3;
  const VolumeGeometry ras = geometry(X, Y, Z, affine({{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}, {0, 0, 0}));
  std::vector<float> a(ras.voxels());
  for (int z = 0; z < Z; ++z)
    for (int y = 0; y < Y; ++y)
      for (int x = 0; x < X; ++x) a[(z * Y + y) * X + x] = static_cast<float>(x + 10 * y + 100 * z);
  // i runs along +z (S), j along -x (L), k along -y (P): world = (-(j), -(k), i) + offset.
  const VolumeGeometry odd = geometry(Z, X, Y, affine({{{0, -1, 0}, {0, 0, -1}, {1, 0, 0}}}, {4, 3, 0}));
  EXPECT_EQ(volume_orientation(odd).code(), "SLP");
  std::vector<float> b(odd.voxels());
  for (int k = 0; k < Y; ++k)
    for (int j = 0; j < X; ++j)
      for (int i = 0; i < Z; ++i) {
        const int x = X - 1 - j, y = Y - 1 - k, z = i;
        b[(k * X + j) * Z + i] = static_cast<float>(x + 10 * y + 100 * z);
      }
  for (SliceAxis axis : {SliceAxis::axial, SliceAxis::coronal, SliceAxis::sagittal}) {
    const SliceView va(ras, axis), vb(odd, axis);
    ASSERT_EQ(va.count(), vb.count()) << slice_axis_name(axis);
    ASSERT_EQ(va.width(), vb.width());
    ASSERT_EQ(va.height(), vb.height());
    for (int s = 0; s < va.count(); ++s) EXPECT_EQ(va.extract(a, s), vb.extract(b, s)) << slice_axis_name(axis) << s;
  }
}

namespace {

using test_images::dicom_head;
using test_images::dicom_pixel_data;
using test_images::dicom_signed16_bits;
using test_images::elem;
using test_images::us;

/// One 16-bit MR slice (Explicit VR Little Endian) with position, orientation and spacing.
std::string mr_slice(int w, int h, const std::vector<std::int16_t>& px, const std::string& ipp,
                     const std::string& iop, const std::string& spacing, int instance) {
  std::string f = dicom_head("1.2.840.10008.5.1.4.1.1.4", "1.2.826.0.1.3680043.2.1125.1." + std::to_string(instance),
                             "MR");
  elem(f, 0x0020, 0x0013, "IS", std::to_string(instance));
  elem(f, 0x0020, 0x0032, "DS", ipp);
  elem(f, 0x0020, 0x0037, "DS", iop);
  elem(f, 0x0028, 0x0002, "US", us(1));
  elem(f, 0x0028, 0x0004, "CS", "MONOCHROME2");
  elem(f, 0x0028, 0x0010, "US", us(static_cast<std::uint16_t>(h)));
  elem(f, 0x0028, 0x0011, "US", us(static_cast<std::uint16_t>(w)));
  elem(f, 0x0028, 0x0030, "DS", spacing);
  dicom_signed16_bits(f);
  dicom_pixel_data(f, px);
  return f;
}

}  // namespace

TEST(DicomSeries, SortedAlongTheNormalWithTheLpsToRasAffine) {
  const test_support::TempDir t("cu-volume");
  const int w = 4, h = 3, n = 3;
  // Axial slices at z = 10, 12.5, 15 (LPS), written in the order 15, 10, 12.5 under names that sort otherwise.
  const double zs[n] = {15.0, 10.0, 12.5};
  const char* names[n] = {"a.dcm", "b.dcm", "c.dcm"};
  for (int f = 0; f < n; ++f) {
    std::vector<std::int16_t> px(w * h);
    for (int i = 0; i < w * h; ++i) px[i] = static_cast<std::int16_t>(100 * zs[f] + i);
    std::ofstream o(t.path() / names[f], std::ios::binary);
    const std::string bytes = mr_slice(w, h, px, "-20\\-30\\" + std::to_string(zs[f]), "1\\0\\0\\0\\1\\0",
                                       "0.7\\0.5", f + 1);
    o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  {
    std::ofstream o(t.path() / "notes.txt");
    o << "not a DICOM file";
  }
  const Volume v = read_volume(t.path().string());
  EXPECT_EQ(v.geometry.dim, (std::array<int, 3>{w, h, n}));
  EXPECT_NEAR(v.geometry.spacing[0], 0.5, 1e-9);  // PixelSpacing is row\column: columns 0.5 apart
  EXPECT_NEAR(v.geometry.spacing[1], 0.7, 1e-9);
  EXPECT_NEAR(v.geometry.spacing[2], 2.5, 1e-9);
  for (int k = 0; k < n; ++k) EXPECT_EQ(v.at(1, 2, k), static_cast<float>(100 * (10 + 2.5 * k) + 2 * w + 1)) << k;
  const Affine a = v.geometry.best_affine();
  // LPS (-20, -30, 10) is RAS (20, 30, 10); +i runs along L (RAS -x), +j along P (RAS -y).
  EXPECT_NEAR(a[0][3], 20.0, 1e-9);
  EXPECT_NEAR(a[1][3], 30.0, 1e-9);
  EXPECT_NEAR(a[2][3], 10.0, 1e-9);
  EXPECT_NEAR(a[0][0], -0.5, 1e-9);
  EXPECT_NEAR(a[1][1], -0.7, 1e-9);
  EXPECT_NEAR(a[2][2], 2.5, 1e-9);
  EXPECT_EQ(volume_orientation(v.geometry).code(), "LPS");

  // Written as NIfTI and read back: the same affine.
  write_nifti((t.path() / "v.nii.gz").string(), v.geometry, v.voxels, VoxelType::float32);
  const Volume r = read_nifti_volume((t.path() / "v.nii.gz").string());
  const Affine b = r.geometry.best_affine();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(a[i][j], b[i][j], 1e-5);

  // One DICOM file instead of its folder: refused with a hint.
  try {
    (void)read_volume((t.path() / "a.dcm").string());
    ADD_FAILURE() << "a single DICOM file is not a volume";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("pass the folder"), std::string::npos) << e.what();
  }

  // Two slices at one position: refused.
  fs::copy_file(t.path() / "a.dcm", t.path() / "d.dcm");
  EXPECT_THROW((void)read_volume(t.path().string()), FormatError);
}
