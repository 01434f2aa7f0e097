// The inference server through real HTTP on 127.0.0.1 with the fake service: happy path,
// concurrent clients, idempotency, queue limits, authorization, persistence and expiry.
#include "server_test_util.h"

#include "server/job_store.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <future>

namespace cryptounet::server::testing {
namespace {

TEST(InferenceServer, HappyPathThroughClient) {
  TestServer ts;
  InferenceClient c(ts.client_options());
  auto models = c.list_models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].name, "fake");
  EXPECT_EQ(models[0].eval_keys.max_bytes, kKeyBytes);
  EXPECT_TRUE(models[0].ciphertext.exact);
  EXPECT_EQ(json::parse(models[0].plan_json).at("kind"), "fake");

  const std::uint64_t key_id = 0x1122334455667788ull;
  auto session = c.open_session("fake", fake::make_keys(key_id, kKeyBytes));
  std::vector<std::string> cts = {fake_ciphertext(key_id, 1), fake_ciphertext(key_id, 2)};
  std::vector<double> last_progress(2, -1);
  auto results = c.run_batch(session, cts, [&](std::size_t i, const client::JobStatus& s) {
    EXPECT_GE(s.progress, last_progress[i]);  // progress never goes back
    last_progress[i] = s.progress;
  });
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], expected_result(key_id, cts[0]));
  EXPECT_EQ(results[1], expected_result(key_id, cts[1]));
  EXPECT_EQ(last_progress[0], 1.0);

  httplib::Client raw(ts.url());
  auto m = raw.Get("/v1/metrics");
  ASSERT_TRUE(m);
  json metrics = json::parse(m->body);
  EXPECT_EQ(metrics["jobs"]["done"], 2);
  EXPECT_EQ(metrics["runs_completed"], 2);
  EXPECT_EQ(metrics["bytes_in"], kKeyBytes + 2 * kCtBytes);
  EXPECT_EQ(metrics["bytes_out"], 2 * kCtBytes);
  EXPECT_TRUE(metrics["stages"].contains("stage0"));
  auto h = raw.Get("/v1/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
}

TEST(InferenceServer, FourClientsAtOnceSeeOnlyTheirOwnResults) {
  ServerConfig config;
  config.workers = 2;
  TestServer ts(config);
  struct Outcome {
    client::Session session;
    std::vector<std::string> jobs;
    std::vector<std::string> results;
    std::vector<std::string> cts;
  };
  auto run_client = [&](std::uint64_t key_id) {
    InferenceClient c(ts.client_options());
    Outcome o;
    o.session = c.open_session("fake", fake::make_keys(key_id, kKeyBytes));
    for (std::uint64_t i = 0; i < 3; ++i) o.cts.push_back(fake_ciphertext(key_id, key_id * 10 + i));
    for (const auto& ct : o.cts) o.jobs.push_back(c.submit(o.session, ct));
    for (const auto& j : o.jobs) {
      EXPECT_EQ(c.wait(o.session, j).state, "done");
      o.results.push_back(c.result(o.session, j));
    }
    return o;
  };
  std::vector<std::future<Outcome>> futures;
  for (std::uint64_t k = 1; k <= 4; ++k)
    futures.push_back(std::async(std::launch::async, run_client, 1000 + k));
  std::vector<Outcome> outcomes;
  for (auto& f : futures) outcomes.push_back(f.get());
  for (std::size_t a = 0; a < 4; ++a) {
    const std::uint64_t key_id = 1001 + a;
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(outcomes[a].results[i], expected_result(key_id, outcomes[a].cts[i]));
      // the result decodes to the image only with the client's own key
      const std::string_view payload = std::string_view(outcomes[a].results[i]).substr(fake::kHeaderBytes);
      EXPECT_EQ(fake::untransform_payload(key_id, payload),
                std::string_view(outcomes[a].cts[i]).substr(fake::kHeaderBytes));
      EXPECT_NE(fake::untransform_payload(key_id + 1, payload),
                std::string_view(outcomes[a].cts[i]).substr(fake::kHeaderBytes));
    }
    // no client can read another's jobs or session
    const Outcome& other = outcomes[(a + 1) % 4];
    httplib::Client raw(ts.url());
    auto r = raw.Get(("/v1/jobs/" + other.jobs[0]).c_str(), bearer(outcomes[a].session.token));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    r = raw.Get(("/v1/jobs/" + other.jobs[0] + "/result").c_str(), bearer(outcomes[a].session.token));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    r = raw.Get(("/v1/sessions/" + other.session.id).c_str(), bearer(outcomes[a].session.token));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
  }
}

