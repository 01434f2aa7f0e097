// A volume as ONE server job (POST .../jobs?items=N): the job's ciphertexts are streamed to disk
// and validated one by one, run in order, each item's result served as soon as it is stored.
//  - in process, fake service: the results of a 3-item job come back in order and match the
//    fake transform; oversized, malformed, short and partly invalid jobs are refused with a
//    one-line error and leave no staged upload behind; a job interrupted by a restart resumes
//    at its first missing item;
//  - `cryptounet client --volume` against a real `cryptounet serve` child (random_ops, INSECURE
//    N=2^11): the 5-slice phantom (one slice empty) goes out as one job of 4 ciphertexts, the
//    client shows per-slice progress with an ETA, and the mask (the input's geometry) agrees with
//    the local `segment-volume` run of the same plan on >= 99 % of the voxels (not byte for
//    byte: the two runs encrypt with fresh randomness, so logits differ by the CKKS noise and a
//    voxel whose logit is within that noise of the threshold may flip; 100 % is what we observe);
//  - a client killed (as by kill -9) after 2 slices keeps them: the rerun resumes 2 and sends a
//    job of the other 2 only;
//  - `serve --mode throughput` packs the 4 slices into one ciphertext (one run).
#include "server_test_util.h"

#include "../apps/phantom_volume.h"
#include "cryptounet/data/volume.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace cryptounet::server::testing {
namespace {
namespace fs = std::filesystem;

constexpr std::uint64_t kKeyId = 77;

/// A session on `srv` with fake keys; returns {session id, token}.
std::pair<std::string, std::string> fake_session(httplib::Client& c) {
  auto r = c.Post("/v1/models/fake/sessions", fake::make_keys(kKeyId, kKeyBytes), "application/octet-stream");
  EXPECT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
  const json j = json::parse(r->body);
  return {j["session_id"].get<std::string>(), j["token"].get<std::string>()};
}

std::size_t staged_files(const fs::path& data_dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(data_dir))
    n += e.path().filename().string().rfind(".tmp-upload-", 0) == 0;
  return n;
}

