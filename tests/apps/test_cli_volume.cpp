// `cryptounet segment-volume` and `evaluate --volume` end to end on a tiny synthetic NIfTI
// volume (14x12x5, LAS, anisotropic voxels, one empty slice) with the 16x16 random_ops fixture at
// INSECURE N=2^11 (seconds): the output keeps the input's geometry (read back through libnifti2),
// the encrypted mask agrees with the plaintext one, an abrupt exit (as kill -9) after some slices
// resumes from the checkpoint without recomputing them and gives the identical result, and a
// checkpoint of another run or bad input is refused with a clear message.
#include <gtest/gtest.h>

#include "cryptounet/data/volume.h"
#include "apps/cli_runner.h"
#include "apps/phantom_volume.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace cryptounet;
using cryptounet::cli_test::run_cli;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

class CliVolume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = cli_test::fresh_test_dir("cu_cli_volume");
    model_ = (fs::path(CU_SOURCE_DIR) / "tests" / "fixtures" / "random_ops.onnx").string();
    geom_ = cli_test::phantom_geometry();  // LAS, 0.8 x 1.2 x 2 mm; a qform besides the sform:
    geom_.qform_code = 1;
    geom_.qfac = 1;
    geom_.quatern_b = 0, geom_.quatern_c = 0, geom_.quatern_d = 1;  // 180° about z
    geom_.qoffset_x = 5, geom_.qoffset_y = -7, geom_.qoffset_z = 3;
    const std::vector<float> v = cli_test::phantom_voxels();
    data::write_nifti(path("in.nii.gz"), geom_, v, data::VoxelType::float32);
    std::vector<float> gt(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) gt[i] = v[i] > 55 ? 1.0f : 0.0f;
    data::write_nifti(path("gt.nii"), geom_, gt, data::VoxelType::uint8);
  }
  void TearDown() override { fs::remove_all(dir_); }
  [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }
  [[nodiscard]] std::string seg(const std::string& out, const std::string& extra) const {
    return "segment-volume --model " + model_ + " " + path("in.nii.gz") + " -o " + path(out) + " " + extra;
  }
  static nlohmann::json json_of(const std::string& output) {
    const auto at = output.find("\n{");
    return nlohmann::json::parse(output.substr(at == std::string::npos ? 0 : at + 1));
  }

  fs::path dir_;
  std::string model_;
  data::VolumeGeometry geom_;
};

TEST_F(CliVolume, EncryptedMaskHasTheInputGeometryAndMatchesPlaintext) {
  auto r = run_cli(seg("enc.nii.gz", "--insecure-test-params 11 --threads 2 --json --probabilities " +
                                         path("prob.nii")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("INSECURE"), std::string::npos);
  EXPECT_NE(r.output.find("ETA"), std::string::npos) << "progress with an ETA on stderr";
  const nlohmann::json j = json_of(r.output);
  EXPECT_EQ(j["slices"], 5);
  EXPECT_EQ(j["empty"], 1);
  EXPECT_EQ(j["computed"], 4);
  EXPECT_EQ(j["orientation"], "LAS");
  EXPECT_FALSE(fs::exists(path("enc.nii.gz.partial"))) << "checkpoint removed after a complete run";

  const data::Volume enc = data::read_nifti_volume(path("enc.nii.gz"));
  EXPECT_EQ(enc.geometry.dim, geom_.dim);
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(enc.geometry.spacing[d], geom_.spacing[d], 1e-6);
  EXPECT_EQ(enc.geometry.sform_code, 1);
  EXPECT_EQ(enc.geometry.qform_code, 1);
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) EXPECT_NEAR(enc.geometry.sform[a][b], geom_.sform[a][b], 1e-6);
  EXPECT_NEAR(enc.geometry.quatern_d, 1.0, 1e-6);
  std::size_t fg = 0;
  for (float v : enc.voxels) {
    ASSERT_TRUE(v == 0.0f || v == 1.0f);
    fg += v != 0;
  }
  EXPECT_GT(fg, 0u);
  EXPECT_EQ(fg, j["foreground_voxels"].get<std::size_t>());
  for (int i = 0; i < 14 * 12; ++i) EXPECT_EQ(enc.voxels[i], 0.0f) << "the empty slice stays background";

  const data::Volume prob = data::read_nifti_volume(path("prob.nii"));
  ASSERT_EQ(prob.voxels.size(), enc.voxels.size());
  for (float p : prob.voxels) ASSERT_TRUE(p >= 0.0f && p <= 1.0f);

  r = run_cli(seg("plain.nii", "--plaintext --quiet"));
  ASSERT_EQ(r.status, 0) << r.output;
  const data::Volume plain = data::read_nifti_volume(path("plain.nii"));
  std::size_t same = 0;
  for (std::size_t i = 0; i < plain.voxels.size(); ++i) same += plain.voxels[i] == enc.voxels[i];
  // The encrypted logits differ from float64 by ~1e-3 here; a voxel flips only at a logit within that of 0.
  EXPECT_GE(static_cast<double>(same) / static_cast<double>(plain.voxels.size()), 0.99);
}

