// Hostile DICOM and NIfTI files that fuzz/fuzz_image.cpp and fuzz/fuzz_volume.cpp found to make
// gdcm or libnifti allocate gigabytes or abort on an assertion: each is now a one-line
// FormatError before the library reads it (src/data/dicom_structure.cpp, nifti_volume.cpp), and
// well-formed files still read. Files are written byte by byte (data/image_writers.h).
#include <gtest/gtest.h>

#include "cryptounet/common/error.h"
#include "cryptounet/data/dicom.h"
#include "cryptounet/data/volume.h"
#include "data/image_writers.h"
#include "support/temp_dir.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace cryptounet;
namespace fs = std::filesystem;
namespace ti = cryptounet::test_images;

namespace {

class DicomStructure : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::fresh_test_dir("cu_dicomstruct");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string slice(const std::string& photometric = "MONOCHROME2") {
    std::vector<std::int16_t> px(4 * 3);
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::int16_t>(10 * i);
    return ti::make_dicom(4, 3, 1, px, photometric, "1", "0");
  }
  // The message read_dicom gives for `bytes`, or "" if it reads.
  std::string refusal(const std::string& bytes) {
    const fs::path p = dir_ / "in.dcm";
    ti::write_file(p, bytes);
    try {
      (void)data::read_dicom(p.string(), -1);
    } catch (const FormatError& e) {
      return e.what();
    }
    return "";
  }
  static std::size_t find(const std::string& hay, const std::string& needle) {
    const std::size_t at = hay.find(needle);
    EXPECT_NE(at, std::string::npos) << "the writer's layout changed";
    return at;
  }
  fs::path dir_;
};

}  // namespace

TEST_F(DicomStructure, WellFormedFilesStillRead) {
  EXPECT_EQ(refusal(slice()), "");
  EXPECT_EQ(refusal(slice("MONOCHROME1")), "");
}

TEST_F(DicomStructure, ALengthPastTheEndIsRefusedBeforeGdcmAllocatesIt) {
  // A 3 GB pixel-data length in a file of a few hundred bytes: gdcm would allocate it first.
  std::string f = slice();
  const std::size_t at = find(f, std::string("\xe0\x7f\x10\x00OW", 6)) + 8;
  const std::uint32_t huge = 0xB2B2B2B2u;
  std::memcpy(&f[at], &huge, 4);
  const std::string msg = refusal(f);
  EXPECT_NE(msg.find("not a well-formed DICOM file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("past the end"), std::string::npos) << msg;
}

TEST_F(DicomStructure, GdcmAssertionsBecomeErrors) {
  // Each of these made gdcm abort the process on an assertion.
  std::string msg = refusal(slice("PALETTE COLOR"));
  EXPECT_NE(msg.find("photometric interpretation 'PALETTE COLOR'"), std::string::npos) << msg;

  std::string f = slice();
  const std::size_t spp = find(f, std::string("\x28\x00\x02\x00US\x02\x00", 8)) + 8;
  f[spp] = 2;
  msg = refusal(f);
  EXPECT_NE(msg.find("samples per pixel 2"), std::string::npos) << msg;

  // The file meta group ending the file (gdcm's next tag read fails on an assertion).
  f = slice();
  f.resize(find(f, std::string("\x08\x00\x16\x00UI", 6)));
  msg = refusal(f);
  EXPECT_NE(msg.find("no data set after the file meta group"), std::string::npos) << msg;

  // A file meta group that does not start with its length.
  f = slice();
  f[132 + 2] = 1;  // (0002,0000) -> (0002,0001)
  msg = refusal(f);
  EXPECT_NE(msg.find("does not start with its length"), std::string::npos) << msg;
}

TEST_F(DicomStructure, TruncationsAndMissingPreambleAreOneLineErrors) {
  const std::string f = slice();
  EXPECT_NE(refusal(f.substr(128)).find("no 'DICM'"), std::string::npos);
  for (std::size_t cut : {std::size_t{140}, f.size() / 2, f.size() - 3}) {
    const std::string msg = refusal(f.substr(0, cut));
    EXPECT_NE(msg.find("not a well-formed DICOM file"), std::string::npos) << "cut at " << cut << ": " << msg;
  }
}

TEST_F(DicomStructure, NiftiVolumeDataOverTheDecodeLimitIsRefusedBeforeAllocation) {
  // 1024 x 1024 x 256 float64 voxels (2 GiB) declared by a 352-byte file: within the voxel-count
  // limit, over the bytes libnifti would allocate at once.
  std::string h = ti::make_nifti(1, 1, 1, {0}, 1.0f, 0.0f);
  const std::int16_t dims[3] = {1024, 1024, 256}, dt = 64, bitpix = 64;
  std::memcpy(&h[42], dims, sizeof dims);
  std::memcpy(&h[70], &dt, 2);
  std::memcpy(&h[72], &bitpix, 2);
  const fs::path p = dir_ / "big.nii";
  ti::write_file(p, h);
  try {
    (void)data::read_nifti_volume(p.string());
    FAIL() << "a 2 GiB volume declared by a 352-byte file was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("2048 MiB, more than the 1024 MiB"), std::string::npos) << e.what();
  }
}

TEST_F(DicomStructure, AnAbortInsideGdcmEndsOnlyTheReadingProcess) {
  // A retired Recognition Code (0008,0010) that is not "ACR-NEMA": gdcm aborts on an assertion
  // (found by the 2 s fuzzing pass of `make test`). The read runs in a child process, so the
  // caller gets a FormatError and goes on.
  std::string f = slice();
  f[find(f, std::string("\x08\x00\x18\x00UI", 6)) + 2] = 0x10;
  const std::string msg = refusal(f);
  EXPECT_NE(msg.find("gdcm aborted reading this file"), std::string::npos) << msg;
  EXPECT_EQ(refusal(slice()), "") << "a well-formed file after the aborted one";
}
