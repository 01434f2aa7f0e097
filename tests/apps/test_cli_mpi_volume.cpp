// `mpirun --oversubscribe -np R cryptounet segment-volume` (the MPI volume mode) on localhost, on a
// tiny synthetic NIfTI volume (14x12x5, one empty slice) with the 16x16 random_ops fixture at
// INSECURE N=2^11: the mask and probability files of 2 and 3 ranks are byte-for-byte those of the
// one-process run, plaintext and encrypted (latency layout: one slice per batch, shared out; the
// throughput layout: one batch of four); a run killed abruptly resumes from its checkpoint without
// recomputing the finished slices and gives the same bytes; a rank that dies ends the run naming
// it. Encrypted runs draw fresh keys and noise, so to compare them bit for bit every process of
// such a run preloads tests/distributed_probe/det_rand_shim.cpp (a fixed stand-in for OpenSSL's
// RAND_bytes; rank 0 draws in the one-process order). Skipped, saying so, without MPI in the build.
#include "apps/phantom_volume.h"
#include "distributed/mpi_run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cryptounet/data/volume.h"

#include <nlohmann/json.hpp>

namespace cryptounet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

nlohmann::json json_of(const std::string& output) {
  // From the "{" that starts a line to the "}" that starts a line: rank 0's progress lines on stderr
  // may land after the JSON in the captured output.
  const auto at = output.find("\n{");
  const std::size_t b = at == std::string::npos ? 0 : at + 1;
  const auto e = output.find("\n}", b);
  return nlohmann::json::parse(output.substr(b, e == std::string::npos ? std::string::npos : e + 2 - b), nullptr, false);
}

// Environment of every process of a run that must draw the same randomness as another.
const std::string kFixedRandom = std::string("LD_PRELOAD=") + CU_DET_RAND + " ASAN_OPTIONS=verify_asan_link_order=0";
const std::string kFixedRandomMpi =
    std::string("-x LD_PRELOAD=") + CU_DET_RAND + " -x ASAN_OPTIONS=verify_asan_link_order=0 ";

class CliMpiVolume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!mpi_test::available()) return;
    dir_ = fs::temp_directory_path() / ("cu_mpi_volume_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    model_ = (fs::path(CU_SOURCE_DIR) / "tests" / "fixtures" / "random_ops.onnx").string();
    const data::VolumeGeometry g = cli_test::phantom_geometry();
    const std::vector<float> v = cli_test::phantom_voxels();
    data::write_nifti(p("in.nii.gz"), g, v, data::VoxelType::float32);
    // The one-process references.
    auto r = mpi_test::run_shell(std::string(CU_CLI) + " " + seg("plain", "--plaintext --quiet"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = mpi_test::run_shell(kFixedRandom + " " + CU_CLI + " " + seg("lat", kLatency));
    ASSERT_EQ(r.status, 0) << r.output;
    r = mpi_test::run_shell(kFixedRandom + " " + CU_CLI + " " + seg("thr", kThroughput));
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_EQ(json_of(r.output)["ckks"]["batch"], 4) << "four slices in one throughput batch at N=2^11";
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (!mpi_test::available()) GTEST_SKIP() << mpi_test::skip_reason();
  }

  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  // segment-volume of the test volume into NAME.nii (+ NAME.prob.nii), JSON on stdout.
  static std::string seg(const std::string& name, const std::string& extra) {
    return "segment-volume --model " + model_ + " " + p("in.nii.gz") + " -o " + p(name + ".nii") +
           " --probabilities " + p(name + ".prob.nii") + " --json " + extra;
  }
  static std::string cli_mpi(const std::string& name, const std::string& extra) {
    return std::string(CU_CLI) + " " + seg(name, extra);
  }
  // Both output files byte for byte.
  static void expect_same_files(const std::string& a, const std::string& b) {
    for (const std::string ext : {".nii", ".prob.nii"}) {
      const std::string x = mpi_test::file_bytes(p(a + ext)), y = mpi_test::file_bytes(p(b + ext));
      EXPECT_FALSE(x.empty()) << a + ext;
      EXPECT_TRUE(x == y) << a + ext << " differs from " << b + ext;
    }
  }
  static int ranks_with_batches(const nlohmann::json& j) {
    int n = 0;
    for (const auto& c : j["mpi"]["batches_per_rank"]) n += c.get<int>() > 0;
    return n;
  }

  static constexpr const char* kLatency = "--insecure-test-params 11 --threads 1 --mode latency";
  static constexpr const char* kThroughput = "--insecure-test-params 11 --threads 1 --mode throughput";
  static fs::path dir_;
  static std::string model_;
};

fs::path CliMpiVolume::dir_;
std::string CliMpiVolume::model_;

TEST_F(CliMpiVolume, PlaintextTwoAndThreeRanksAreTheOneProcessBytes) {
  for (int np : {2, 3}) {
    const std::string name = "plain" + std::to_string(np);
    const auto r = mpi_test::mpirun(np, cli_mpi(name, "--plaintext --quiet"));
    ASSERT_EQ(r.status, 0) << r.output;
    const nlohmann::json j = json_of(r.output);
    ASSERT_FALSE(j.is_discarded()) << r.output;
    EXPECT_EQ(j["computed"], 4);
    EXPECT_EQ(j["empty"], 1);
    EXPECT_EQ(j["mpi"]["ranks"], np);
    EXPECT_EQ(j["mpi"]["batches"], 4);
    int total = 0;
    for (const auto& c : j["mpi"]["batches_per_rank"]) total += c.get<int>();
    EXPECT_EQ(total, 4);
    expect_same_files(name, "plain");
    EXPECT_FALSE(fs::exists(p(name + ".nii.partial"))) << "checkpoint removed after a complete run";
  }
}

TEST_F(CliMpiVolume, EncryptedTwoAndThreeRanksAreTheOneProcessBytes) {
  // The comparison means something only if one process repeats itself under the fixed randomness.
  auto r = mpi_test::run_shell(kFixedRandom + " " + CU_CLI + " " + seg("lat_again", kLatency));
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_files("lat_again", "lat");
  for (int np : {2, 3}) {
    const std::string name = "lat" + std::to_string(np);
    r = mpi_test::mpirun(np, kFixedRandomMpi + cli_mpi(name, kLatency));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("INSECURE"));
    const nlohmann::json j = json_of(r.output);
    ASSERT_FALSE(j.is_discarded()) << r.output;
    EXPECT_EQ(j["computed"], 4);
    EXPECT_EQ(j["ckks"]["batch"], 1);
    EXPECT_EQ(j["mpi"]["batches"], 4);
    EXPECT_GE(ranks_with_batches(j), 2) << "rank 0 computes one batch at a time; another rank takes the next: "
                                        << j["mpi"].dump();
    EXPECT_GT(j["mpi"]["bytes_sent"].get<double>(), 0.0) << "ciphertexts went to the other ranks";
    expect_same_files(name, "lat");
  }
  // The throughput layout: the four slices in one encrypted batch, on whichever rank takes it.
  r = mpi_test::mpirun(2, kFixedRandomMpi + cli_mpi("thr2", kThroughput));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(json_of(r.output)["mpi"]["batches"], 1);
  expect_same_files("thr2", "thr");
}