TEST_F(CliVolume, ThroughputLayoutBatchesSlicesWhenPredictedFaster) {
  // At N=2^11 a 16x16 plane leaves 4 rows: 4 slices per encrypted run.
  auto r = run_cli(seg("auto.nii", "--insecure-test-params 11 --threads 2 --json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("predicted cost per slice"), std::string::npos) << r.output;
  const nlohmann::json j = json_of(r.output);
  EXPECT_EQ(j["ckks"]["mode"], "throughput") << "the planner predicts batching cheaper per slice here";
  EXPECT_EQ(j["ckks"]["batch"], 4);
  r = run_cli(seg("lat.nii", "--insecure-test-params 11 --threads 2 --json --mode latency"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json_of(r.output)["ckks"]["batch"], 1);
  r = run_cli(seg("plain.nii", "--plaintext --quiet"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = data::read_nifti_volume(path("auto.nii")).voxels, l = data::read_nifti_volume(path("lat.nii")).voxels,
             p = data::read_nifti_volume(path("plain.nii")).voxels;
  std::size_t same_a = 0, same_l = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    same_a += a[i] == p[i];
    same_l += l[i] == p[i];
  }
  EXPECT_GE(static_cast<double>(same_a) / static_cast<double>(p.size()), 0.99);
  EXPECT_GE(static_cast<double>(same_l) / static_cast<double>(p.size()), 0.99);
}

// --concurrent-slices 2 runs two slices at once, one thread each (latency layout: 4 batches of one
// slice); the mask and probabilities are those of one slice at a time on both threads (the default),
// up to CKKS noise.
TEST_F(CliVolume, ConcurrentSlicesGiveWhatOneAtATimeGives) {
  auto r = run_cli(seg("two.nii", "--insecure-test-params 11 --threads 2 --mode latency --concurrent-slices 2 --json "
                                  "--probabilities " + path("two_p.nii")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("2 batches at a time, one thread each"));
  EXPECT_EQ(json_of(r.output)["ckks"]["concurrent_batches"], 2);
  EXPECT_EQ(json_of(r.output)["computed"], 4);
  r = run_cli(seg("one.nii", "--insecure-test-params 11 --threads 2 --mode latency --json --probabilities " +
                             path("one_p.nii")));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json_of(r.output)["ckks"]["concurrent_batches"], 1);
  const auto two = data::read_nifti_volume(path("two.nii")).voxels, one = data::read_nifti_volume(path("one.nii")).voxels;
  const auto two_p = data::read_nifti_volume(path("two_p.nii")).voxels;
  const auto one_p = data::read_nifti_volume(path("one_p.nii")).voxels;
  ASSERT_EQ(two.size(), one.size());
  std::size_t same = 0;
  double worst = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    same += two[i] == one[i];
    worst = std::max(worst, static_cast<double>(std::abs(two_p[i] - one_p[i])));
  }
  EXPECT_GE(static_cast<double>(same) / static_cast<double>(one.size()), 0.99);
  EXPECT_LT(worst, 0.05) << "probabilities of the same slices, two encryptions apart";
  // One slice: one batch, so all threads go to it.
  r = run_cli(seg("single.nii", "--insecure-test-params 11 --threads 2 --mode latency --concurrent-slices 2 "
                                "--slices 2:2 --json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json_of(r.output)["ckks"]["concurrent_batches"], 1);
}

TEST_F(CliVolume, AbruptExitResumesFromTheCheckpointWithTheSameResult) {
  auto r = run_cli(seg("ref.nii.gz", "--plaintext --quiet"));
  ASSERT_EQ(r.status, 0) << r.output;

  setenv("CU_TEST_VOLUME_ABORT_AFTER", "2", 1);
  r = run_cli(seg("out.nii.gz", "--plaintext"));
  unsetenv("CU_TEST_VOLUME_ABORT_AFTER");
  EXPECT_EQ(r.status, 137) << r.output;
  EXPECT_FALSE(fs::exists(path("out.nii.gz")));
  int stored = 0;
  for (const auto& e : fs::directory_iterator(path("out.nii.gz.partial")))
    stored += e.path().filename().string().rfind("slice-", 0) == 0;
  EXPECT_EQ(stored, 2);

  r = run_cli(seg("out.nii.gz", "--plaintext --json"));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = json_of(r.output);
  EXPECT_EQ(j["resumed"], 2);
  EXPECT_EQ(j["computed"], 2);
  EXPECT_EQ(data::read_nifti_volume(path("out.nii.gz")).voxels, data::read_nifti_volume(path("ref.nii.gz")).voxels);

  // Encrypted: interrupted after one slice; a plaintext run may not resume from it, an encrypted one does.
  setenv("CU_TEST_VOLUME_ABORT_AFTER", "1", 1);
  r = run_cli(seg("enc.nii", "--insecure-test-params 11 --threads 2 --quiet"));
  unsetenv("CU_TEST_VOLUME_ABORT_AFTER");
  EXPECT_EQ(r.status, 137) << r.output;
  r = run_cli(seg("enc.nii", "--plaintext --quiet"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("belongs to another run"), std::string::npos) << r.output;
  r = run_cli(seg("enc.nii", "--insecure-test-params 11 --threads 2 --quiet --json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json_of(r.output)["resumed"], 1);
  EXPECT_EQ(json_of(r.output)["computed"], 3);
}

TEST_F(CliVolume, EvaluateReportsVolumeDicePlainAndEncrypted) {
  const auto r = run_cli("evaluate --model " + model_ + " --volume " + path("in.nii.gz") + " --mask " +
                         path("gt.nii") + " --insecure-test-params 11 --threads 2 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = json_of(r.output);
  const double pd = j["plaintext"]["dice"], ed = j["encrypted"]["dice"];
  EXPECT_GT(pd, 0.0);
  EXPECT_LE(pd, 1.0);
  EXPECT_NEAR(ed, pd, 0.02);
  EXPECT_GE(j["voxel_agreement"].get<double>(), 0.99);
  EXPECT_EQ(j["slices"], 5);
}

TEST_F(CliVolume, BadInputIsRefusedClearly) {
  auto r = run_cli(seg("o.nii", "--plaintext --slices 3:9"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("out of range"), std::string::npos) << r.output;
  r = run_cli(seg("o.png", "--plaintext --quiet"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(".nii"), std::string::npos) << r.output;
  r = run_cli("segment-volume --model " + model_ + " " + path("missing.nii") + " -o " + path("o.nii"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no such file"), std::string::npos) << r.output;
  // A checkpoint folder from another input is not silently reused.
  fs::create_directories(path("o.nii.partial"));
  r = run_cli(seg("o.nii", "--plaintext --quiet"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("delete it"), std::string::npos) << r.output;
  r = run_cli("evaluate --model " + model_ + " --volume " + path("in.nii.gz") + " --mask " +
              (fs::path(CU_SOURCE_DIR) / "tests" / "fixtures").string() + " --plain");
  EXPECT_NE(r.status, 0);
}

}  // namespace
