// Starts real MPI runs from tests: `mpirun --oversubscribe -np R CMD` on localhost (CI runs as
// root, so Open MPI's root check is waived through its environment variables), under `timeout` so
// that a hang fails the test (exit 124) instead of blocking the suite.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace cryptounet::mpi_test {

struct Run {
  int status;          // exit status; 124 when `timeout` stopped a hang
  std::string output;  // stdout and stderr
};

/// A file's bytes ("" if it cannot be read), for comparing outputs byte for byte.
inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline bool available() { return std::string(CU_MPIEXEC).size() > 0; }

inline std::string skip_reason() {
  return "this build has no MPI (CU_MPI=OFF, or libopenmpi-dev was missing at configure time): "
         "the mpirun tests are skipped";
}

inline Run run_shell(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((cmd + " 2>&1").c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline std::string launcher(int timeout_s) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 timeout -k 5 " +
         std::to_string(timeout_s) + " " + std::string(CU_MPIEXEC) + " --oversubscribe --bind-to none";
}

/// `mpirun -np np CMD` (CMD: a program and its arguments).
inline Run mpirun(int np, const std::string& cmd, int timeout_s = 60) {
  return run_shell(launcher(timeout_s) + " -np " + std::to_string(np) + " " + cmd);
}

struct Part {
  int np;
  std::string dir;  // working directory of these ranks
  std::string cmd;
};

/// MPMD: `mpirun -np a -wdir A CMD_A : -np b -wdir B CMD_B ...`.
inline Run mpirun_mpmd(const std::vector<Part>& parts, int timeout_s = 60) {
  std::string cmd = launcher(timeout_s);
  for (std::size_t i = 0; i < parts.size(); ++i)
    cmd += (i ? " : " : " ") + std::string("-np ") + std::to_string(parts[i].np) + " -wdir " + parts[i].dir + " " +
           parts[i].cmd;
  return run_shell(cmd);
}

}  // namespace cryptounet::mpi_test
