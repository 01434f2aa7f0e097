// kill -9 of a real `cryptounet serve` process during a job: after a restart on the same data
// directory the interrupted job runs to completion and earlier results are served unchanged.
#include "server_test_util.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdio>

namespace cryptounet::server::testing {
namespace {

using client::InferenceClient;
using nlohmann::json;
using namespace std::chrono_literals;

/// `cryptounet serve --fake-service` as a child process on a free port (it prints the port).
class ChildServer {
 public:
  ChildServer(const std::filesystem::path& data_dir, int stage_ms) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    const std::string dir = data_dir.string(), stage = std::to_string(stage_ms),
                      kb = std::to_string(kKeyBytes), cb = std::to_string(kCtBytes);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl(CU_CLI, CU_CLI, "serve", "--model", "fake", "--fake-service", "--port", "0",
              "--data-dir", dir.c_str(), "--fake-stage-ms", stage.c_str(), "--fake-stages", "10",
              "--fake-key-bytes", kb.c_str(), "--fake-ciphertext-bytes", cb.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    char buf[256];
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10000) > 0) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    const auto at = line.find("127.0.0.1:");
    if (at == std::string::npos) throw std::runtime_error("serve did not start: " + line);
    port_ = std::stoi(line.substr(at + 10));
  }
  ~ChildServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void kill9() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status));
    pid_ = -1;
  }
  [[nodiscard]] client::ClientOptions options() const {
    client::ClientOptions o;
    o.server_url = "http://127.0.0.1:" + std::to_string(port_);
    o.poll_interval = 20ms;
    return o;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST(CrashRecovery, Kill9DuringAJobThenRestart) {
  TempDir data;
  const std::uint64_t key_id = 31;
  const std::string ct1 = fake_ciphertext(key_id, 1), ct2 = fake_ciphertext(key_id, 2);
  client::Session session;
  std::string job1, job2;
  {
    ChildServer a(data.path(), 60);  // 10 stages x 60 ms per job
    InferenceClient c(a.options());
    session = c.open_session("fake", fake::make_keys(key_id, kKeyBytes));
    job1 = c.submit(session, ct1);
    ASSERT_EQ(c.wait(session, job1).state, "done");
    job2 = c.submit(session, ct2);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {  // kill -9 mid-run
      const auto s = c.status(session, job2);
      ASSERT_NE(s.state, "done") << "the job finished before the kill";
      if (s.state == "running" && s.progress >= 0.3) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::sleep_for(10ms);
    }
    a.kill9();
  }
  // the interrupted job is on disk as running, without a result
  const auto jobs = data.path() / "sessions" / session.id / "jobs";
  EXPECT_EQ(json::parse(server::read_file(jobs / (job2 + ".json")))["state"], "running");
  EXPECT_FALSE(std::filesystem::exists(jobs / (job2 + ".result")));

  ChildServer b(data.path(), 5);
  InferenceClient c(b.options());
  EXPECT_EQ(c.result(session, job1), expected_result(key_id, ct1));
  auto st = c.wait(session, job2, {}, std::chrono::seconds(8));
  ASSERT_EQ(st.state, "done") << st.error;
  EXPECT_EQ(c.result(session, job2), expected_result(key_id, ct2));
  httplib::Client raw(b.options().server_url);
  auto r = raw.Get(("/v1/jobs/" + job2).c_str(), {{"Authorization", "Bearer " + session.token}});
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["attempts"], 2);
}

TEST(CrashRecovery, ServeWithoutTheFakeFlagNamesTheMissingPiece) {
  TempDir data;
  const std::string cmd = std::string(CU_CLI) + " serve --model some.onnx --port 0 --data-dir " +
                          data.path().string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = ::pclose(p);
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(out.find("issue 4/5"), std::string::npos) << out;
}

}  // namespace
}  // namespace cryptounet::server::testing
