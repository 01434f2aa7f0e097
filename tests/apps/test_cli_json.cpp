// `--json` on every command that produces a result a script reads: stdout is one JSON object (and
// nothing else), the human lines and progress are on stderr. And `--insecure-test-params[=LOGN]`
// with one shape on every command: a value (after '=' or, the old spelling, a space) sets the ring
// where a command plans, no value picks the smallest ring that holds the input plane, and where a
// command is given a plan a value must be the plan's ring. Small INSECURE parameters (N=2^10, 2^11)
// on the committed 16x16 fixture; the client runs against a real `serve` child at N=2^11.
#include "apps/cli_runner.h"
#include "cryptounet/data/png.h"
#include "data/image_writers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace cryptounet {
namespace {

using namespace cli_test;

/// stdout parses as one JSON object; returns it (an empty object, with a test failure, if not).
nlohmann::json json_of(const SplitRun& r, const std::string& what) {
  EXPECT_EQ(r.status, 0) << what << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
  try {
    nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j.is_object()) << what << ": " << r.out;
    return j;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": stdout is not JSON (" << e.what() << "):\n" << r.out << "\nstderr:\n" << r.err;
    return nlohmann::json::object();
  }
}

/// The command line of `cryptounet serve --port 0 ARGS` (the child prints its port on stdout).
std::vector<std::string> serve_argv(const std::vector<std::string>& args) {
  std::vector<std::string> all{CU_CLI, "serve", "--port", "0"};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

class CliJson : public CliTest {
 protected:
  CliJson() : CliTest("cu_json") {}
  void prepare() override {
    data::Image img(16, 16);
    std::mt19937 rng(3);
    for (auto& p : img.pixels) p = static_cast<float>(rng() % 256) / 255.0f;
    image_ = path("img.png");
    data::write_image_png(image_, img);
  }

  std::string image_;
};

TEST_F(CliJson, TheWorkflowCommandsPrintOneObjectAndTheirLinesOnStderr) {
  const std::string plan = path("p.cup"), keys = path("keys");
  auto r = run_cli_split("plan --model " + model_ + " --insecure-test-params=11 -o " + plan + " --json");
  auto j = json_of(r, "plan");
  EXPECT_EQ(j.value("log_n", 0), 11);
  EXPECT_EQ(j.value("security", ""), "insecure_for_tests");
  EXPECT_EQ(j.value("plan_file", ""), plan);
  EXPECT_GT(j.value("eval_keys_bytes", 0), 0);
  EXPECT_THAT(r.err, HasSubstr("plan: N=2^11"));  // the cost table
  EXPECT_THAT(r.err, HasSubstr("wrote " + plan));

  r = run_cli_split("keygen " + plan + " -o " + keys + " --threads 1 --insecure-test-params --json");
  j = json_of(r, "keygen");
  EXPECT_EQ(j.value("eval_keys", ""), keys + "/eval.keys");
  EXPECT_EQ(j.value("log_n", 0), 11);
  EXPECT_EQ(j.value("eval_keys_bytes", std::uint64_t{0}), fs::file_size(keys + "/eval.keys"));
  EXPECT_THAT(r.err, HasSubstr("keys for plan"));

  r = run_cli_split("encrypt --plan " + plan + " --keys " + keys + " " + image_ + " -o " + path("in.ct") +
                    " --threads 1 --insecure-test-params --json");
  j = json_of(r, "encrypt");
  EXPECT_EQ(j.value("bytes", std::uint64_t{0}), fs::file_size(path("in.ct")));
  EXPECT_THAT(r.err, HasSubstr("ciphertext(s) at level"));

  r = run_cli_split("infer --model " + model_ + " --plan " + plan + " --eval-keys " + keys + "/eval.keys " +
                    path("in.ct") + " -o " + path("out.ct") + " --threads 1 --json");
  j = json_of(r, "infer");
  ASSERT_EQ(j["outputs"].size(), 1u) << r.out;
  EXPECT_EQ(j["outputs"][0].value("output", ""), path("out.ct"));
  EXPECT_EQ(j["outputs"][0].value("bytes", std::uint64_t{0}), fs::file_size(path("out.ct")));
  EXPECT_THAT(r.err, HasSubstr("output ciphertext(s)"));

  r = run_cli_split("decrypt --keys " + keys + " --plan " + plan + " " + path("out.ct") + " -o " +
                    path("mask.png") + " --threads 1 --json");
  j = json_of(r, "decrypt");
  ASSERT_EQ(j["masks"].size(), 1u) << r.out;
  EXPECT_EQ(j["masks"][0].value("mask", ""), path("mask.png"));
  EXPECT_EQ(j["masks"][0].value("width", 0), 16);
  EXPECT_TRUE(fs::exists(path("mask.png")));
  EXPECT_THAT(r.err, HasSubstr("decrypted in"));

  // Without --json the same lines are on stdout, as before.
  r = run_cli_split("decrypt --keys " + keys + " --plan " + plan + " " + path("out.ct") + " -o " +
                    path("mask2.png") + " --threads 1");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("decrypted in"));
}

