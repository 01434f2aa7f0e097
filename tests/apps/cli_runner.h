// Runs the built `cryptounet` (path in CU_CLI) with arguments and captures its exit status and
// its stdout + stderr: the CLI tests check both.
#pragma once

#include "support/child_process.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

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

}  // namespace cryptounet::cli_test
