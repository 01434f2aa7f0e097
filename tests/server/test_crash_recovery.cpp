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
    EXPECT_TRUE(a.kill9());
  }
  // the interrupted job is on disk as running, without a result
  const auto jobs = data.path() / "sessions" / session.id / "jobs";
  EXPECT_EQ(json::parse(read_file_string(jobs / (job2 + ".json"), 1 << 20))["state"], "running");
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

TEST(CrashRecovery, ServeOfAMissingModelFileNamesIt) {
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
  EXPECT_NE(out.find("some.onnx"), std::string::npos) << out;
}

}  // namespace
}  // namespace cryptounet::server::testing