TEST_F(CliJson, TheOneShotCommandsPrintOneObjectAndTheirLinesOnStderr) {
  auto r = run_cli_split("predict --model " + model_ + " " + image_ + " -o " + path("p.png") + " --json");
  auto j = json_of(r, "predict");
  EXPECT_EQ(j.value("mask", ""), path("p.png"));
  EXPECT_GE(j.value("foreground_fraction", -1.0), 0.0);
  EXPECT_THAT(r.err, HasSubstr("foreground"));

  r = run_cli_split("segment --model " + model_ + " " + image_ + " -o " + path("s.png") +
                    " --threads 1 --insecure-test-params 11 --json");
  j = json_of(r, "segment");
  EXPECT_EQ(j.value("log_n", 0), 11);
  EXPECT_LT(j.value("max_logit_error", 1.0), 1e-2);
  EXPECT_THAT(r.err, HasSubstr("agreement with plaintext"));
  EXPECT_THAT(r.err, HasSubstr("INSECURE"));

  r = run_cli_split("inspect --model " + model_ + " --json");
  j = json_of(r, "inspect");
  EXPECT_EQ(j["input"].value("height", 0), 16);
  EXPECT_FALSE(j["nodes"].empty());
  EXPECT_THAT(r.err, HasSubstr("depth ="));  // the legend

  ASSERT_EQ(run_cli("dataset synth --count 4 --size 16 --seed 2 -o " + path("data")).status, 0);
  r = run_cli_split("evaluate --plaintext --model " + model_ + " " + path("data") + " --split all --json");
  j = json_of(r, "evaluate");
  EXPECT_THAT(r.err, Not(HasSubstr("deprecated")));
  // The old spelling still works, with a note.
  r = run_cli_split("evaluate --plain --model " + model_ + " " + path("data") + " --split all --json");
  json_of(r, "evaluate --plain");
  EXPECT_THAT(r.err, HasSubstr("note: --plain is deprecated; use --plaintext"));

  // A 16x16x3 NIfTI volume, slice by slice, plaintext reference.
  std::vector<std::int16_t> vox(16 * 16 * 3);
  for (std::size_t i = 0; i < vox.size(); ++i) vox[i] = static_cast<std::int16_t>((i * 37) % 200);
  test_images::write_file(path("v.nii"), test_images::make_nifti(16, 16, 3, vox, 0.0f, 0.0f));
  r = run_cli_split("segment-volume --model " + model_ + " " + path("v.nii") + " -o " + path("m.nii") +
                    " --plaintext --no-checkpoint --threads 1 --json");
  json_of(r, "segment-volume");
  EXPECT_TRUE(fs::exists(path("m.nii")));
  EXPECT_FALSE(r.err.empty());

  r = run_cli_split("bench unet --model " + model_ + " --threads 1 --insecure-test-params=11 --json");
  j = json_of(r, "bench unet");
  EXPECT_THAT(r.err, HasSubstr("INSECURE"));

  r = run_cli_split("bench ckks --params P1 --only add --reps 1 --json");
  json_of(r, "bench ckks");
}

