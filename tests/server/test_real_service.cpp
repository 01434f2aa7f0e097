// The real CKKS service behind `cryptounet serve` (model_loader.cpp) and the real client crypto
// (client/ckks_client_crypto.cpp), at small INSECURE parameters (N = 2^11) on the random_ops
// fixture (1x16x16 -> 2x16x16):
//  - `cryptounet client` against a `cryptounet serve` child: the decrypted mask equals the
//    plaintext reference's mask except where the reference's own margin is inside the error bound,
//    and the decrypted logits are within 1e-3 x max|logit| of the reference;
//  - a second client with its own keys cannot read the first one's result (refused by the key-id
//    binding; forced past it, the decryption is garbage), and the server refuses to run the first
//    one's ciphertext under the second one's keys;
//  - the server refuses a secret key uploaded as evaluation keys, a ciphertext for another plan,
//    and the validators refuse truncated blobs and blobs for other parameters.
#include "server_test_util.h"

#include "client/ckks_client_crypto.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/data/png.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/segment.h"
#include "server/model_loader.h"
#include "distributed/mpi_run.h"
#include "support/child_process.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>

namespace cryptounet::server::testing {
namespace {
namespace fs = std::filesystem;

const std::string kModel = std::string(CU_SOURCE_DIR) + "/tests/fixtures/random_ops.onnx";
constexpr int kLogN = 11;

/// A deterministic 16x16 grey test image with structure (a blob on a gradient).
fs::path write_test_image(const fs::path& dir) {
  data::Image img(16, 16);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      const double d = std::hypot(x - 9.5, y - 6.5);
      img.at(y, x) = static_cast<float>(0.15 + 0.02 * x + (d < 5 ? 0.5 : 0.0));
    }
  const fs::path p = dir / "scan.png";
  data::write_image_png(p.string(), img);
  return p;
}

nn::Tensor reference_logits(const fs::path& image) {
  const nn::Graph g = nn::load_model(kModel);
  // The PNG round trip quantises to 8 bits: use the image as the client reads it.
  return nn::run_reference(g, nn::image_to_input(g, data::read_image(image.string()), false));
}

double max_abs(const nn::Tensor& t) {
  double m = 0;
  for (double v : t.data) m = std::max(m, std::abs(v));
  return m;
}

double max_diff(const nn::Tensor& a, const nn::Tensor& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

std::string bytes_to_string(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

client::ModelInfo the_model(client::InferenceClient& c) {
  const auto models = c.list_models();
  if (models.size() != 1) throw std::runtime_error("expected one model");
  return models[0];
}

TEST(RealService, ClientAndServerEndToEnd) {
  TempDir data, work;
  const fs::path image = write_test_image(work.path());
  const nn::Tensor want = reference_logits(image);
  ASSERT_EQ(want.shape.channels, 2);
  const double bound = 1e-3 * max_abs(want);

  RealChildServer srv(data.path(), kModel, kLogN);
  const client::ClientOptions opt = srv.options();

  // 1. `cryptounet client`: keys made, uploaded, image encrypted, run, decrypted, written.
  const fs::path keys = work.path() / "keys", out = work.path() / "out";
  auto [rc, text] = run_cli("client --insecure-test-params --server " + opt.server_url + " --key-dir " + keys.string() +
                            " --cache-dir " + (work.path() / "cache").string() + " --threads 1 -o " +
                            out.string() + " " + image.string());
  ASSERT_EQ(rc, 0) << text;
  ASSERT_TRUE(fs::exists(out / "scan.mask.png")) << text;
  ASSERT_TRUE(fs::exists(out / "scan.overlay.png")) << text;
  const data::Mask got_mask = data::read_mask((out / "scan.mask.png").string());
  const data::Mask want_mask = nn::logits_to_mask(want);
  ASSERT_EQ(got_mask.values.size(), want_mask.values.size());
  int differ = 0, near_tie = 0;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      const bool tie = std::abs(want.at(1, y, x) - want.at(0, y, x)) <= 2 * bound;
      near_tie += tie;
      if (got_mask.at(y, x) != want_mask.at(y, x)) {
        ++differ;
        EXPECT_TRUE(tie) << "pixel " << x << "," << y << " differs with a clear reference margin";
      }
    }
  EXPECT_LE(differ, near_tie);
  EXPECT_GT(want_mask.count(), 0u);  // the fixture image gives both classes: the check means something
  EXPECT_LT(want_mask.count(), want_mask.values.size());

  // 2. The same key folder in-process: the same evaluation-key bytes; secret key private.
  client::InferenceClient c(opt);
  const client::ModelInfo model = the_model(c);
  client::ClientCryptoOptions copt{
      .server_url = opt.server_url, .resize = false, .threads = 1, .allow_insecure_params = true};
  client::CkksClientCrypto a(model, keys, copt);
  struct stat st{};
  ASSERT_EQ(::stat((a.key_folder() / nn::kSecretKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  const std::string keys_a = a.evaluation_keys();
  EXPECT_EQ(keys_a, a.evaluation_keys());
  EXPECT_EQ(keys_a.size(), model.eval_keys.max_bytes);
  EXPECT_TRUE(model.eval_keys.exact && model.ciphertext.exact);
  const client::Session sa = c.create_session(model.name, keys_a);
  const std::string ct_a = a.encrypt_image(image);
  EXPECT_EQ(ct_a.size(), model.ciphertext.max_bytes);
  // Two encryptions of the image at once (two workers: concurrent run() calls share the
  // service, its context and its key cache).
  const std::string ct_a2 = a.encrypt_image(image);
  ASSERT_NE(ct_a, ct_a2);
  const std::vector<std::string> results = c.run_batch(sa, {ct_a, ct_a2});
  ASSERT_EQ(results.size(), 2u);
  const std::string& result_a = results[0];
  for (const std::string& r : results) {
    const nn::Tensor got = a.decrypt_logits(r);
    ASSERT_EQ(got.shape, want.shape);
    EXPECT_LE(max_diff(got, want), bound);
  }

  // Per-layer stages reach the metrics.
  httplib::Client raw(opt.server_url);
  auto m = raw.Get("/v1/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("serialise"), std::string::npos) << m->body;

  // 3. A second client with its own keys cannot read the first one's result.
  client::CkksClientCrypto b(model, work.path() / "keys-b", copt);
  EXPECT_NE(b.key_id(), a.key_id());
  EXPECT_THROW((void)b.decrypt_logits(result_a), InvalidArgument);
  {  // Forced past the key-id binding, b's secret key gives garbage.
    auto ctx = ckks::Context::create(nn::plan_params(b.plan().plan), ExecOptions{.threads = 1});
    const nn::EncryptedTensor t = nn::decode_encrypted_tensor(
        {reinterpret_cast<const std::uint8_t*>(result_a.data()), result_a.size()}, *ctx, "result");
    const ckks::SecretKey sk_b = ckks::load_secret_key_file((b.key_folder() / nn::kSecretKeyFile).string(), *ctx);
    const nn::Tensor wrong = nn::decrypt_outputs(ctx, sk_b, b.plan().plan, t.cts).at(0);
    EXPECT_GT(max_diff(wrong, want), 100 * max_abs(want));
  }
  // b's session refuses to run a's ciphertext (another key): the job fails with a message.
  const client::Session sb = c.create_session(model.name, b.evaluation_keys());
  const std::string job_b = c.submit(sb, ct_a);
  const client::JobStatus failed = c.wait(sb, job_b, {}, std::chrono::seconds(60));
  EXPECT_EQ(failed.state, "failed");
  EXPECT_NE(failed.error.find("another key"), std::string::npos) << failed.error;

  // 4. A secret key sent as evaluation keys (padded to the exact size): 400, no session.
  {
    auto ctx = ckks::Context::create(nn::plan_params(a.plan().plan), ExecOptions{.threads = 1});
    const ckks::SecretKey sk_a = ckks::load_secret_key_file((a.key_folder() / nn::kSecretKeyFile).string(), *ctx);
    std::vector<std::uint8_t> skb = ckks::save(sk_a, *ctx);
    std::string body = bytes_to_string(skb);
    ckks::wipe_bytes(skb);
    body.resize(model.eval_keys.max_bytes, '\0');
    auto r = raw.Post(("/v1/models/" + model.name + "/sessions").c_str(), body, "application/octet-stream");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    std::fill(body.begin(), body.end(), '\0');
  }
  // 5. A ciphertext made for another plan (same sizes, other model fingerprint): 400.
  {
    auto j = nlohmann::json::parse(model.plan_json);
    std::string fp = j.at("model").at("fingerprint").get<std::string>();
    fp[0] = fp[0] == '0' ? '1' : '0';
    j["model"]["fingerprint"] = fp;
    client::ModelInfo other = model;
    other.plan_json = j.dump();
    client::CkksClientCrypto o(other, keys, copt);
    const std::string ct_o = o.encrypt_image(image);
    ASSERT_EQ(ct_o.size(), ct_a.size());
    try {
      (void)c.submit(sa, ct_o);
      ADD_FAILURE() << "a ciphertext for another plan was accepted";
    } catch (const client::ServerError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_NE(std::string(e.what()).find("another plan"), std::string::npos) << e.what();
    }
  }
  c.delete_session(sa);
  c.delete_session(sb);
}

// `mpirun -np R cryptounet serve --mpi`: every image split across the ranks (latency mode). The
// results are byte for byte a one-process server's, for two images under one session's keys and
// for a second session's keys (keys sent ahead at session creation, and again with a job), at
// R = 2 and 3; keys refused at session creation leave the ranks serving; SIGTERM stops every rank. Without MPI in the build it skips, saying so.
TEST(RealService, MpiServerSplitsEachImageAndReturnsTheSameBytes) {
  if (!mpi_test::available()) GTEST_SKIP() << mpi_test::skip_reason();
  TempDir data, work;
  const fs::path image = write_test_image(work.path());
  const nn::Tensor want = reference_logits(image);
  RealChildServer one(data.path() / "one", kModel, kLogN);
  client::InferenceClient c1(one.options());
  const client::ModelInfo model = the_model(c1);
  client::ClientCryptoOptions copt{.server_url = one.url(), .resize = false, .threads = 1, .allow_insecure_params = true};
  client::CkksClientCrypto a(model, work.path() / "keys-a", copt);
  client::CkksClientCrypto b(model, work.path() / "keys-b", copt);
  const std::vector<std::string> cts_a{a.encrypt_image(image), a.encrypt_image(image)};
  const std::string ct_b = b.encrypt_image(image);
  const std::vector<std::string> want_a = c1.run_batch(c1.create_session(model.name, a.evaluation_keys()), cts_a);
  const std::vector<std::string> want_b = c1.run_batch(c1.create_session(model.name, b.evaluation_keys()), {ct_b});
  EXPECT_LE(max_diff(a.decrypt_logits(want_a[0]), want), 1e-3 * max_abs(want));

  for (int np : {2, 3}) {
    SCOPED_TRACE("np " + std::to_string(np));
    const std::string cmd = "exec env " + mpi_test::launcher(120) + " -np " + std::to_string(np) + " " + CU_CLI +
                            " serve --mpi --model " + kModel + " --insecure-test-params " + std::to_string(kLogN) +
                            " --threads 1 --workers 2 --port 0 --data-dir " +
                            (data.path() / ("mpi" + std::to_string(np))).string();
    test_support::ServerProcess srv({"/bin/sh", "-c", cmd}, std::chrono::seconds(60));
    ASSERT_NE(srv.port(), 0) << srv.first_line();
    client::ClientOptions o = one.options();
    o.server_url = srv.url();
    client::InferenceClient c(o);
    EXPECT_EQ(the_model(c).plan_json, model.plan_json);
    // Keys every rank refuses (checked at the same time on all of them): 400, and the ranks go on.
    {
      std::string junk(model.eval_keys.max_bytes, '\0');
      for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
      try {
        (void)c.create_session(model.name, junk);
        ADD_FAILURE() << "junk evaluation keys were accepted";
      } catch (const client::ServerError& e) {
        EXPECT_EQ(e.status(), 400) << e.what();
      }
    }
    // A new session's keys go to the other ranks at once when they are idle, else with its first
    // job: here b's keys were sent last, so a's first job sends a's again, and b's first job b's.
    const client::Session sa = c.create_session(model.name, a.evaluation_keys());
    const client::Session sb = c.create_session(model.name, b.evaluation_keys());
    EXPECT_EQ(c.run_batch(sa, cts_a), want_a);
    EXPECT_EQ(c.run_batch(sb, {ct_b}), want_b);
    EXPECT_EQ(c.run_batch(sb, {ct_b}), want_b);
    srv.stop();
  }
  // Under mpirun without --mpi every rank would start its own server: refused, saying what to pass.
  const mpi_test::Run r = mpi_test::mpirun(2, std::string(CU_CLI) + " serve --model " + kModel +
                                                 " --insecure-test-params --port 0 --data-dir " +
                                                 (data.path() / "refused").string());
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("pass --mpi"), std::string::npos) << r.output;
}

TEST(RealService, ValidatorsRefuseSecretKeysTruncationAndOtherParameters) {
  TempDir work;
  const auto services = load_model_services({kModel}, ModelLoadOptions{.insecure_test_log_n = kLogN, .threads = 1});
  ASSERT_EQ(services.size(), 1u);
  const ModelService& s = *services[0];
  EXPECT_EQ(s.name(), "random_ops");
  client::ModelInfo model{s.name(), s.plan_json(), {s.eval_keys_size().max_bytes, true},
                          {s.ciphertext_size().max_bytes, true}, 1, ""};
  client::CkksClientCrypto a(model, work.path() / "k", {.server_url = "", .resize = false, .threads = 1, .allow_insecure_params = true});
  const std::string keys = a.evaluation_keys();
  const std::string ct = a.encrypt_image(write_test_image(work.path()));
  EXPECT_NO_THROW(s.validate_eval_keys(keys));
  EXPECT_NO_THROW(s.validate_ciphertext(ct));

  // Secret key (as it is, and padded to the exact size).
  auto ctx = ckks::Context::create(nn::plan_params(a.plan().plan), ExecOptions{.threads = 1});
  {
    const ckks::SecretKey sk = ckks::load_secret_key_file((a.key_folder() / nn::kSecretKeyFile).string(), *ctx);
    std::vector<std::uint8_t> skb = ckks::save(sk, *ctx);
    std::string body = bytes_to_string(skb);
    ckks::wipe_bytes(skb);
    EXPECT_THROW(s.validate_eval_keys(body), Error);
    body.resize(keys.size(), '\0');
    EXPECT_THROW(s.validate_eval_keys(body), Error);
    std::fill(body.begin(), body.end(), '\0');
  }
  // Truncated and bit-flipped.
  EXPECT_THROW(s.validate_eval_keys(keys.substr(0, keys.size() - 1)), Error);
  EXPECT_THROW(s.validate_ciphertext(ct.substr(0, ct.size() - 1)), Error);
  EXPECT_THROW(s.validate_ciphertext(ct.substr(0, 40)), Error);
  std::string ct_flip = ct;
  ct_flip[20] ^= 0x5a;  // inside the header's parameter fingerprint
  EXPECT_THROW(s.validate_ciphertext(ct_flip), Error);
  // Keys for other parameters (N = 2^12), cut to this model's size.
  const auto other = load_model_services({kModel}, ModelLoadOptions{.insecure_test_log_n = kLogN + 1, .threads = 1});
  client::ModelInfo model12{other[0]->name(), other[0]->plan_json(), {other[0]->eval_keys_size().max_bytes, true},
                            {other[0]->ciphertext_size().max_bytes, true}, 1, ""};
  client::CkksClientCrypto b(model12, work.path() / "k", {.server_url = "", .resize = false, .threads = 1, .allow_insecure_params = true});
  EXPECT_NE(b.key_folder(), a.key_folder());
  std::string keys12 = b.evaluation_keys();
  ASSERT_GE(keys12.size(), keys.size());
  keys12.resize(keys.size());
  EXPECT_THROW(s.validate_eval_keys(keys12), Error);
  // A ciphertext-shaped blob where keys belong, and keys where a ciphertext belongs.
  EXPECT_THROW(s.validate_eval_keys(ct), Error);
  EXPECT_THROW(s.validate_ciphertext(keys), Error);
  // Random bytes of the exact size.
  std::string junk(keys.size(), '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
  EXPECT_THROW(s.validate_eval_keys(junk), Error);
}

// A session the service has not seen (made before a restart) has its first job read and hash the
// stored key blob; its later jobs, while the keys stay cached, read nothing and give the same bytes. Another session with the same keys reads once too;
// without a key cache every job reads; a session whose stored blob is not keys fails its job.
TEST(RealService, SessionKeysAreReadOnlyUntilTheServiceKnowsTheSession) {
  TempDir work;
  const auto services = load_model_services({kModel}, ModelLoadOptions{.insecure_test_log_n = kLogN, .threads = 1});
  const auto uncached = load_model_services(
      {kModel}, ModelLoadOptions{.insecure_test_log_n = kLogN, .threads = 1, .key_cache_entries = 0});
  const ModelService& s = *services[0];
  client::ModelInfo model{s.name(), s.plan_json(), {s.eval_keys_size().max_bytes, true},
                          {s.ciphertext_size().max_bytes, true}, 1, ""};
  client::CkksClientCrypto a(model, work.path() / "k", {.server_url = "", .resize = false, .threads = 1, .allow_insecure_params = true});
  const std::string keys = a.evaluation_keys();
  const std::string ct = a.encrypt_image(write_test_image(work.path()));
  int reads = 0;
  auto session = [&](std::string id, std::string blob, std::string identity = {}) {
    return SessionKeys{std::move(id), std::move(identity), [&reads, blob] {
                         ++reads;
                         return blob;
                       }};
  };
  const ProgressCallback quiet = [](double, std::string_view) {};
  const SessionKeys first = session("s1", keys);
  const std::string out1 = s.run(first, ct, quiet);
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(s.run(first, ct, quiet), out1);
  EXPECT_EQ(reads, 1);
  const SessionKeys second = session("s2", keys);
  EXPECT_EQ(s.run(second, ct, quiet), out1);
  EXPECT_EQ(s.run(second, ct, quiet), out1);
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(s.run(first, ct, quiet), out1);
  EXPECT_EQ(reads, 2);

  EXPECT_EQ(uncached[0]->run(first, ct, quiet), out1);
  EXPECT_EQ(uncached[0]->run(first, ct, quiet), out1);
  EXPECT_EQ(reads, 4);

  std::string junk(keys.size(), '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
  EXPECT_THROW(s.run(session("s3", junk), ct, quiet), Error);

  // A session created by this server process comes with what the validator returned: its first
  // job reads nothing either. If the stored blob is not those keys (changed on disk), the job fails.
  const std::string identity = s.validate_eval_keys(keys);
  EXPECT_EQ(identity.size(), 64u);  // the SHA-256 digest, hex
  reads = 0;
  EXPECT_EQ(s.run(session("s4", keys, identity), ct, quiet), out1);
  EXPECT_EQ(reads, 0);
  EXPECT_EQ(uncached[0]->run(session("s5", keys, identity), ct, quiet), out1);  // no cache: read and checked
  EXPECT_EQ(reads, 1);
  EXPECT_THROW(uncached[0]->run(session("s6", keys, std::string(64, '0')), ct, quiet), IoError);
}

}  // namespace
}  // namespace cryptounet::server::testing
