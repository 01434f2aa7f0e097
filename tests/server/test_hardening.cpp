// Issue 9 ("the server trusts no client"): each attack against the real InferenceServer on
// 127.0.0.1 (fake model service, so no cryptography is needed), in bounded time.
#include "server_test_util.h"

#include "client/ckks_client_crypto.h"
#include "client/client_crypto.h"
#include "client/security_policy.h"
#include "support/fake_client_crypto.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/plan/rotation_set.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/plan_io.h"
#include "server/model_loader.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

namespace cryptounet::server::testing {
namespace {

using Clock = std::chrono::steady_clock;

/// Everything the server sends on one connection until it closes it (or 8 s pass).
struct Exchange {
  std::string bytes;
  bool closed = false;
  double seconds = 0;
};

Exchange send_raw(int port, const std::string& request) {
  Exchange e;
  const int fd = connect_local(port);
  if (fd < 0) return e;
  timeval tv{8, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = Clock::now();
  send_all(fd, request);
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      e.closed = true;
      break;
    }
    if (n < 0) {
      e.closed = errno == ECONNRESET;
      break;
    }
    e.bytes.append(buf, static_cast<std::size_t>(n));
  }
  e.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  return e;
}

int count_responses(const std::string& bytes) {
  int n = 0;
  for (std::size_t at = bytes.find("HTTP/1.1 "); at != std::string::npos; at = bytes.find("HTTP/1.1 ", at + 1)) ++n;
  return n;
}

// A request hidden in a body the server did not read.
const std::string kSmuggled = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";

// Item 3: a refusal before the body (411, 413, 415, 404 on a bad token, a GET with a body) closes
// the connection: the unread body is never parsed as the next request.
TEST(Smuggling, RefusedBodiesAreNeverParsedAsTheNextRequest) {
  TestServer ts;
  const std::string big = "99999999";  // above every blob limit: the server does not read it
  struct Case {
    const char* name;
    std::string head;
    int status;
    bool must_close = true;  // false: the server may read the body and keep the connection
  } cases[] = {
      {"411 chunked", "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
      {"415 gzip", "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: " +
                       std::to_string(kSmuggled.size()) + "\r\n\r\n", 415},
      {"413 too long", "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: " + big + "\r\n\r\n", 413},
      {"404 bad token", "POST /v1/sessions/00000000000000000000000000000000/jobs HTTP/1.1\r\nHost: x\r\n"
                        "Authorization: Bearer nope\r\nContent-Length: 99999999\r\n\r\n", 404},
      {"GET with a body", "GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(kSmuggled.size()) + "\r\n\r\n", 200, false},
  };
  for (const Case& c : cases) {
    const Exchange e = send_raw(ts.port, c.head + kSmuggled);
    EXPECT_EQ(status_of_raw(e.bytes), c.status) << c.name << ": " << e.bytes;
    EXPECT_EQ(count_responses(e.bytes), 1) << c.name << ": the body was parsed as a request:\n" << e.bytes;
    if (!c.must_close) continue;
    EXPECT_TRUE(e.closed) << c.name;
    EXPECT_LT(e.seconds, 4.0) << c.name << ": the connection was not closed after the answer";
  }
  // A well-formed keep-alive exchange still works: two requests, two answers on one connection.
  const int fd = connect_local(ts.port);
  ASSERT_GE(fd, 0);
  send_all(fd, kSmuggled);
  EXPECT_EQ(status_of_raw(read_all(fd)), 200);
  send_all(fd, kSmuggled);
  EXPECT_EQ(status_of_raw(read_all(fd)), 200);
  ::close(fd);
}

// Item 3: two (or conflicting) Content-Length headers, or Content-Length with Transfer-Encoding,
// are refused with 400 and the connection is closed.
TEST(Smuggling, AmbiguousFramingIsRefused) {
  TestServer ts;
  const std::string n = std::to_string(kSmuggled.size());
  const std::string heads[] = {
      "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " + n + "\r\n\r\n",
      "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: " + n + "\r\nContent-Length: " + n +
          "\r\n\r\n",
      "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: " + n +
          "\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: +" + n + "\r\n\r\n",
      "GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " + n + "\r\n\r\n",
  };
  for (const std::string& head : heads) {
    const Exchange e = send_raw(ts.port, head + kSmuggled);
    EXPECT_EQ(status_of_raw(e.bytes), 400) << head << e.bytes;
    EXPECT_EQ(count_responses(e.bytes), 1) << head << e.bytes;
    EXPECT_TRUE(e.closed) << head;
    EXPECT_LT(e.seconds, 4.0) << head;
  }
}


/// A TCP connection to 127.0.0.1:port from the source address `from` (any 127.x.y.z is this
/// machine on Linux, so one test can play several client addresses).
int connect_from(const char* from, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(port));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Attackers that trickle bytes on their connections until stopped.
class Tricklers {
 public:
  Tricklers(int port, int count, std::string head, std::chrono::milliseconds every) {
    for (int i = 0; i < count; ++i) {
      const int fd = connect_from("127.0.0.2", port);
      if (fd >= 0) {
        send_all(fd, head);
        fds_.push_back(fd);
      }
    }
    thread_ = std::thread([this, every] {
      while (!stop_) {
        for (int fd : fds_) (void)::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(every / 10);
      }
    });
  }
  ~Tricklers() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  [[nodiscard]] std::size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Item 5 (a): uploads that announce a large body and trickle a byte at a time are cut off soon
// after the grace period (minimum transfer rate all along), and one address cannot take the whole
// upload budget: a well-behaved client from another address uploads at once.
TEST(DenialOfService, SlowUploadsNeitherHoldTheBudgetNorDelayOthers) {
  ServerConfig cfg;
  cfg.upload_grace = std::chrono::seconds(1);
  FakeModelConfig fc = fake_config();
  fc.eval_keys_bytes = 8u << 20;  // 8 MiB keys: at 256 KiB/s the old deadline was 1 + 32 s
  TestServer ts(cfg, fc);
  const std::string head = "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(fc.eval_keys_bytes) + "\r\n\r\n";
  {
    Tricklers attack(ts.port, 4, head, std::chrono::milliseconds(300));
    ASSERT_EQ(attack.size(), 4u);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    client::ClientOptions o = ts.client_options();
    o.max_busy_retries = 0;  // a 503 is a failure here
    client::InferenceClient good(o);
    const auto t0 = Clock::now();
    EXPECT_NO_THROW((void)good.create_session("fake", fake::make_keys(5, fc.eval_keys_bytes)));
    EXPECT_LT(seconds_since(t0), 8.0);  // an 8 MiB upload on a loaded machine; no 503, no waiting
  }
  // One trickler alone is answered 408 and closed within a few seconds of the grace period.
  const int fd = connect_from("127.0.0.3", ts.port);
  ASSERT_GE(fd, 0);
  timeval tv{8, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  send_all(fd, head);
  const auto t0 = Clock::now();
  std::string got;
  std::thread drip([fd, &got] {
    for (int i = 0; i < 25 && got.empty(); ++i) {
      (void)::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  got = read_all(fd);
  drip.join();
  ::close(fd);
  EXPECT_EQ(status_of_raw(got), 408) << got;
  EXPECT_LT(seconds_since(t0), 5.0);
}

// Item 5 (b): forty slow-header connections from one address do not delay GET /v1/health from
// another address by more than a few seconds (per-address connection limit).
TEST(DenialOfService, SlowHeadersDoNotDelayOtherClients) {
  TestServer ts;
  Tricklers attack(ts.port, 40, "GET /v1/health HTTP/1.1\r\nHost: x\r\n", std::chrono::milliseconds(1000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int i = 0; i < 3; ++i) {
    httplib::Client c(ts.url());
    c.set_read_timeout(8, 0);
    const auto t0 = Clock::now();
    auto r = c.Get("/v1/health");
    ASSERT_TRUE(r) << "no answer within 8 s";
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(seconds_since(t0), 2.0);
  }
}

// Item 5 (c): one session cannot fill the whole queue, and workers take jobs round-robin across
// sessions, so another session's job does not wait behind all of the first one's.
TEST(DenialOfService, QueueIsFairAcrossSessions) {
  ServerConfig cfg;
  cfg.queue_capacity = 8;
  TestServer ts(cfg, fake_config(std::chrono::milliseconds(200)));
  client::InferenceClient c(ts.client_options());
  client::ClientOptions o = ts.client_options();
  o.max_busy_retries = 0;
  client::InferenceClient no_retry(o);
  const client::Session a = c.create_session("fake", fake::make_keys(1, kKeyBytes));
  const client::Session b = c.create_session("fake", fake::make_keys(2, kKeyBytes));
  std::vector<std::string> ja;
  for (int i = 0; i < 5; ++i) ja.push_back(c.submit(a, fake_ciphertext(1, 100 + i)));
  // A now has 4 waiting (one running): its share of a queue of 8.
  expect_server_error(503, [&] { (void)no_retry.submit(a, fake_ciphertext(1, 200)); },
                      "one session filled more than its share of the queue");
  const std::string jb = no_retry.submit(b, fake_ciphertext(2, 300));
  ASSERT_EQ(c.wait(b, jb, {}, std::chrono::seconds(30)).state, "done");
  httplib::Client raw(ts.url());
  const auto times = [&](const client::Session& s, const std::string& j) {
    auto r = raw.Get(("/v1/jobs/" + j).c_str(), httplib::Headers{{"Authorization", "Bearer " + s.token}});
    const auto body = nlohmann::json::parse(r ? r->body : "{}");
    return std::pair{body.value("started_ms", std::int64_t{0}), body.value("finished_ms", std::int64_t{0})};
  };
  const std::int64_t b_started = times(b, jb).first;
  int a_done_before_b = 0;
  for (const auto& j : ja) {
    ASSERT_EQ(c.wait(a, j, {}, std::chrono::seconds(30)).state, "done");
    a_done_before_b += times(a, j).second <= b_started;
  }
  EXPECT_LE(a_done_before_b, 2) << "B's job waited behind A's whole backlog";
}

// Item 5 (d): stored evaluation keys have a disk quota (507) and one address can create only so
// many sessions a minute (503 + Retry-After).
TEST(DenialOfService, KeyQuotaAndSessionRatePerAddress) {
  // Three sessions (keys of seeds SEED..SEED+2) are accepted, a fourth (SEED+10) is refused with `status`.
  const auto fourth_session_refused = [](const ServerConfig& cfg, std::uint64_t seed, int status,
                                         const std::string& refusal_missed) {
    TestServer ts(cfg);
    client::ClientOptions o = ts.client_options();
    o.max_busy_retries = 0;
    client::InferenceClient c(o);
    for (std::uint64_t i = 0; i < 3; ++i) (void)c.create_session("fake", fake::make_keys(seed + i, kKeyBytes));
    expect_server_error(status, [&] { (void)c.create_session("fake", fake::make_keys(seed + 10, kKeyBytes)); },
                        refusal_missed);
  };
  ServerConfig quota;
  quota.key_quota_bytes = 3 * kKeyBytes;
  fourth_session_refused(quota, 10, 507, "the key quota was exceeded");
  ServerConfig rate;
  rate.max_sessions_per_address_per_minute = 3;
  fourth_session_refused(rate, 30, 503, "a fourth session in a minute from one address was accepted");
}

/// Lowers the largest file this process may write (RLIMIT_FSIZE): writes beyond fail with EFBIG,
/// as they would on a full disk. Restored when destroyed.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit r = old_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &old_); }

 private:
  rlimit old_{};
};

// Item 4: storage that refuses writes (here RLIMIT_FSIZE, as ENOSPC would) neither aborts the
// server nor fails jobs for ever: uploads get 507 (with no server path in the message), jobs
// whose state or result cannot be written go back to the queue and finish once there is room.
TEST(FullDisk, ServerKeepsServingAndRetriesJobs) {
  ServerConfig cfg;
  cfg.workers = 1;
  TestServer ts(cfg, fake_config(std::chrono::milliseconds(200)));
  client::InferenceClient c(ts.client_options());
  const client::Session s = c.create_session("fake", fake::make_keys(3, kKeyBytes));
  const std::string ct1 = fake_ciphertext(3, 1), ct2 = fake_ciphertext(3, 2);
  const std::string j1 = c.submit(s, ct1), j2 = c.submit(s, ct2);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // j1 runs, j2 waits
  {
    FileSizeLimit full(64);  // not even a job's state file fits
    httplib::Client raw(ts.url());
    auto r = raw.Post(("/v1/sessions/" + s.id + "/jobs").c_str(),
                      httplib::Headers{{"Authorization", "Bearer " + s.token}}, fake_ciphertext(3, 9),
                      "application/octet-stream");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 507) << r->body;
    EXPECT_EQ(r->body.find(ts.dir.path().string()), std::string::npos) << "server path leaked: " << r->body;
    auto h = raw.Get("/v1/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // j1's result and j2's claim fail
    for (const auto& j : {j1, j2}) EXPECT_NE(c.status(s, j).state, "failed") << j;
  }
  for (const auto& [j, ct] : {std::pair{j1, ct1}, std::pair{j2, ct2}}) {
    const auto st = c.wait(s, j, {}, std::chrono::seconds(30));
    ASSERT_EQ(st.state, "done") << st.error;
    EXPECT_EQ(c.result(s, j), expected_result(3, ct));
  }
}

// Item 7: the server's data folder, if it exists, must not be writable by others; it is never
// chmod-ed.
TEST(Folders, WritableByOthersIsRefusedAndLeftAlone) {
  TempDir d;
  const auto dir = d.path() / "shared";
  std::filesystem::create_directory(dir);
  ::chmod(dir.c_str(), 0777);
  ServerConfig cfg;
  cfg.data_dir = dir;
  EXPECT_THROW(TestServer ts(cfg), SecurityError);
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0777u) << "an existing folder was chmod-ed";
  // A new folder is made 0700 (parents included).
  const auto fresh = d.path() / "a" / "b";
  cfg.data_dir = fresh;
  { TestServer ts(cfg); }
  for (const auto& p : {d.path() / "a", fresh}) {
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << p;
  }
  // The client's key folder follows the same rule.
  ::chmod(dir.c_str(), 0757);
  client::ModelInfo m{"fake", "{}", {kKeyBytes, true}, {kCtBytes, true}, 1, ""};
  EXPECT_THROW((void)client::make_fake_client_crypto(m, dir), SecurityError);
}

/// A stand-in server that answers with what a hostile server would send.
struct HostileServer {
  explicit HostileServer(std::function<void(httplib::Server&)> routes) {
    routes(srv);
    port = srv.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { srv.listen_after_bind(); });
    while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HostileServer() {
    srv.stop();
    thread.join();
  }
  [[nodiscard]] client::ClientOptions options() const {
    client::ClientOptions o;
    o.server_url = "http://127.0.0.1:" + std::to_string(port);
    o.max_connection_retries = 0;
    return o;
  }
  httplib::Server srv;
  int port = 0;
  std::thread thread;
};

// Items 8 and 11: the client caps what it buffers from a server, and malformed answers end in a
// clear FormatError, not an internal error.
TEST(HostileServerAnswers, OversizedAndMalformedAnswersAreRefusedClearly) {
  HostileServer hs([](httplib::Server& s) {
    s.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"api\":\"v1\",\"models\":[],\"pad\":\"" + std::string(20u << 20, 'x') + "\"}",
                      "application/json");
    });
    s.Post("/v1/models/fake/sessions", [](const httplib::Request&, httplib::Response& res) {
      res.status = 201;
      res.set_content("{\"session_id\": 5, \"token\": [1]}", "application/json");
    });
    s.Post(R"(/v1/sessions/([0-9a-f]+)/jobs)", [](const httplib::Request&, httplib::Response& res) {
      res.status = 202;
      res.set_content("{\"job_id\": {\"x\": 1}}", "application/json");
    });
  });
  client::InferenceClient c(hs.options());
  try {
    (void)c.list_models();
    ADD_FAILURE() << "a 20 MiB model list was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)c.create_session("fake", "keys"), FormatError);
  const client::Session s{"0123456789abcdef0123456789abcdef", "t", "fake"};
  EXPECT_THROW((void)c.submit(s, "ct"), FormatError);
}

// Items 1 and 8, in-process: the client judges a server's plan by its numbers (a plan that says
// it is 128-bit but has N=2^11 is refused), and a plan that asks for more keys than the client's
// cap is refused, with the size printed, before any key is made.
TEST(ClientPlanChecks, InsecureOrOversizedPlansAreRefusedBeforeKeys) {
  TempDir work;
  const auto services = load_model_services({std::string(CU_SOURCE_DIR) + "/tests/fixtures/random_ops.onnx"},
                                            ModelLoadOptions{.insecure_test_log_n = 11, .threads = 1});
  const ModelService& s = *services.at(0);
  client::ModelInfo model{s.name(), s.plan_json(), {s.eval_keys_size().max_bytes, true},
                          {s.ciphertext_size().max_bytes, true}, 1, ""};
  const auto keys = work.path() / "keys";
  EXPECT_THROW(client::CkksClientCrypto(model, keys, {.threads = 1}), SecurityError);
  // A lying label changes nothing.
  auto j = nlohmann::json::parse(model.plan_json);
  ASSERT_TRUE(j.contains("ckks"));
  j["ckks"]["insecure_for_tests"] = false;
  client::ModelInfo liar = model;
  liar.plan_json = j.dump();
  try {
    client::CkksClientCrypto c(liar, keys, {.threads = 1});
    ADD_FAILURE() << "a plan labelled secure with N=2^11 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("128-bit"), std::string::npos) << e.what();
  }
  // The plan's own keys, but more bytes than the client's cap (the cap is tiny here).
  try {
    client::CkksClientCrypto c(model, keys, {.threads = 1, .allow_insecure_params = true, .max_eval_key_bytes = 4096});
    ADD_FAILURE() << "keys above the client's cap were made";
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("Galois keys"), std::string::npos) << e.what();
  }
  std::size_t made = 0;
  if (std::filesystem::exists(keys))
    for (const auto& e : std::filesystem::recursive_directory_iterator(keys)) made += e.path().filename() == "secret.key";
  EXPECT_EQ(made, 0u) << "keys were made for a refused plan";
}

// Item 8: the client recomputes the rotation set from the plan's own layer geometry (the planner's
// rules, he/plan/rotation_set.h) and refuses a plan listing any other step, whatever the key cap:
// a plan asking for every rotation (1023 keys at N=2^11, ~100 MB, under the default 8 GiB cap) is
// refused before any key is made; one smuggled step is refused too.
TEST(ClientPlanChecks, RotationsOutsideThePlanGeometryAreRefusedBeforeKeys) {
  TempDir work;
  const auto services = load_model_services({std::string(CU_SOURCE_DIR) + "/tests/fixtures/random_ops.onnx"},
                                            ModelLoadOptions{.insecure_test_log_n = 11, .threads = 1});
  const ModelService& s = *services.at(0);
  const client::ModelInfo model{s.name(), s.plan_json(), {s.eval_keys_size().max_bytes, true},
                                {s.ciphertext_size().max_bytes, true}, 1, ""};
  const auto keys = work.path() / "keys";
  const nn::Plan honest = nn::plan_from_json(model.plan_json).plan;
  ASSERT_FALSE(honest.rotation_steps.empty());
  EXPECT_TRUE(nn::unexplained_rotation_steps(honest).empty());
  auto refused = [&](const std::vector<int>& steps, const char* label) {
    auto j = nlohmann::json::parse(model.plan_json);
    j["rotation_steps"] = steps;
    client::ModelInfo hostile = model;
    hostile.plan_json = j.dump();
    try {
      client::CkksClientCrypto c(hostile, keys, {.threads = 1, .allow_insecure_params = true});
      ADD_FAILURE() << label << ": accepted";
    } catch (const SecurityError& e) {
      EXPECT_NE(std::string(e.what()).find("its own layers cannot need"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "not one line: " << e.what();
    }
  };
  std::vector<int> every;
  for (int i = 1; i < honest.grid.slots; ++i) every.push_back(i);
  refused(every, "every rotation step");
  const std::vector<int> geometry = nn::geometry_rotation_steps(honest);
  int stray = 1;
  while (std::binary_search(geometry.begin(), geometry.end(), stray)) ++stray;
  std::vector<int> one_more = honest.rotation_steps;
  one_more.insert(std::upper_bound(one_more.begin(), one_more.end(), stray), stray);
  refused(one_more, "one smuggled step");
  std::size_t made = 0;
  if (std::filesystem::exists(keys))
    for (const auto& e : std::filesystem::recursive_directory_iterator(keys)) made += e.path().filename() == "secret.key";
  EXPECT_EQ(made, 0u) << "keys were made for a refused plan";
  // The honest plan is accepted and its keys are made.
  client::CkksClientCrypto ok(model, keys, {.threads = 1, .allow_insecure_params = true});
  EXPECT_FALSE(ok.evaluation_keys().empty());
}

// Item 8: every bundled model's plan, at 128-bit parameters in both packing modes, passes the
// client's check after the JSON round trip a client sees (the planner checks it as well, so a
// rule change that breaks this fails at planning time), and the geometric set stays small.
TEST(ClientPlanChecks, BundledPlansAreAccepted) {
  for (const char* name : {"brain64", "nuclei64", "brain128", "brain256"}) {
    const nn::Graph g = nn::load_model(std::string(CU_SOURCE_DIR) + "/models/" + name + ".onnx");
    for (auto mode : {packing::PackingMode::latency, packing::PackingMode::throughput}) {
      nn::PlanOptions o;
      o.mode = mode;
      o.batch = 0;
      nn::PlanFile pf{nn::make_plan(g, o), g.name, "00"};
      const nn::Plan p = nn::plan_from_json(nn::plan_to_json(pf)).plan;
      const std::string what = std::string(name) + " " + packing::mode_name(mode);
      EXPECT_NO_THROW(client::check_rotation_steps(p, what)) << what;
      const auto geometry = nn::geometry_rotation_steps(p);
      EXPECT_GE(geometry.size(), p.rotation_steps.size()) << what;
      EXPECT_LT(geometry.size(), 64u) << what << ": " << p.grid.slots << " slots";
    }
  }
}

}  // namespace
}  // namespace cryptounet::server::testing
