// Helpers for the server tests: temporary directories, an in-process server with the fake
// service on 127.0.0.1:<free port>, fake key/ciphertext blobs and raw-socket requests (for
// malformed, truncated and slow uploads that no HTTP library would send).
#pragma once

#include "client/inference_client.h"
#include "cryptounet/common/file_io.h"
#include "server/inference_server.h"
#include "support/child_process.h"
#include "support/fake_format.h"
#include "support/fake_model_service.h"
#include "support/temp_dir.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cryptounet::server::testing {

using client::InferenceClient;
using nlohmann::json;
using namespace std::chrono_literals;

/// The tests write to sockets the server may have closed: a broken pipe must be an error
/// return, not a signal that ends the test binary.
inline const int kIgnoreSigpipe = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return 0;
}();

/// The Authorization header for a session token.
inline httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

/// Expects `call` to throw client::ServerError with HTTP `status`; `refusal_missed` is the failure
/// message when it throws nothing.
template <class F>
void expect_server_error(int status, F&& call, const std::string& refusal_missed = "no ServerError was thrown") {
  try {
    call();
    ADD_FAILURE() << refusal_missed;
  } catch (const client::ServerError& e) {
    EXPECT_EQ(e.status(), status) << e.what();
  }
}

/// A scratch folder TMP/cu-server-XXXXXX, removed with its contents.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("cu-server") {}
};

inline constexpr std::size_t kKeyBytes = 1024;
inline constexpr std::size_t kCtBytes = 2048;

inline FakeModelConfig fake_config(std::chrono::milliseconds stage_delay = std::chrono::milliseconds(10),
                                   const std::string& name = "fake") {
  FakeModelConfig c;
  c.name = name;
  c.eval_keys_bytes = kKeyBytes;
  c.ciphertext_bytes = kCtBytes;
  c.stages = 3;
  c.stage_delay = stage_delay;
  return c;
}

/// A ciphertext of the fake format for `key_id` whose payload is derived from `seed`.
inline std::string fake_ciphertext(std::uint64_t key_id, std::uint64_t seed) {
  std::string payload(kCtBytes - fake::kHeaderBytes, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& c : payload) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x & 0xff);
  }
  return fake::make_blob(fake::kCiphertextMagic, key_id, payload);
}

inline std::string expected_result(std::uint64_t key_id, const std::string& ciphertext) {
  return fake::make_blob(fake::kResultMagic, key_id,
                         fake::transform_payload(key_id, std::string_view(ciphertext).substr(fake::kHeaderBytes)));
}

struct TestServer {
  explicit TestServer(ServerConfig config = {}, FakeModelConfig fake = fake_config(),
                      const std::filesystem::path& data_dir = {}) {
    config.bind_address = "127.0.0.1";
    config.port = 0;
    if (config.data_dir.empty()) config.data_dir = data_dir.empty() ? dir.path() : data_dir;
    server = std::make_unique<InferenceServer>(
        config, std::vector<std::shared_ptr<const ModelService>>{
                    std::make_shared<FakeModelService>(fake)});
    port = server->start();
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  [[nodiscard]] client::ClientOptions client_options() const {
    client::ClientOptions o;
    o.server_url = url();
    o.poll_interval = std::chrono::milliseconds(20);
    o.initial_backoff = std::chrono::milliseconds(50);
    o.io_timeout = std::chrono::seconds(10);
    return o;
  }
  TempDir dir;
  std::unique_ptr<InferenceServer> server;
  int port = 0;
};

/// Connects to 127.0.0.1:port; -1 on failure.
inline int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Reads one HTTP message (headers + Content-Length body, if any), or until the peer closes or the
/// receive timeout passes.
inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const auto end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto cl = out.find("Content-Length: ");
      if (cl == std::string::npos || cl > end) break;  // no body
      if (out.size() >= end + 4 + std::stoul(out.substr(cl + 16))) break;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// HTTP status code of a raw response ("HTTP/1.1 413 ..."), 0 if none.
inline int status_of_raw(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

/// `cryptounet serve --fake-service` as a child process on a free port (it prints the port).
/// `extra` are further serve flags; `key_bytes` the fake key size it accepts.
class ChildServer {
 public:
  ChildServer(const std::filesystem::path& data_dir, int stage_ms, const std::vector<std::string>& extra = {},
              std::size_t key_bytes = kKeyBytes)
      : proc_(serve_args(data_dir, stage_ms, extra, key_bytes), std::chrono::seconds(10)) {
    if (proc_.port() == 0) throw std::runtime_error("serve did not start: " + proc_.first_line());
  }
  /// kill -9; true if the process died of the signal.
  bool kill9() { return proc_.kill9(); }
  [[nodiscard]] std::string url() const { return proc_.url(); }
  [[nodiscard]] int port() const { return proc_.port(); }
  [[nodiscard]] client::ClientOptions options() const {
    client::ClientOptions o;
    o.server_url = url();
    o.poll_interval = std::chrono::milliseconds(20);
    return o;
  }

 private:
  static std::vector<std::string> serve_args(const std::filesystem::path& data_dir, int stage_ms,
                                             const std::vector<std::string>& extra, std::size_t key_bytes) {
    std::vector<std::string> args{CU_CLI, "serve", "--model", "fake", "--fake-service", "--port", "0",
                                  "--data-dir", data_dir.string(), "--fake-stage-ms", std::to_string(stage_ms),
                                  "--fake-stages", "10", "--fake-key-bytes", std::to_string(key_bytes),
                                  "--fake-ciphertext-bytes", std::to_string(kCtBytes)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  test_support::ServerProcess proc_;
};

/// `cryptounet serve` with the real CKKS service for `model` at INSECURE N=2^log_n, two workers,
/// one thread, on a free port (the real-service and volume-job tests).
class RealChildServer {
 public:
  RealChildServer(const std::filesystem::path& data_dir, const std::string& model, int log_n,
                  const std::vector<std::string>& extra = {})
      : proc_(args(data_dir, model, log_n, extra), std::chrono::seconds(60)) {
    if (proc_.port() == 0) throw std::runtime_error("serve did not start: " + proc_.first_line());
  }
  void stop() { proc_.stop(); }
  [[nodiscard]] std::string url() const { return proc_.url(); }
  static std::vector<std::string> args(const std::filesystem::path& data_dir, const std::string& model, int log_n,
                                       const std::vector<std::string>& extra) {
    std::vector<std::string> a{CU_CLI, "serve", "--model", model, "--insecure-test-params", std::to_string(log_n),
                               "--threads", "1", "--workers", "2", "--port", "0", "--data-dir", data_dir.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  [[nodiscard]] client::ClientOptions options() const {
    client::ClientOptions o;
    o.server_url = proc_.url();
    o.poll_interval = std::chrono::milliseconds(20);
    o.io_timeout = std::chrono::seconds(30);
    return o;
  }

 private:
  test_support::ServerProcess proc_;
};

/// `cryptounet ARGS 2>&1`: exit status and output.
inline test_support::CommandResult run_cli(const std::string& args) {
  return test_support::run_command(std::string(CU_CLI) + " " + args + " 2>&1");
}

/// `cryptounet ARGS`: exit status, stdout and stderr apart (stderr is a file, not a terminal).
inline test_support::SplitResult run_cli_split(const std::string& args) {
  return test_support::run_command_split(std::string(CU_CLI) + " " + args);
}

}  // namespace cryptounet::server::testing