TEST_F(CliJson, ClientAgainstARealServer) {
  test_support::ServerProcess srv(
      serve_argv({"--model", model_, "--data-dir", path("srv"), "--threads", "1", "--insecure-test-params=11"}),
      std::chrono::seconds(60));
  ASSERT_GT(srv.port(), 0) << "serve did not start";
  const std::string common = "client --server " + srv.url() + " --no-cache --key-dir " + path("k") + " -o " +
                             path("out") + " --threads 1 " + image_;
  // A ring that is not the plan's: refused before any key is made.
  auto r = run_cli_split(common + " --insecure-test-params=12 --json");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.err, HasSubstr("--insecure-test-params=12 expects N=2^12, but the plan of model"));
  EXPECT_THAT(r.err, HasSubstr("is at N=2^11"));
  EXPECT_TRUE(r.out.empty()) << r.out;

  r = run_cli_split(common + " --insecure-test-params 11 --json");
  auto j = json_of(r, "client");
  ASSERT_EQ(j["images"].size(), 1u) << r.out;
  EXPECT_EQ(j["images"][0].value("image", ""), image_);
  for (const auto& f : j["images"][0]["files"]) EXPECT_TRUE(fs::exists(f.get<std::string>())) << f;
  EXPECT_THAT(r.err, HasSubstr("client: model"));  // progress
}

TEST_F(CliJson, InsecureTestParamsHasOneShape) {
  // Every command that takes it shows the same [=LOGN] form.
  for (const char* c : {"plan", "segment", "evaluate", "segment-volume", "serve", "bench unet", "keygen",
                        "encrypt", "client"})
    EXPECT_THAT(run_cli(std::string(c) + " --help").output, HasSubstr("--insecure-test-params [=LOGN]")) << c;
  // Where a command plans: no value = the smallest ring that holds the 16x16 plane (2^10, the
  // smallest ring there is); `=LOGN` and the old `LOGN` after a space set it.
  auto j = json_of(run_cli_split("plan --model " + model_ + " --insecure-test-params -o " + path("a.cup") + " --json"),
                   "plan bare");
  EXPECT_EQ(j.value("log_n", 0), 10);
  j = json_of(run_cli_split("plan --model " + model_ + " --insecure-test-params=12 -o " + path("b.cup") + " --json"),
              "plan =12");
  EXPECT_EQ(j.value("log_n", 0), 12);
  j = json_of(run_cli_split("plan --model " + model_ + " --insecure-test-params 11 -o " + path("c.cup") + " --json"),
              "plan 11");
  EXPECT_EQ(j.value("log_n", 0), 11);
  auto r = run_cli("plan --model " + model_ + " --insecure-test-params=9 -o " + path("d.cup"));
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("LOGN must be an integer 10..16, got '9'"));
  r = run_cli("plan --model " + model_ + " --insecure-test-params=x -o " + path("d.cup"));
  EXPECT_NE(r.status, 0);
  // Without it the planner picks 128-bit parameters.
  j = json_of(run_cli_split("plan --model " + model_ + " -o " + path("e.cup") + " --json"), "plan secure");
  EXPECT_EQ(j.value("security", ""), "128-bit");
  EXPECT_GE(j.value("log_n", 0), 14);

  // Where a command is given a plan: the consent, and a value must be the plan's ring.
  const std::string plan = path("c.cup");  // N=2^11
  expect_cli_fails("keygen " + plan + " -o " + path("k0") + " --threads 1", {"--insecure-test-params"});
  r = run_cli("keygen " + plan + " -o " + path("k1") + " --threads 1 --insecure-test-params=12");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("--insecure-test-params=12 expects N=2^12, but plan '" + plan + "' is at N=2^11"));
  EXPECT_FALSE(fs::exists(path("k1") + "/secret.key"));
  // The old spelling with a space before the value, then the positional plan.
  r = run_cli("keygen --insecure-test-params 11 " + plan + " -o " + path("k2") + " --threads 1");
  EXPECT_EQ(r.status, 0) << r.output;
  r = run_cli("keygen --insecure-test-params " + plan + " -o " + path("k3") + " --threads 1");
  EXPECT_EQ(r.status, 0) << r.output;
  r = run_cli("encrypt --plan " + plan + " --keys " + path("k2") + " " + image_ + " -o " + path("in.ct") +
              " --threads 1 --insecure-test-params=10");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("is at N=2^11"));
  r = run_cli("encrypt --plan " + plan + " --keys " + path("k2") + " " + image_ + " -o " + path("in.ct") +
              " --threads 1 --insecure-test-params=11");
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace cryptounet
