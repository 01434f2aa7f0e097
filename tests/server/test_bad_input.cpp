// Hostile and broken requests: each gets the right status and a JSON message, nothing is
// stored, and the server keeps serving well-behaved clients meanwhile.
#include "server_test_util.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <future>

namespace cryptounet::server::testing {
namespace {

/// Files under the data directory's sessions/ (the lock file is not stored data).
std::size_t stored_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  if (!std::filesystem::exists(dir / "sessions")) return 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir / "sessions"))
    n += e.is_regular_file() ? 1 : 0;
  return n;
}

/// A well-behaved client still gets its result.
void expect_still_serving(const TestServer& ts, std::uint64_t key_id) {
  InferenceClient c(ts.client_options());
  auto s = c.create_session("fake", fake::make_keys(key_id, kKeyBytes));
  const std::string ct = fake_ciphertext(key_id, 42);
  EXPECT_EQ(c.run_batch(s, {ct}).at(0), expected_result(key_id, ct));
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    InferenceClient c(ts.client_options());
    session = c.create_session("fake", fake::make_keys(11, kKeyBytes));
    files_before = stored_files(ts.dir.path());
  }
  httplib::Result post_job(const std::string& body, const httplib::Headers& headers) {
    httplib::Client raw(ts.url());
    return raw.Post(("/v1/sessions/" + session.id + "/jobs").c_str(), headers, body.data(),
                    body.size(), "application/octet-stream");
  }
  static void expect_error(const httplib::Result& r, int status) {
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, status) << r->body;
    json body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r->body;
    EXPECT_TRUE(body.contains("error"));
  }
  TestServer ts;
  client::Session session;
  std::size_t files_before = 0;
};

TEST_F(BadInput, GarbageKeysAreRejectedAndNothingStored) {
  httplib::Client raw(ts.url());
  std::string garbage(kKeyBytes, '\x5a');
  expect_error(raw.Post("/v1/models/fake/sessions", garbage, "application/octet-stream"), 400);
  expect_error(raw.Post("/v1/models/fake/sessions", garbage.substr(0, 100), "application/octet-stream"), 400);
  expect_error(raw.Post("/v1/models/fake/sessions", garbage + "x", "application/octet-stream"), 413);
  expect_error(raw.Post("/v1/models/nope/sessions", fake::make_keys(1, kKeyBytes), "application/octet-stream"), 404);
  // a ciphertext is not a key blob
  expect_error(raw.Post("/v1/models/fake/sessions", fake_ciphertext(1, 1).substr(0, kKeyBytes),
                        "application/octet-stream"),
               400);
  EXPECT_EQ(stored_files(ts.dir.path()), files_before);
  expect_still_serving(ts, 12);
}

TEST_F(BadInput, GarbageCiphertextsAreRejected) {
  const auto auth = bearer(session.token);
  expect_error(post_job(std::string(kCtBytes, '\0'), auth), 400);                // bad magic
  expect_error(post_job(fake_ciphertext(11, 1).substr(0, kCtBytes - 1), auth), 400);  // short
  expect_error(post_job(fake_ciphertext(11, 1) + "extra", auth), 413);               // long
  expect_error(post_job(fake::make_keys(11, kCtBytes), auth), 400);              // keys, not a ct
  auto h = auth;
  h.emplace("Idempotency-Key", "bad key with spaces");
  expect_error(post_job(fake_ciphertext(11, 1), h), 400);
  h = auth;
  h.emplace("Content-Encoding", "gzip");
  expect_error(post_job(fake_ciphertext(11, 1), h), 415);
  EXPECT_EQ(stored_files(ts.dir.path()), files_before);
  expect_still_serving(ts, 13);
}

