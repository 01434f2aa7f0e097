// Runs the built `cryptounet` (path in CU_CLI) with arguments and captures its exit status and
// its stdout + stderr: the CLI tests check both.
#pragma once

#include "support/child_process.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <string>
#include <utility>

namespace cryptounet::cli_test {

// What every CLI test uses, for a `using namespace cli_test;` in the test file.
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using Run = test_support::CommandResult;       // status; output: stdout and stderr
using SplitRun = test_support::SplitResult;  // status; out: stdout only (JSON, tables); err: stderr only

inline Run run_cli(const std::string& args) {
  return test_support::run_command(std::string(CU_CLI) + " " + args + " 2>&1");
}

/// Like run_cli, with stdout and stderr kept apart (stderr through a temporary file).
inline SplitRun run_cli_split(const std::string& args) {
  return test_support::run_command_split(std::string(CU_CLI) + " " + args);
}

using test_support::fresh_test_dir;

/// `cryptounet ARGS` exits with `status` and its output (stdout + stderr) holds each of `parts`.
inline void expect_cli_exit(const std::string& args, int status, std::initializer_list<const char*> parts) {
  const Run r = run_cli(args);
  EXPECT_EQ(r.status, status) << args << "\n" << r.output;
  for (const char* part : parts) EXPECT_THAT(r.output, HasSubstr(part)) << args;
}

/// `cryptounet ARGS` fails (any non-zero status) and its output holds each of `parts`.
inline void expect_cli_fails(const std::string& args, std::initializer_list<const char*> parts) {
  const Run r = run_cli(args);
  EXPECT_NE(r.status, 0) << args << "\n" << r.output;
  for (const char* part : parts) EXPECT_THAT(r.output, HasSubstr(part)) << args;
}

/// A CLI test case with its own scratch folder (dir_, path(NAME)) and the committed PyTorch-exported
/// fixture model_ (tests/fixtures/random_ops.onnx: 1x16x16 -> 2 channels, argmax head); skips,
/// saying so, when the fixture is missing. `prefix` names the scratch folder (TMP/PREFIX_TEST_PID).
class CliTest : public ::testing::Test {
 protected:
  explicit CliTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    dir_ = fresh_test_dir(prefix_);
    model_ = (fs::path(CU_SOURCE_DIR) / "tests" / "fixtures" / "random_ops.onnx").string();
    if (!fs::exists(model_)) GTEST_SKIP() << "fixture " << model_ << " missing";
    prepare();
  }
  void TearDown() override { fs::remove_all(dir_); }
  /// A derived fixture's own set-up (input files in dir_), run after the scratch folder exists.
  virtual void prepare() {}
  [[nodiscard]] std::string path(const std::string& p) const { return (dir_ / p).string(); }

  fs::path dir_;
  std::string model_;

 private:
  std::string prefix_;
};

}  // namespace cryptounet::cli_test