TEST_F(CliMpiVolume, RunKilledAbruptlyResumesFromItsCheckpoint) {
  // Rank 0 ends abruptly (as with kill -9) after storing 2 slices; the launcher stops the others.
  auto r = mpi_test::mpirun(2, "-x CU_TEST_VOLUME_ABORT_AFTER=2 " + cli_mpi("res", "--plaintext"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out (hang): " << r.output;
  EXPECT_FALSE(fs::exists(p("res.nii")));
  int stored = 0;
  for (const auto& e : fs::directory_iterator(p("res.nii.partial")))
    stored += e.path().filename().string().rfind("slice-", 0) == 0;
  EXPECT_EQ(stored, 2);
  r = mpi_test::mpirun(3, cli_mpi("res", "--plaintext --quiet"));
  ASSERT_EQ(r.status, 0) << r.output;
  nlohmann::json j = json_of(r.output);
  EXPECT_EQ(j["resumed"], 2);
  EXPECT_EQ(j["computed"], 2) << "finished slices are not recomputed";
  EXPECT_EQ(j["mpi"]["batches"], 2);
  expect_same_files("res", "plain");

  // Encrypted: killed after one slice, resumed by another MPI run with the remaining three.
  r = mpi_test::mpirun(2, "-x CU_TEST_VOLUME_ABORT_AFTER=1 " + cli_mpi("eres", kLatency));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out (hang): " << r.output;
  r = mpi_test::mpirun(2, cli_mpi("eres", kLatency));
  ASSERT_EQ(r.status, 0) << r.output;
  j = json_of(r.output);
  EXPECT_EQ(j["resumed"], 1);
  EXPECT_EQ(j["computed"], 3);
  EXPECT_EQ(j["mpi"]["batches"], 3);
}

TEST_F(CliMpiVolume, RankThatDiesEndsTheRunNamingRankAndHost) {
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = mpi_test::mpirun(2, "-x CU_TEST_VOLUME_KILL_RANK=1 " + cli_mpi("dies", kLatency));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out (hang): " << r.output;
  EXPECT_THAT(r.output, HasSubstr("rank 1"));
  EXPECT_THAT(r.output, HasSubstr(host));
  EXPECT_THAT(r.output, HasSubstr("signal 9"));
  EXPECT_FALSE(fs::exists(p("dies.nii")));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

}  // namespace
}  // namespace cryptounet
