// `cryptounet client` against a `cryptounet serve --fake-service` child process: images go out,
// outputs come back, the session is reused on a second run; without the test crypto the real
// client crypto refuses the fake plan with a clear message.
#include "server_test_util.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <thread>
#include <utility>

namespace cryptounet::server::testing {
namespace {

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
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
    auto [rc, out] = run_cli(common + " " + inputs[0] + " " + inputs[1] + " " + inputs[2]);
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

  auto [rc, out] = run_cli("client --server " + srv.url() + " --no-cache --key-dir " +
                       (work.path() / "keys").string() + " -o " + (work.path() / "out").string() +
                       " " + inputs[0]);
  EXPECT_NE(rc, 0);
  // The real client crypto cannot read the fake service's plan: a clear error, no crash.
  EXPECT_NE(out.find("plan of model 'fake'"), std::string::npos) << out;
}

// Key generation and the key upload show their progress with sizes on stderr (a line per 10 %
// when stderr is not a terminal); stdout holds only the results (output paths, keygen's summary).
TEST(CliClient, KeyProgressGoesToStderrAndStdoutStaysClean) {
  TempDir data, work;
  const std::size_t key_bytes = 3u << 20;
  ChildServer srv(data.path(), 5, {}, key_bytes);
  const auto img = work.path() / "img.png";
  write_file_atomic(img, std::string(300, 'x'));
  const test_support::SplitResult c = run_cli_split("client --server " + srv.url() + " --fake-crypto --no-cache --key-dir " +
                                (work.path() / "keys").string() + " -o " + (work.path() / "out").string() + " " +
                                img.string());
  ASSERT_EQ(c.status, 0) << c.out << c.err;
  EXPECT_EQ(c.out, (work.path() / "out" / "img.fake-output").string() + "\n");
  EXPECT_NE(c.err.find("client: uploading evaluation keys 3.0 / 3.0 MiB (100%)\n"), std::string::npos) << c.err;
  EXPECT_GE(count_of(c.err, "client: uploading evaluation keys"), 3u) << c.err;
  EXPECT_LE(count_of(c.err, "client: uploading evaluation keys"), 11u) << c.err;

  const std::string plan = (work.path() / "p.cup").string();
  ASSERT_EQ(run_cli("plan --model " + std::string(CU_SOURCE_DIR) + "/tests/fixtures/random_ops.onnx "
                "--insecure-test-params 11 -o " + plan).status, 0);
  const test_support::SplitResult k = run_cli_split("keygen --insecure-test-params --threads 1 " + plan + " -o " +
                                (work.path() / "k").string());
  ASSERT_EQ(k.status, 0) << k.out << k.err;
  EXPECT_NE(k.err.find("keygen: making keys"), std::string::npos) << k.err;
  EXPECT_NE(k.err.find(" MiB (100%)\n"), std::string::npos) << k.err;
  EXPECT_EQ(k.out.find("making keys"), std::string::npos) << k.out;
  EXPECT_EQ(k.out.find('%'), std::string::npos) << k.out;
  EXPECT_NE(k.out.find("keys for plan"), std::string::npos) << k.out;
}

// Issue 9: `serve` takes the per-address limits and the key quota as flags, shows their defaults in
// --help, and each reaches the server (one child server per limit, so the limits do not mix).
TEST(CliServe, PerAddressLimitsAndKeyQuotaAreFlags) {
  using namespace std::chrono_literals;
  auto [rc, help] = run_cli("serve --help");
  ASSERT_EQ(rc, 0) << help;
  for (auto [flag, def] : {std::pair{"--max-connections-per-address", "=4"}, {"--max-uploads-per-address", "=2"},
                           {"--max-sessions-per-minute", "=10"}, {"--key-quota-mib", "=16384"}}) {
    const auto at = help.find(flag);
    ASSERT_NE(at, std::string::npos) << flag << " missing from:\n" << help;
    const std::string line = help.substr(at, help.find('\n', at) - at);
    EXPECT_NE(line.find(def), std::string::npos) << "no default " << def << " on: " << line;
  }
  auto [bad_rc, bad] = run_cli("serve --model fake --fake-service --data-dir /tmp --max-uploads-per-address -1");
  EXPECT_NE(bad_rc, 0) << bad;

  auto refused = [](const ChildServer& srv, const std::string& keys) -> std::pair<int, std::string> {
    client::ClientOptions o = srv.options();
    o.max_busy_retries = 0;
    client::InferenceClient c(o);
    try {
      (void)c.create_session("fake", keys);
    } catch (const client::ServerError& e) {
      return {e.status(), e.what()};
    }
    return {0, ""};
  };
  {  // One connection per address: a second one gets 503 while the first is open, 200 after.
    TempDir data;
    ChildServer srv(data.path(), 5, {"--max-connections-per-address", "1"});
    const int idle = connect_local(srv.port());
    ASSERT_GE(idle, 0);
    std::this_thread::sleep_for(300ms);
    httplib::Client c(srv.url());
    auto r = c.Get("/v1/health");
    EXPECT_TRUE(r && r->status == 503) << (r ? std::to_string(r->status) : std::string("no answer"));
    ::close(idle);
    int status = 0;
    for (int i = 0; i < 40 && status != 200; ++i) {
      std::this_thread::sleep_for(50ms);
      auto again = c.Get("/v1/health");
      status = again ? again->status : 0;
    }
    EXPECT_EQ(status, 200);
  }
  {  // One upload per address: a second one gets 503 while the first trickles.
    TempDir data;
    ChildServer srv(data.path(), 5, {"--max-uploads-per-address", "1"});
    const int slow = connect_local(srv.port());
    ASSERT_GE(slow, 0);
    send_all(slow, "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string(kKeyBytes) + "\r\n\r\nabc");
    std::this_thread::sleep_for(300ms);
    auto [status, what] = refused(srv, fake::make_keys(1, kKeyBytes));
    EXPECT_EQ(status, 503) << what;
    EXPECT_NE(what.find("uploads in progress from your address (1)"), std::string::npos) << what;
    ::close(slow);
  }
  {  // One session per minute per address.
    TempDir data;
    ChildServer srv(data.path(), 5, {"--max-sessions-per-minute", "1"});
    EXPECT_EQ(refused(srv, fake::make_keys(2, kKeyBytes)).first, 0);
    auto [status, what] = refused(srv, fake::make_keys(3, kKeyBytes));
    EXPECT_EQ(status, 503) << what;
    EXPECT_NE(what.find("in the last minute (1)"), std::string::npos) << what;
  }
  {  // A 1 MiB key quota holds one 600 KiB key set, not two.
    TempDir data;
    const std::size_t key_bytes = 600u << 10;
    ChildServer srv(data.path(), 5, {"--key-quota-mib", "1"}, key_bytes);
    EXPECT_EQ(refused(srv, fake::make_keys(4, key_bytes)).first, 0);
    auto [status, what] = refused(srv, fake::make_keys(5, key_bytes));
    EXPECT_EQ(status, 507) << what;
  }
}

}  // namespace
}  // namespace cryptounet::server::testing
