// Child processes for tests: run a shell command and capture its stdout (and, apart, its stderr)
// with its exit status; start a server program that prints "... 127.0.0.1:PORT ..." as its first
// stdout line (`cryptounet serve --port 0`) and stop it again. Header-only; included as
// "support/child_process.h". The CLI and server tests wrap these with their binary (CU_CLI).
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace cryptounet::test_support {

struct CommandResult {
  int status;          // the exit status; -1 if the command did not exit normally
  std::string output;  // what it wrote to its stdout (and whatever the command line redirects there)
};

struct SplitResult {
  int status;
  std::string out;  // stdout only
  std::string err;  // stderr only (through a temporary file, so it is not a terminal)
};

namespace detail {
inline std::string read_all(FILE* f) {
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while (f && (n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  return out;
}
inline int exit_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
}  // namespace detail

/// Runs `command` through the shell; its stdout and exit status.
inline CommandResult run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out = detail::read_all(pipe);
  const int status = pipe ? ::pclose(pipe) : -1;
  return {pipe ? detail::exit_status(status) : -1, std::move(out)};
}

/// Runs `command` through the shell with its stderr sent to a temporary file: stdout and stderr apart.
inline SplitResult run_command_split(const std::string& command) {
  char err_path[] = "/tmp/cu-test-stderr-XXXXXX";
  const int fd = ::mkstemp(err_path);
  if (fd >= 0) ::close(fd);
  CommandResult r = run_command(command + " 2>" + err_path);
  std::string err;
  if (FILE* f = std::fopen(err_path, "rb")) {
    err = detail::read_all(f);
    std::fclose(f);
  }
  std::remove(err_path);
  return {r.status, std::move(r.output), std::move(err)};
}

/// `argv` as a child process whose first stdout line names the port it listens on
/// ("... 127.0.0.1:PORT ..."); waits up to `wait` for that line. SIGTERM and wait on destruction.
/// port() is 0 when no such line came (the caller decides whether that is an error).
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, std::chrono::milliseconds wait) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    pollfd p{fds[0], POLLIN, 0};
    char buf[256];
    while (first_line_.find('\n') == std::string::npos && ::poll(&p, 1, static_cast<int>(wait.count())) > 0) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      first_line_.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    const auto at = first_line_.find("127.0.0.1:");
    if (at != std::string::npos) port_ = std::stoi(first_line_.substr(at + 10));
  }
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// SIGTERM and wait (no-op once stopped).
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  /// kill -9; true if the process died of the signal.
  bool kill9() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFSIGNALED(status);
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// What the child printed before the wait ended (its first line, or less).
  [[nodiscard]] const std::string& first_line() const { return first_line_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string first_line_;
};

}  // namespace cryptounet::test_support