TEST_F(BadInput, WrongMissingTokensAndUnknownIds) {
  const std::string ct = fake_ciphertext(11, 1);
  expect_error(post_job(ct, {}), 401);
  expect_error(post_job(ct, {{"Authorization", "Basic Zm9vOmJhcg=="}}), 401);
  // A wrong token of the right length: the first character changed (never to itself).
  std::string wrong = session.token;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  ASSERT_NE(wrong, session.token);
  expect_error(post_job(ct, bearer(wrong)), 404);
  expect_error(post_job(ct, bearer(session.token + "0")), 404);
  EXPECT_EQ(stored_files(ts.dir.path()), files_before);

  InferenceClient c(ts.client_options());
  const std::string job = c.submit(session, ct);
  httplib::Client raw(ts.url());
  const std::string unknown(32, 'a');
  // an unknown session and a known one with a wrong token answer alike
  auto r1 = raw.Get(("/v1/sessions/" + unknown).c_str(), bearer(session.token));
  auto r2 = raw.Get(("/v1/sessions/" + session.id).c_str(), bearer("wrong"));
  expect_error(r1, 404);
  expect_error(r2, 404);
  EXPECT_EQ(r1->body, r2->body);
  expect_error(raw.Get(("/v1/jobs/" + unknown).c_str(), bearer(session.token)), 404);
  expect_error(raw.Get(("/v1/jobs/" + job).c_str(), bearer("wrong")), 404);
  expect_error(raw.Get(("/v1/jobs/" + job).c_str()), 401);
  expect_error(raw.Get(("/v1/jobs/" + job + "/result").c_str(), bearer("wrong")), 404);
  expect_error(raw.Get(("/v1/jobs/" + unknown + "/result").c_str(), bearer(session.token)), 404);
  expect_error(raw.Delete(("/v1/sessions/" + session.id).c_str(), bearer("wrong")), 404);
  expect_error(raw.Get("/v1/jobs/../../etc/passwd"), 404);
  expect_error(raw.Get("/v1/jobs/ABC"), 404);
  expect_error(raw.Get("/v2/models"), 404);
  EXPECT_EQ(c.wait(session, job).state, "done");  // the session survived all of that
}

