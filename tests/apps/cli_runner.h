// Runs the built `cryptounet` (path in CU_CLI) with arguments and captures its exit status and
// its stdout + stderr: the CLI tests check both.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

struct SplitRun {
  int status;
  std::string out;  // stdout only (JSON, tables)
  std::string err;  // stderr only (progress, notes, errors)
};

/// Like run_cli, with stdout and stderr kept apart (stderr through a temporary file).
inline SplitRun run_cli_split(const std::string& args) {
  char err_path[] = "/tmp/cu-cli-stderr-XXXXXX";
  const int fd = mkstemp(err_path);
  if (fd >= 0) close(fd);
  const std::string cmd = std::string(CU_CLI) + " " + args + " 2>" + err_path;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe.release());
  std::string err;
  if (FILE* f = std::fopen(err_path, "rb")) {
    while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) err.append(buf.data(), n);
    std::fclose(f);
  }
  std::remove(err_path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err};
}

using test_support::fresh_test_dir;

}  // namespace cryptounet::cli_test