TEST(InferenceServer, IdempotencyKeyReturnsTheSameJob) {
  TestServer ts;
  InferenceClient c(ts.client_options());
  auto session = c.create_session("fake", fake::make_keys(5, kKeyBytes));
  const std::string ct = fake_ciphertext(5, 1);
  const std::string a = c.submit(session, ct);
  const std::string b = c.submit(session, ct);  // default key: the ciphertext's digest
  EXPECT_EQ(a, b);
  const std::string c1 = c.submit(session, ct, "image-1");
  EXPECT_NE(c1, a);
  EXPECT_EQ(c.submit(session, ct, "image-1"), c1);
  expect_server_error(409, [&] { c.submit(session, fake_ciphertext(5, 2), "image-1"); },
                      "a reused key with another ciphertext must be refused");
  c.wait(session, a);
  c.wait(session, c1);
  httplib::Client raw(ts.url());
  auto r = raw.Get(("/v1/sessions/" + session.id).c_str(), bearer(session.token));
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["jobs"].size(), 2u);  // not 4
}

TEST(InferenceServer, FullQueueAnswers503WithRetryAfterAndClientRetries) {
  ServerConfig config;
  config.queue_capacity = 1;
  config.retry_after_seconds = 1;
  TestServer ts(config, fake_config(300ms));  // 3 stages: 900 ms per job
  InferenceClient c(ts.client_options());
  auto session = c.create_session("fake", fake::make_keys(9, kKeyBytes));
  // the first job is running (it left the queue) before the others come
  const std::string first = c.submit(session, fake_ciphertext(9, 99));
  while (c.status(session, first).state == "queued") std::this_thread::sleep_for(5ms);
  httplib::Client raw(ts.url());
  int accepted = 1, busy = 0;
  for (int i = 0; i < 3; ++i) {
    const std::string ct = fake_ciphertext(9, 100 + i);
    auto r = raw.Post(("/v1/sessions/" + session.id + "/jobs").c_str(), bearer(session.token),
                      ct.data(), ct.size(), "application/octet-stream");
    ASSERT_TRUE(r);
    if (r->status == 202) ++accepted;
    if (r->status == 503) {
      ++busy;
      EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    }
  }
  // one job running, one queued, the rest refused
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(busy, 2);
  // the client library waits out the 503s and gets its job in
  const std::string late = c.submit(session, fake_ciphertext(9, 200));
  EXPECT_EQ(c.wait(session, late).state, "done");
  auto m = raw.Get("/v1/metrics");
  ASSERT_TRUE(m);
  EXPECT_GE(json::parse(m->body)["rejected_busy"].get<int>(), 2);
}

TEST(InferenceServer, FailedJobReportsItsErrorAndHasNoResult) {
  TestServer ts;
  InferenceClient c(ts.client_options());
  auto session = c.create_session("fake", fake::make_keys(3, kKeyBytes));
  std::string payload(kCtBytes - fake::kHeaderBytes, 'x');
  payload.replace(0, 8, "FAILJOB!");
  const std::string job = c.submit(session, fake::make_blob(fake::kCiphertextMagic, 3, payload));
  auto st = c.wait(session, job);
  EXPECT_EQ(st.state, "failed");
  EXPECT_NE(st.error.find("test hook"), std::string::npos);
  // a ciphertext made for other keys passes validation but fails in run
  const std::string other = c.submit(session, fake_ciphertext(4, 1));
  st = c.wait(session, other);
  EXPECT_EQ(st.state, "failed");
  EXPECT_NE(st.error.find("other keys"), std::string::npos);
  expect_server_error(409, [&] { c.result(session, job); });
}

TEST(InferenceServer, DeleteSessionRemovesEverything) {
  TestServer ts;
  InferenceClient c(ts.client_options());
  auto session = c.create_session("fake", fake::make_keys(8, kKeyBytes));
  const std::string job = c.submit(session, fake_ciphertext(8, 1));
  c.wait(session, job);
  ASSERT_TRUE(std::filesystem::exists(ts.dir.path() / "sessions" / session.id));
  c.delete_session(session);
  EXPECT_FALSE(std::filesystem::exists(ts.dir.path() / "sessions" / session.id));
  expect_server_error(404, [&] { c.status(session, job); });
}

