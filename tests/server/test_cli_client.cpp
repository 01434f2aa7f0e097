// `cryptounet client` against a `cryptounet serve --fake-service` child process: images go out,
// outputs come back, the session is reused on a second run; without the test crypto the real
// client crypto refuses the fake plan with a clear message.
#include "server_test_util.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace cryptounet::server::testing {
namespace {

std::pair<int, std::string> run(const std::string& args) {
  const std::string cmd = std::string(CU_CLI) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = p ? ::pclose(p) : -1;
  return {WEXITSTATUS(status), out};
}

TEST(CliClient, ImagesRoundTripAndSessionIsReused) {
  TempDir data, work;
  ChildServer srv(data.path(), 5);
  std::vector<std::string> inputs;
  for (int i = 0; i < 3; ++i) {
    const auto p = work.path() / ("img" + std::to_string(i) + ".png");
    std::string bytes(100 + 37 * i, '\0');
    for (std::size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<char>(k * 7 + i);
    write_file_atomic(p, bytes);
    inputs.push_back(p.string());
  }
  const std::string common = "client --server " + srv.url() + " --fake-crypto --cache-dir " +
                             (work.path() / "cache").string() + " --key-dir " +
                             (work.path() / "keys").string() + " -o " + (work.path() / "out").string();
  for (int round = 0; round < 2; ++round) {
    auto [rc, out] = run(common + " " + inputs[0] + " " + inputs[1] + " " + inputs[2]);
    ASSERT_EQ(rc, 0) << out;
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(read_file_string(work.path() / "out" / ("img" + std::to_string(i) + ".fake-output"), 1 << 20),
                read_file_string(inputs[i], 1 << 20));
  }
  httplib::Client raw(srv.url());
  auto m = raw.Get("/v1/metrics");
  ASSERT_TRUE(m);
  auto metrics = nlohmann::json::parse(m->body);
  EXPECT_EQ(metrics["sessions"], 1);  // keys uploaded once for two runs
  EXPECT_EQ(metrics["jobs"]["done"], 3);  // the same ciphertexts were not run twice

  auto [rc, out] = run("client --server " + srv.url() + " --no-cache --key-dir " +
                       (work.path() / "keys").string() + " -o " + (work.path() / "out").string() +
                       " " + inputs[0]);
  EXPECT_NE(rc, 0);
  // The real client crypto cannot read the fake service's plan: a clear error, no crash.
  EXPECT_NE(out.find("plan of model 'fake'"), std::string::npos) << out;
}

}  // namespace
}  // namespace cryptounet::server::testing