/// The one-line error of a JSON answer.
std::string error_of(const httplib::Result& r) {
  const json j = json::parse(r->body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : r->body;
}

TEST(VolumeJob, ItemsRunInOrderAndHostileJobsAreRefused) {
  ServerConfig config;
  config.max_job_items = 4;
  TestServer srv(config, fake_config(std::chrono::milliseconds(5)));
  httplib::Client c(srv.url());
  const auto [sid, token] = fake_session(c);
  const std::string jobs = "/v1/sessions/" + sid + "/jobs";
  std::string body;
  std::vector<std::string> cts;
  for (int i = 0; i < 3; ++i) {
    cts.push_back(fake_ciphertext(kKeyId, 100 + i));
    body += cts.back();
  }
  // More items than the server takes: refused before the body is stored.
  std::string five = body + cts[0] + cts[1];
  auto r = c.Post(jobs + "?items=5", bearer(token), five, "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(error_of(r).find("5 ciphertexts is more than this server takes in one job (4)"), std::string::npos)
      << r->body;
  // Not a count.
  r = c.Post(jobs + "?items=x1", bearer(token), body, "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(error_of(r).find("items must be a whole number from 1 to 4"), std::string::npos) << r->body;
  // A body that is not items x the ciphertext size.
  r = c.Post(jobs + "?items=3", bearer(token), body.substr(0, 2 * kCtBytes), "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(error_of(r).find("must be exactly " + std::to_string(3 * kCtBytes)), std::string::npos) << r->body;
  // One bad ciphertext among good ones: named by its index.
  std::string bad = body;
  bad[kCtBytes * 2] = 'X';  // the third one's magic
  r = c.Post(jobs + "?items=3", bearer(token), bad, "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(error_of(r).find("item 2 of 3 rejected"), std::string::npos) << r->body;
  EXPECT_EQ(error_of(r).find('\n'), std::string::npos) << "one line";
  // No token: 401, nothing stored.
  r = c.Post(jobs + "?items=3", body, "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(staged_files(srv.dir.path()), 0u) << "refused uploads leave nothing staged";

  // A good job: one job id, items counted, results in order.
  httplib::Headers h = bearer(token);
  r = c.Post(jobs + "?items=3", h, body, "application/octet-stream");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string jid = json::parse(r->body)["job_id"];
  json st;
  for (int i = 0; i < 500; ++i) {
    st = json::parse(c.Get("/v1/jobs/" + jid, h)->body);
    if (st["state"] == "done" || st["state"] == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(st["state"], "done") << st.dump();
  EXPECT_EQ(st["items"], 3);
  EXPECT_EQ(st["items_done"], 3);
  for (int i = 0; i < 3; ++i) {
    auto res = c.Get("/v1/jobs/" + jid + "/result?item=" + std::to_string(i), h);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->body, expected_result(kKeyId, cts[static_cast<std::size_t>(i)])) << "item " << i;
  }
  r = c.Get("/v1/jobs/" + jid + "/result?item=3", h);
  EXPECT_EQ(r->status, 404);
  r = c.Get("/v1/jobs/" + jid + "/result", h);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(error_of(r).find("?item=0..2"), std::string::npos) << r->body;
  // The same body again with the same idempotency key is the same job.
  h.emplace("Idempotency-Key", "vol-1");
  r = c.Post(jobs + "?items=3", h, body, "application/octet-stream");
  const std::string j1 = json::parse(r->body)["job_id"];
  r = c.Post(jobs + "?items=3", h, body, "application/octet-stream");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["job_id"], j1);
  // The client library: models say how many items a job may hold.
  client::InferenceClient ic(srv.client_options());
  EXPECT_EQ(ic.model("fake").max_job_items, 4);
}

TEST(VolumeJob, RestartResumesAtTheFirstMissingItem) {
  TempDir data;
  std::string jid, sid, token;
  std::vector<std::string> cts;
  std::string body;
  for (int i = 0; i < 4; ++i) {
    cts.push_back(fake_ciphertext(kKeyId, 200 + i));
    body += cts.back();
  }
  {
    // Slow stages: the server is stopped while the job is in its second or third item.
    TestServer srv({}, fake_config(std::chrono::milliseconds(40)), data.path());
    httplib::Client c(srv.url());
    std::tie(sid, token) = fake_session(c);
    auto r = c.Post("/v1/sessions/" + sid + "/jobs?items=4", bearer(token), body, "application/octet-stream");
    ASSERT_EQ(r->status, 202) << r->body;
    jid = json::parse(r->body)["job_id"];
    for (int i = 0; i < 500; ++i) {
      const json st = json::parse(c.Get("/v1/jobs/" + jid, bearer(token))->body);
      if (st["items_done"].get<int>() >= 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    srv.server->stop();
  }
  TestServer srv({}, fake_config(std::chrono::milliseconds(1)), data.path());
  httplib::Client c(srv.url());
  json st = json::parse(c.Get("/v1/jobs/" + jid, bearer(token))->body);
  const int kept = st["items_done"].get<int>();
  EXPECT_GE(kept, 1) << "finished items survive the restart";
  for (int i = 0; i < 500 && st["state"] != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    st = json::parse(c.Get("/v1/jobs/" + jid, bearer(token))->body);
  }
  ASSERT_EQ(st["state"], "done") << st.dump();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(c.Get("/v1/jobs/" + jid + "/result?item=" + std::to_string(i), bearer(token))->body,
              expected_result(kKeyId, cts[static_cast<std::size_t>(i)]));
}

// One worker; session A's 6-item volume is running when session B submits one image: B's job
// runs between two of A's items instead of after all of them, and A still completes correctly.
TEST(VolumeJob, AVolumeYieldsTheWorkerToOtherSessionsBetweenItems) {
  TestServer srv({}, fake_config(std::chrono::milliseconds(30)));  // 3 stages: ~90 ms per item
  httplib::Client c(srv.url());
  const auto [sa, ta] = fake_session(c);
  const auto [sb, tb] = fake_session(c);
  std::string body;
  std::vector<std::string> cts;
  for (int i = 0; i < 6; ++i) {
    cts.push_back(fake_ciphertext(kKeyId, 300 + i));
    body += cts.back();
  }
  auto r = c.Post("/v1/sessions/" + sa + "/jobs?items=6", bearer(ta), body, "application/octet-stream");
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string ja = json::parse(r->body)["job_id"];
  auto status = [&](const std::string& jid, const std::string& token) {
    return json::parse(c.Get("/v1/jobs/" + jid, bearer(token))->body);
  };
  for (int i = 0; i < 500 && status(ja, ta)["items_done"].get<int>() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  r = c.Post("/v1/sessions/" + sb + "/jobs", bearer(tb), fake_ciphertext(kKeyId, 999), "application/octet-stream");
  ASSERT_EQ(r->status, 202) << r->body;
  const std::string jb = json::parse(r->body)["job_id"];
  json b;
  for (int i = 0; i < 1000; ++i) {
    b = status(jb, tb);
    if (b["state"] == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(b["state"], "done");
  const json a_then = status(ja, ta);
  EXPECT_LT(a_then["items_done"].get<int>(), 6) << "B waited for the whole volume: " << a_then.dump();
  json a;
  for (int i = 0; i < 1000; ++i) {
    a = status(ja, ta);
    if (a["state"] == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(a["state"], "done") << a.dump();
  EXPECT_EQ(a["attempts"], 1) << "yielding is not a failed attempt";
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(c.Get("/v1/jobs/" + ja + "/result?item=" + std::to_string(i), bearer(ta))->body,
              expected_result(kKeyId, cts[static_cast<std::size_t>(i)]));
}

class ClientVolume : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = std::string(CU_SOURCE_DIR) + "/tests/fixtures/random_ops.onnx";
    geom_ = cli_test::phantom_geometry();
    data::write_nifti(path("in.nii.gz"), geom_, cli_test::phantom_voxels(), data::VoxelType::float32);
  }
  /// The real server for random_ops at INSECURE N=2^11 (`extra`: further serve flags).
  void start(const std::vector<std::string>& extra = {}) {
    srv_ = std::make_unique<RealChildServer>(data_.path(), model_, 11, extra);
  }
  [[nodiscard]] std::string path(const std::string& name) const { return (work_.path() / name).string(); }
  [[nodiscard]] std::string client(const std::string& out, const std::string& extra) const {
    return "client --server " + srv_->url() + " --insecure-test-params 11 --threads 1 --key-dir " + path("keys") +
           " --cache-dir " + path("cache") + " --volume " + path("in.nii.gz") + " -o " + path(out) + " " + extra;
  }
  static json json_of(const std::string& output) {
    const auto at = output.find("\n{");
    return json::parse(output.substr(at == std::string::npos ? 0 : at + 1));
  }
  static double agreement(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size() || a.empty()) return 0;
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    return static_cast<double>(same) / static_cast<double>(a.size());
  }

  TempDir data_, work_;
  std::string model_;
  data::VolumeGeometry geom_;
  std::unique_ptr<RealChildServer> srv_;
};

TEST_F(ClientVolume, OneServerJobEqualsTheLocalRunAndShowsProgress) {
  start();
  auto r = run_cli(client("srv.nii.gz", "--json"));
  ASSERT_EQ(r.status, 0) << r.output;
  const json j = json_of(r.output);
  EXPECT_EQ(j["jobs"], 1) << "the whole volume is one job";
  EXPECT_EQ(j["slices"], 5);
  EXPECT_EQ(j["empty"], 1);
  EXPECT_EQ(j["computed"], 4);
  EXPECT_NE(r.output.find("client: job "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4 ciphertext(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("client slice 4: 5/5 done (4 computed)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ETA"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("srv.nii.gz.partial"))) << "checkpoint removed after the output is written";

  // The same plan locally (the server plans latency mode at N=2^11).
  r = run_cli("segment-volume --model " + model_ + " " + path("in.nii.gz") + " -o " + path("local.nii.gz") +
              " --insecure-test-params 11 --mode latency --threads 1 --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  const data::Volume s = data::read_nifti_volume(path("srv.nii.gz")), l = data::read_nifti_volume(path("local.nii.gz"));
  EXPECT_EQ(s.geometry.dim, geom_.dim);
  EXPECT_EQ(s.geometry.sform, l.geometry.sform);
  EXPECT_EQ(s.geometry.spacing, l.geometry.spacing);
  const double agree = agreement(s.voxels, l.voxels);
  EXPECT_GE(agree, 0.99);
  std::printf("server job vs local segment-volume: %.4f %% of voxels equal\n", 100 * agree);
  std::size_t fg = 0;
  for (float v : s.voxels) fg += v != 0;
  EXPECT_GT(fg, 0u) << "a mask with something in it";

  // A model name the server does not have, and --volume with images: one-line refusals.
  r = run_cli(client("x.nii", "--model nosuch"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("the server has no model 'nosuch'"), std::string::npos) << r.output;
  r = run_cli(client("x.nii", path("in.nii.gz")));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("not both"), std::string::npos) << r.output;
}

TEST_F(ClientVolume, AbruptClientExitKeepsFinishedSlices) {
  start();
  setenv("CU_TEST_VOLUME_ABORT_AFTER", "2", 1);
  auto r = run_cli(client("out.nii.gz", ""));
  unsetenv("CU_TEST_VOLUME_ABORT_AFTER");
  EXPECT_EQ(r.status, 137) << r.output;
  ASSERT_TRUE(fs::exists(path("out.nii.gz.partial")));
  std::size_t kept = 0;
  for (const auto& e : fs::directory_iterator(path("out.nii.gz.partial")))
    kept += e.path().extension() == ".f32";
  EXPECT_EQ(kept, 2u);
  r = run_cli(client("out.nii.gz", "--json"));
  ASSERT_EQ(r.status, 0) << r.output;
  const json j = json_of(r.output);
  EXPECT_EQ(j["resumed"], 2) << "finished slices are not asked for again";
  EXPECT_EQ(j["computed"], 2);
  EXPECT_NE(r.output.find("2 ciphertext(s)"), std::string::npos) << "the rerun's job holds the other 2 only";
  r = run_cli(client("ref.nii.gz", "--quiet"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GE(agreement(data::read_nifti_volume(path("out.nii.gz")).voxels,
                      data::read_nifti_volume(path("ref.nii.gz")).voxels),
            0.99);
}

// `serve --mode throughput`: at N=2^11 a 16x16 plane leaves 4 rows, so the 4 non-empty slices
// travel in ONE ciphertext; the mask agrees with the local throughput run (same plan).
TEST_F(ClientVolume, ThroughputServerPacksSlicesIntoOneCiphertext) {
  start({"--mode", "throughput"});
  const auto split = run_cli_split(client("thr.nii.gz", "--json"));
  ASSERT_EQ(split.status, 0) << split.err;
  const json j = json::parse(split.out);  // stdout holds the JSON object alone; progress is on stderr
  EXPECT_EQ(j["slices_per_ciphertext"], 4);
  EXPECT_EQ(j["computed"], 4);
  EXPECT_NE(split.err.find(": 1 ciphertext(s), 4 slice(s) at most"), std::string::npos) << split.err;
  EXPECT_NE(split.err.find("client slice"), std::string::npos) << split.err;
  auto r = run_cli("segment-volume --model " + model_ + " " + path("in.nii.gz") + " -o " + path("local.nii.gz") +
              " --insecure-test-params 11 --mode throughput --threads 1 --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GE(agreement(data::read_nifti_volume(path("thr.nii.gz")).voxels,
                      data::read_nifti_volume(path("local.nii.gz")).voxels),
            0.99);
}

}  // namespace
}  // namespace cryptounet::server::testing
