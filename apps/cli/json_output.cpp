#include "cli/json_output.h"

#include "cryptounet/common/error.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace cryptounet::cli {

CLI::Option* add_json_flag(CLI::App* cmd, bool& json) {
  return cmd->add_flag("--json", json, "Print the result as one JSON object on stdout (tables and progress go to stderr)");
}

JsonOutput::JsonOutput(bool on) {
  if (!on) return;
  std::cout.flush();
  std::fflush(stdout);
  saved_fd_ = ::dup(STDOUT_FILENO);
  if (saved_fd_ < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
    throw IoError("--json: cannot redirect stdout to stderr");
}

JsonOutput::~JsonOutput() { restore(); }

void JsonOutput::restore() {
  if (saved_fd_ < 0) return;
  std::cout.flush();
  std::fflush(stdout);
  ::dup2(saved_fd_, STDOUT_FILENO);
  ::close(saved_fd_);
  saved_fd_ = -1;
}

void JsonOutput::emit() {
  if (saved_fd_ < 0) return;
  restore();
  emitted_ = true;
  std::printf("%s\n", j_.dump(2).c_str());
  std::fflush(stdout);
}

}  // namespace cryptounet::cli