TEST(InferenceServer, RestartServesResultsAndRunsQueuedJobs) {
  TempDir data;
  ServerConfig config;
  config.data_dir = data.path();
  client::Session session;
  std::string done_job, ct1 = fake_ciphertext(21, 1), ct2 = fake_ciphertext(21, 2);
  std::vector<std::string> pending;
  {
    TestServer ts(config, fake_config(100ms));
    InferenceClient c(ts.client_options());
    session = c.create_session("fake", fake::make_keys(21, kKeyBytes));
    done_job = c.submit(session, ct1);
    ASSERT_EQ(c.wait(session, done_job).state, "done");
    pending.push_back(c.submit(session, ct2));
    pending.push_back(c.submit(session, fake_ciphertext(21, 3)));
    // stop now: the first pending job is cancelled mid-run, the second never started
  }
  TestServer ts(config, fake_config(5ms));
  InferenceClient c(ts.client_options());
  EXPECT_EQ(c.result(session, done_job), expected_result(21, ct1));
  for (const auto& j : pending) EXPECT_EQ(c.wait(session, j).state, "done");
  EXPECT_EQ(c.result(session, pending[0]), expected_result(21, ct2));
  // the cancelled run did not count as an attempt that failed
  httplib::Client raw(ts.url());
  auto r = raw.Get(("/v1/jobs/" + pending[0]).c_str(), bearer(session.token));
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["attempts"], 1);
}

TEST(InferenceServer, TwoServersCannotShareADataDirectory) {
  TempDir data;
  ServerConfig config;
  config.data_dir = data.path();
  TestServer first(config);
  EXPECT_THROW(TestServer second(config), IoError);
}

TEST(InferenceServer, ExpiryDeletesIdleSessionsAndResults) {
  ServerConfig config;
  config.ttl = std::chrono::seconds(1);
  config.expiry_interval = std::chrono::milliseconds(50);
  TestServer ts(config);
  InferenceClient c(ts.client_options());
  auto session = c.create_session("fake", fake::make_keys(2, kKeyBytes));
  const std::string job = c.submit(session, fake_ciphertext(2, 1));
  c.wait(session, job);
  const auto dir = ts.dir.path() / "sessions" / session.id;
  EXPECT_TRUE(std::filesystem::exists(dir));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::filesystem::exists(dir) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(std::filesystem::exists(dir));
  httplib::Client raw(ts.url());
  auto r = raw.Get(("/v1/jobs/" + job).c_str(), bearer(session.token));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST(InferenceServer, SessionCacheUploadsKeysOnce) {
  TestServer ts;
  TempDir cache;
  auto options = ts.client_options();
  options.cache_dir = cache.path();
  const std::string keys = fake::make_keys(77, kKeyBytes);
  client::Session first, second, third;
  {
    InferenceClient c(options);
    first = c.open_session("fake", keys);
  }
  {
    InferenceClient c(options);
    second = c.open_session("fake", keys);
    third = c.open_session("fake", fake::make_keys(78, kKeyBytes));  // new keys: new session
  }
  EXPECT_EQ(first.id, second.id);
  EXPECT_EQ(first.token, second.token);
  EXPECT_NE(third.id, first.id);
  httplib::Client raw(ts.url());
  auto m = raw.Get("/v1/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(json::parse(m->body)["sessions"], 2);
  // a session the server no longer has is replaced
  InferenceClient c(options);
  c.delete_session(third);
  auto fourth = c.open_session("fake", fake::make_keys(78, kKeyBytes));
  EXPECT_NE(fourth.id, third.id);
}

TEST(JobStore, InterruptedTooOftenIsMarkedFailed) {
  TempDir data;
  std::string sid, jid;
  for (int attempt = 0; attempt < 3; ++attempt) {
    JobStore store(data.path(), 4, 2);
    store.load({"m"});
    if (attempt == 0) {
      sid = store.create_session("m", "keys").id;
      jid = store.submit_job(sid, "", "ct").job_id;
    }
    auto info = store.job(jid, sid);
    ASSERT_TRUE(info);
    if (attempt < 2) {
      EXPECT_EQ(info->state, JobState::kQueued);
      auto claim = store.claim_next();  // "running", then the process "dies"
      ASSERT_TRUE(claim);
      EXPECT_EQ(claim->job_id, jid);
    } else {
      EXPECT_EQ(info->state, JobState::kFailed);
      EXPECT_NE(info->error.find("interrupted 2 times"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace cryptounet::server::testing
