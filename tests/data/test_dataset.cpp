// The dataset folder format: reading, checks with clear errors, and the synthetic generator.
#include "cryptounet/common/error.h"
#include "cryptounet/data/dataset.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/synth_nuclei.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace cryptounet::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Each test makes the folder itself (one checks what a missing folder gives).
    dir_ = test_support::fresh_test_dir("cu_ds");
    fs::remove(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  template <class E>
  void expect_error(const std::string& part) {
    try {
      const Dataset ds = read_dataset(dir_.string());
      for (const auto& item : ds.items) (void)load_sample(ds, item);
      FAIL() << "expected an error containing '" << part << "'";
    } catch (const E& e) {
      EXPECT_THAT(e.what(), HasSubstr(part));
    }
  }
  fs::path dir_;
};

TEST_F(DatasetTest, SynthWritesReadableDatasetWithSplits) {
  const Dataset written = write_synth_dataset(dir_.string(), 20, {.size = 32, .seed = 7});
  const Dataset ds = read_dataset(dir_.string());
  EXPECT_EQ(ds.name, "nuclei-32");
  EXPECT_EQ(ds.size, 32);
  ASSERT_EQ(ds.items.size(), 20u);
  EXPECT_EQ(ds.split("train").size(), 14u);
  EXPECT_EQ(ds.split("val").size(), 3u);
  EXPECT_EQ(ds.split("test").size(), 3u);
  EXPECT_EQ(ds.split("all").size(), 20u);
  EXPECT_THROW((void)ds.split("dev"), InvalidArgument);
  const Sample s = load_sample(ds, ds.items[0]);
  EXPECT_EQ(s.image.width, 32);
  EXPECT_EQ(s.mask.height, 32);
  // The written bytes equal the generator's values (already 8-bit quantised).
  const Sample direct = synth_nuclei({.size = 32, .seed = 7}, 0);
  EXPECT_EQ(s.image.pixels, direct.image.pixels);
  EXPECT_EQ(s.mask.values, direct.mask.values);
}

TEST_F(DatasetTest, TinyCountsKeepATestImage) {
  const Dataset ds = write_synth_dataset(dir_.string(), 2, {.size = 16, .seed = 1});
  EXPECT_EQ(ds.split("test").size(), 1u);
  EXPECT_THROW((void)write_synth_dataset(dir_.string(), 0, {}), InvalidArgument);
}

TEST_F(DatasetTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const fs::path a = dir_ / "a", b = dir_ / "b", c = dir_ / "c";
  (void)write_synth_dataset(a.string(), 3, {.size = 48, .seed = 42});
  (void)write_synth_dataset(b.string(), 3, {.size = 48, .seed = 42});
  (void)write_synth_dataset(c.string(), 3, {.size = 48, .seed = 43});
  for (const char* f : {"nuclei_0000.png", "nuclei_0002.png"}) {
    EXPECT_EQ(slurp(a / "images" / f), slurp(b / "images" / f));
    EXPECT_EQ(slurp(a / "masks" / f), slurp(b / "masks" / f));
    EXPECT_NE(slurp(a / "images" / f), slurp(c / "images" / f));
  }
  EXPECT_EQ(slurp(a / "manifest.json"), slurp(b / "manifest.json"));
}

TEST_F(DatasetTest, SynthImagesLookLikeNuclei) {
  // Over many images: masks cover a plausible fraction, nuclei are brighter than background,
  // and there is noise (no two neighbouring background pixels all equal).
  double fg_mean = 0, bg_mean = 0, cover = 0;
  const int n = 12;
  for (int i = 0; i < n; ++i) {
    const Sample s = synth_nuclei({.size = 64, .seed = 3}, i);
    double fg = 0, bg = 0;
    std::size_t nf = 0, nb = 0;
    for (std::size_t p = 0; p < s.mask.values.size(); ++p) {
      if (s.mask.values[p]) fg += s.image.pixels[p], ++nf;
      else bg += s.image.pixels[p], ++nb;
    }
    ASSERT_GT(nf, 0u) << "image " << i << " has no nucleus";
    fg_mean += fg / nf / n;
    bg_mean += bg / nb / n;
    cover += static_cast<double>(nf) / s.mask.values.size() / n;
  }
  EXPECT_GT(fg_mean, bg_mean + 0.2);
  EXPECT_GT(cover, 0.08);
  EXPECT_LT(cover, 0.6);
  EXPECT_THROW((void)synth_nuclei({.size = 8}, 0), InvalidArgument);
}

TEST_F(DatasetTest, MissingManifestOrFolder) {
  expect_error<IoError>("is not a folder");
  fs::create_directories(dir_);
  expect_error<IoError>("manifest.json' is missing");
  std::ofstream(dir_ / "manifest.json") << "{\"items\": [";
  expect_error<FormatError>("not valid JSON");
}

TEST_F(DatasetTest, MissingPair) {
  (void)write_synth_dataset(dir_.string(), 3, {.size = 16, .seed = 1});
  fs::remove(dir_ / "masks" / "nuclei_0001.png");
  expect_error<FormatError>("'nuclei_0001.png' has no mask");
  fs::remove(dir_ / "images" / "nuclei_0001.png");
  expect_error<FormatError>("image 'images/nuclei_0001.png' is missing");
}

TEST_F(DatasetTest, SizeMismatches) {
  (void)write_synth_dataset(dir_.string(), 3, {.size = 16, .seed = 1});
  write_mask_png((dir_ / "masks" / "nuclei_0002.png").string(), Mask(8, 16));
  expect_error<FormatError>("mask of 'nuclei_0002.png' is 8x16, its image is 16x16");
  write_mask_png((dir_ / "masks" / "nuclei_0002.png").string(), Mask(20, 20));
  write_image_png((dir_ / "images" / "nuclei_0002.png").string(), Image(20, 20));
  expect_error<FormatError>("image 'nuclei_0002.png' is 20x20, the manifest says 16x16");
}

TEST_F(DatasetTest, UnreadableFileAndUnknownSplit) {
  (void)write_synth_dataset(dir_.string(), 3, {.size = 16, .seed = 1});
  std::ofstream(dir_ / "images" / "nuclei_0000.png") << "garbage";
  expect_error<FormatError>("nuclei_0000.png");
  std::ofstream(dir_ / "manifest.json")
      << R"({"name": "x", "items": [{"file": "nuclei_0001.png", "split": "training"}]})";
  expect_error<FormatError>("unknown split 'training'");
  std::ofstream(dir_ / "manifest.json") << R"({"name": "x", "items": [{"file": "a.png"}]})";
  expect_error<FormatError>("\"file\" and \"split\"");
  std::ofstream(dir_ / "manifest.json")
      << R"({"items": [{"file": "../x.png", "split": "test"}]})";
  expect_error<FormatError>("plain file name");
}

}  // namespace
}  // namespace cryptounet::data
