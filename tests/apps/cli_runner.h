// Runs the built `cryptounet` (path in CU_CLI) with arguments and captures its exit status and
// its stdout + stderr: the CLI tests check both.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

namespace cryptounet::cli_test {

struct Run {
  int status;
  std::string output;  // stdout and stderr
};

inline Run run_cli(const std::string& args) {
  const std::string cmd = std::string(CU_CLI) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace cryptounet::cli_test
