// The batch form of `cryptounet infer` (several inputs, -o a folder) in one process and under real
// `mpirun --oversubscribe -np 2` and `-np 3` on localhost, at small INSECURE N on the committed
// 16x16 fixture: every output file is byte-for-byte the single-process one (CKKS evaluation is
// deterministic given the inputs), every rank takes inputs, and a bad input in the batch ends the
// run with a message naming the file instead of hanging. The mpirun cases skip, saying so, in a
// build without MPI.
#include "apps/cli_runner.h"
#include "distributed/mpi_run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <string>

#include "cryptounet/data/png.h"

namespace cryptounet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class CliMpi : public ::testing::Test {
 protected:
  static constexpr int kInputs = 5;

  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("cu_mpi_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    model_ = (fs::path(CU_SOURCE_DIR) / "tests" / "fixtures" / "random_ops.onnx").string();
    auto r = cli_test::run_cli("plan --model " + model_ + " --insecure-test-params 11 -o " + p("p.cup"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = cli_test::run_cli("keygen --plan " + p("p.cup") + " --out " + p("keys") + " --threads 1 --insecure-test-params");
    ASSERT_EQ(r.status, 0) << r.output;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int i = 0; i < kInputs; ++i) {
      data::Image img(16, 16);
      for (double& v : img.pixels) v = u(rng);
      const std::string png = p("img" + std::to_string(i) + ".png");
      data::write_image_png(png, img);
      r = cli_test::run_cli("encrypt --insecure-test-params --plan " + p("p.cup") + " --keys " + p("keys") + " " + png + " -o " +
                            p("in" + std::to_string(i) + ".ct"));
      ASSERT_EQ(r.status, 0) << r.output;
    }
    // The single-process reference run of the whole batch.
    r = cli_test::run_cli(infer_args() + inputs() + " -o " + p("single") + " --threads 1");
    ASSERT_EQ(r.status, 0) << r.output;
    single_output_ = r.output;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static std::string infer_args() {
    return "infer --model " + model_ + " --plan " + p("p.cup") + " --eval-keys " + p("keys") + "/eval.keys ";
  }
  static std::string inputs() {
    std::string s;
    for (int i = 0; i < kInputs; ++i) s += p("in" + std::to_string(i) + ".ct") + " ";
    return s;
  }

  static fs::path dir_;
  static std::string model_, single_output_;
};

fs::path CliMpi::dir_;
std::string CliMpi::model_, CliMpi::single_output_;

TEST_F(CliMpi, BatchInOneProcessWritesOneOutputPerInput) {
  EXPECT_THAT(single_output_, HasSubstr("5 input(s)"));
  for (int i = 0; i < kInputs; ++i) {
    const fs::path out = dir_ / "single" / ("in" + std::to_string(i) + ".out.ct");
    ASSERT_TRUE(fs::exists(out)) << out << "\n" << single_output_;
    EXPECT_GT(fs::file_size(out), 1000u);
  }
  // The batch's outputs are the one-input form's outputs.
  const auto r = cli_test::run_cli(infer_args() + p("in3.ct") + " -o " + p("one.ct") + " --threads 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(mpi_test::file_bytes(p("one.ct")), mpi_test::file_bytes(dir_ / "single" / "in3.out.ct"));

  // Two inputs of one name in different folders would write one output: refused before any work.
  fs::create_directories(dir_ / "other");
  fs::copy_file(p("in0.ct"), dir_ / "other" / "in0.ct", fs::copy_options::overwrite_existing);
  const auto bad = cli_test::run_cli(infer_args() + p("in0.ct") + " " + p("other/in0.ct") + " -o " + p("x"));
  EXPECT_EQ(bad.status, 1) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("would both write"));
}

TEST_F(CliMpi, MpirunTwoAndThreeRanksGiveTheSameBytesAndFailClearly) {
  if (!mpi_test::available()) GTEST_SKIP() << mpi_test::skip_reason();
  for (int np : {2, 3}) {
    const std::string out = p("mpi" + std::to_string(np));
    const auto r = mpi_test::mpirun(np, std::string(CU_CLI) + " " + infer_args() + inputs() + " -o " + out +
                                            " --threads 1");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("on " + std::to_string(np) + " ranks"));
    for (int rank = 0; rank < np; ++rank) EXPECT_THAT(r.output, HasSubstr("rank " + std::to_string(rank) + ","));
    for (int i = 0; i < kInputs; ++i) {
      const std::string name = "in" + std::to_string(i) + ".out.ct";
      const std::string want = mpi_test::file_bytes(dir_ / "single" / name);
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(mpi_test::file_bytes(fs::path(out) / name), want) << name << " differs from the single-process run with " << np
                                                   << " ranks";
    }
  }

  // A bad input in the batch ends the run, naming the file, instead of hanging.
  {
    const std::string good = mpi_test::file_bytes(p("in1.ct"));
    std::ofstream(p("cut.ct"), std::ios::binary).write(good.data(), static_cast<std::streamsize>(good.size() / 2));
  }
  const auto r = mpi_test::mpirun(2, std::string(CU_CLI) + " " + infer_args() + p("in0.ct") + " " + p("cut.ct") +
                                         " " + p("in2.ct") + " -o " + p("bad") + " --threads 1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "timed out (hang): " << r.output;
  EXPECT_THAT(r.output, HasSubstr("cut.ct"));
  EXPECT_THAT(r.output, HasSubstr("truncated"));
  EXPECT_THAT(r.output, HasSubstr("error (rank 0 of 2"));
}

TEST_F(CliMpi, LatencyModeSplitsLayersAndGivesTheSameBytes) {
  // --mpi in one process is the plain run.
  auto r = cli_test::run_cli(infer_args() + "--mpi " + p("in2.ct") + " -o " + p("lat1.ct") + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string want = mpi_test::file_bytes(dir_ / "single" / "in2.out.ct");
  EXPECT_EQ(mpi_test::file_bytes(p("lat1.ct")), want);
  // Several inputs: one after the other, each in latency mode (the plaintexts encoded for the first
  // input are reused by the others): each output the batch run's bytes.
  const std::string three = p("in1.ct") + " " + p("in3.ct") + " " + p("in4.ct");
  auto same_as_single = [&](const std::string& folder) {
    for (const char* stem : {"in1", "in3", "in4"})
      EXPECT_EQ(mpi_test::file_bytes(fs::path(folder) / (std::string(stem) + ".out.ct")),
                mpi_test::file_bytes(dir_ / "single" / (std::string(stem) + ".out.ct")))
          << folder << ": " << stem;
  };
  r = cli_test::run_cli(infer_args() + "--mpi " + three + " -o " + p("latmany1") + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("3 inputs in latency mode: first "));
  EXPECT_THAT(r.output, HasSubstr("infer: 3/3 inputs done"));
  same_as_single(p("latmany1"));
  if (!mpi_test::available()) GTEST_SKIP() << mpi_test::skip_reason();
  // The fixture's plan at N=2^11 has layers of 1 and 2 ciphertexts: every linear layer is split by
  // rotation step (partial sums reduced to each output's owner; at -np 3 the third rank holds no
  // output of a 2-ciphertext layer and still ends with the whole output). The split by input (a
  // layer of at least 2R ciphertexts) is covered in-process (tests/workflow/test_split_infer.cpp).
  for (int np : {2, 3}) {
    const std::string out = p("lat" + std::to_string(np) + ".ct");
    // At -np 2 the ranks keep one copy of the Galois keys in memory they share (the default on one
    // host); at -np 3 each rank keeps its own copy (CU_HOST_SHARED_KEYS=0, as ranks on several hosts).
    const bool host_shared = np == 2;
    const auto m = mpi_test::run_shell(std::string(host_shared ? "" : "CU_HOST_SHARED_KEYS=0 ") + mpi_test::launcher(60) +
                                       " -np " + std::to_string(np) + " " + CU_CLI + " " + infer_args() + "--mpi " +
                                       p("in2.ct") + " -o " + out + " --threads 1");
    ASSERT_EQ(m.status, 0) << m.output;
    EXPECT_THAT(m.output, HasSubstr("latency mode on " + std::to_string(np) + " rank(s)"));
    // Rank 0's table: conv2 has 2 outputs, rank 0 computed 1 of them.
    EXPECT_TRUE(std::regex_search(m.output, std::regex("/conv2/Conv +Conv2d +steps +2 +1 "))) << m.output;
    // A layer split by step whose partial sums rank 0 received (seconds, CPU and system seconds, sent, received).
    EXPECT_TRUE(std::regex_search(m.output, std::regex(" (Conv2d|ConvTranspose2d) +steps +[0-9]+ +[0-9]+ +- +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ [KMG]?i?B +[1-9][0-9.]* [KMG]i?B ")))
        << m.output;
    EXPECT_THAT(m.output, HasSubstr("CPU seconds of the inference per rank"));
    // The Galois keys were shared out: rank 0 expanded some, received the others' or reads them in the
    // shared copy (the outputs being the same bytes shows those keys are the same words).
    if (host_shared)
      EXPECT_TRUE(std::regex_search(m.output, std::regex("Galois keys expanded on rank 0: [1-9][0-9]*, by the other "
                                                         "ranks: [1-9][0-9]*; one copy in memory the host's ranks "
                                                         "share \\([0-9.]+ [KMG]i?B\\)")))
          << m.output;
    else
      EXPECT_TRUE(std::regex_search(m.output, std::regex("Galois keys expanded on rank 0: [1-9][0-9]*, received from "
                                                         "the other ranks: [1-9][0-9]* \\([0-9.]+ [KMG]i?B\\)")))
          << m.output;
    EXPECT_TRUE(std::regex_search(m.output, std::regex("\n  rank " + std::to_string(np - 1) + " +[0-9.]+/[0-9.]+ ")))
        << m.output;
    EXPECT_EQ(mpi_test::file_bytes(out), want) << "latency mode with " << np << " ranks differs from the single-process run";
    const std::string many = p("latmany" + std::to_string(np));
    const auto mm = mpi_test::mpirun(np, std::string(CU_CLI) + " " + infer_args() + "--mpi " + three + " -o " + many +
                                             " --threads 1");
    ASSERT_EQ(mm.status, 0) << mm.output;
    EXPECT_THAT(mm.output, HasSubstr("3 inputs in latency mode: first "));
    same_as_single(many);
  }
}

}  // namespace
}  // namespace cryptounet