TEST_F(BadInput, OversizedContentLengthIsRefusedBeforeTheBody) {
  int fd = connect_local(ts.port);
  ASSERT_GE(fd, 0);
  send_all(fd, "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n"
               "Content-Type: application/octet-stream\r\n\r\n");
  send_all(fd, std::string(100, 'x'));
  const std::string response = read_all(fd);
  ::close(fd);
  EXPECT_EQ(status_of_raw(response), 413) << response;
  EXPECT_NE(response.find("larger than the limit"), std::string::npos);
  // no Content-Length at all
  fd = connect_local(ts.port);
  send_all(fd, "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "10\r\n0123456789abcdef\r\n0\r\n\r\n");
  EXPECT_EQ(status_of_raw(read_all(fd)), 411);
  ::close(fd);
  EXPECT_EQ(stored_files(ts.dir.path()), files_before);
  expect_still_serving(ts, 14);
}

TEST(TruncatedBody, IsRefusedAndNothingStored) {
  ServerConfig config;
  config.read_timeout = std::chrono::seconds(1);
  TestServer ts(config);
  const std::string keys = fake::make_keys(15, kKeyBytes);
  const std::string head = "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(kKeyBytes) + "\r\n\r\n";
  // the client stops sending half-way and waits: the server's read times out -> 400
  int fd = connect_local(ts.port);
  ASSERT_GE(fd, 0);
  send_all(fd, head);
  send_all(fd, keys.substr(0, kKeyBytes / 2));
  const std::string response = read_all(fd);
  ::close(fd);
  EXPECT_EQ(status_of_raw(response), 400) << response;
  EXPECT_NE(response.find("truncated"), std::string::npos);
  // the client half-closes after half the body: httplib sees a dead peer and answers nothing
  fd = connect_local(ts.port);
  send_all(fd, head);
  send_all(fd, keys.substr(0, kKeyBytes / 2));
  ::shutdown(fd, SHUT_WR);
  read_all(fd);
  ::close(fd);
  EXPECT_EQ(stored_files(ts.dir.path()), 0u);
  expect_still_serving(ts, 16);
}

TEST(HeaderFlood, EndlessRequestLineIsCutOffNotBuffered) {
  TestServer ts;
  int fd = connect_local(ts.port);
  ASSERT_GE(fd, 0);
  // 64 MiB without a newline: httplib 0.11.4 alone would buffer all of it
  const std::string chunk(1 << 16, 'A');
  std::size_t sent = 0;
  while (sent < (64u << 20)) {
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::close(fd);
  EXPECT_LT(sent, 16u << 20) << "the server kept reading a request line of " << sent << " bytes";
  // headers over the limit: refused, the connection closed
  fd = connect_local(ts.port);
  send_all(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'b') + "\r\n\r\n");
  const std::string response = read_all(fd);
  ::close(fd);
  EXPECT_NE(status_of_raw(response), 200);
  expect_still_serving(ts, 19);
}

TEST(UploadBudget, UploadsBeyondTheMemoryBudgetGet503) {
  ServerConfig config;
  config.max_upload_bytes_in_flight = kCtBytes;  // one blob at a time
  TestServer ts(config);
  const std::string keys = fake::make_keys(23, kKeyBytes);
  InferenceClient c(ts.client_options());
  auto session = c.create_session("fake", keys);
  const std::string ct = fake_ciphertext(23, 1);
  int fd = connect_local(ts.port);
  ASSERT_GE(fd, 0);
  send_all(fd, "POST /v1/sessions/" + session.id + "/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   session.token + "\r\nContent-Length: " + std::to_string(kCtBytes) + "\r\n\r\n");
  send_all(fd, ct.substr(0, 100));  // holds the whole budget
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  httplib::Client raw(ts.url());
  auto r = raw.Post("/v1/models/fake/sessions", keys, "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  send_all(fd, ct.substr(100));  // the first upload completes and frees its share
  EXPECT_EQ(status_of_raw(read_all(fd)), 202);
  ::close(fd);
  r = raw.Post("/v1/models/fake/sessions", keys, "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
}

TEST(Limits, SessionAndJobCountsAreBounded) {
  ServerConfig config;
  config.max_sessions = 2;
  config.max_jobs_per_session = 2;
  TestServer ts(config);
  InferenceClient c(ts.client_options());
  auto s1 = c.create_session("fake", fake::make_keys(1, kKeyBytes));
  auto s2 = c.create_session("fake", fake::make_keys(2, kKeyBytes));
  httplib::Client raw(ts.url());
  auto r = raw.Post("/v1/models/fake/sessions", fake::make_keys(3, kKeyBytes), "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  c.delete_session(s2);  // frees a place
  auto s3 = c.create_session("fake", fake::make_keys(3, kKeyBytes));
  c.submit(s1, fake_ciphertext(1, 1));
  c.submit(s1, fake_ciphertext(1, 2));
  try {
    c.submit(s1, fake_ciphertext(1, 3));
    FAIL() << "a third job in a session limited to two";
  } catch (const client::ServerError& e) {
    EXPECT_EQ(e.status(), 429);
  }
  c.submit(s3, fake_ciphertext(3, 1));  // other sessions are not affected
}

TEST(SlowClient, TrickledHeadersAreCutOff) {
  ServerConfig config;
  config.header_timeout = std::chrono::milliseconds(800);
  TestServer ts(config);
  int fd = connect_local(ts.port);
  ASSERT_GE(fd, 0);
  const auto t0 = std::chrono::steady_clock::now();
  send_all(fd, "GET /v1/health HTTP/1.1\r\n");
  bool cut = false;
  for (int i = 0; i < 20 && !cut; ++i) {  // one header line every 300 ms: would take 6 s
    if (::send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) <= 0) cut = true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 300) > 0) cut = true;  // answered or closed
  }
  ::close(fd);
  EXPECT_TRUE(cut);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  expect_still_serving(ts, 24);
}

TEST(SlowClient, IsCutOffWhileOthersAreServed) {
  ServerConfig config;
  config.upload_grace = std::chrono::seconds(1);
  config.read_timeout = std::chrono::seconds(3);
  TestServer ts(config);
  const std::string keys = fake::make_keys(17, kKeyBytes);
  auto slow = std::async(std::launch::async, [&] {
    int fd = connect_local(ts.port);
    send_all(fd, "POST /v1/models/fake/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(kKeyBytes) + "\r\n\r\n");
    // 16 bytes every 400 ms: would take 25 s; the deadline is 1 s
    std::string response;
    for (std::size_t sent = 0; sent < kKeyBytes; sent += 16) {
      if (::send(fd, keys.data() + sent, 16, MSG_NOSIGNAL) <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 400) > 0) break;  // the server answered (or closed)
    }
    response = read_all(fd);
    ::close(fd);
    return response;
  });
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  expect_still_serving(ts, 18);  // while the slow upload is going on
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  const std::string response = slow.get();
  EXPECT_EQ(status_of_raw(response), 408) << response;
  InferenceClient c(ts.client_options());
  EXPECT_EQ(c.list_models().size(), 1u);
}

}  // namespace
}  // namespace cryptounet::server::testing
