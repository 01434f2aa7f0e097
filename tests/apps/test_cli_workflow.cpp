// The encrypted client/server chain through the built CLI at small INSECURE N on the committed
// 16x16 PyTorch fixture: plan -> keygen -> encrypt -> infer -> decrypt agrees with the plaintext
// reference (probabilities within 2/255 of the reference's, >= 99% identical mask pixels), infer
// --report shows counts equal to the plan's, and every bad input gets a clear error (exit 1),
// never a crash: wrong image size, a ciphertext of another plan or key, keys missing a rotation,
// truncated files, a plan of another model, a model too deep for 128-bit parameters.
#include "apps/cli_runner.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/binary_io.h"
#include "cryptounet/data/png.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/segment.h"
#include "onnx/onnx_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace cryptounet {
namespace {

using namespace cli_test;

void truncate_copy(const std::string& from, const std::string& to, double fraction) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream out(to, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() * fraction));
}

data::Image random_image(int w, int h, unsigned seed) {
  data::Image img(w, h);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (double& p : img.pixels) p = u(rng);
  return img;
}

class CliWorkflow : public CliTest {
 protected:
  CliWorkflow() : CliTest("cu_wf") {}
  void prepare() override {
    image_ = path("img.png");
    data::write_image_png(image_, random_image(16, 16, 9));
  }

  // plan + keygen into `keys` for `plan_file`.
  void plan_and_keys(const std::string& plan_file, const std::string& keys, int log_n = 11) {
    auto r = run_cli("plan --model " + model_ + " --insecure-test-params " + std::to_string(log_n) + " -o " +
                     plan_file);
    ASSERT_EQ(r.status, 0) << r.output;
    r = run_cli("keygen --insecure-test-params --plan " + plan_file + " --out " + keys + " --threads 1");
    ASSERT_EQ(r.status, 0) << r.output;
  }

  // encrypt `images` under `plan`/`keys`, infer (checking the counts), decrypt to NAME.png, NAME_1.png, ...;
  // each mask agrees with its image's plaintext reference on >= 99 % of the pixels.
  void run_batch_and_compare(const std::string& plan, const std::string& keys, const std::vector<std::string>& images,
                             const std::string& name) {
    std::string args;
    for (const std::string& img : images) args += " " + img;
    auto r = run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + keys + args + " -o " +
                     path(name + ".in.ct"));
    ASSERT_EQ(r.status, 0) << r.output;
    r = run_cli("infer --model " + model_ + " --plan " + plan + " --eval-keys " + keys + "/eval.keys " +
                path(name + ".in.ct") + " -o " + path(name + ".out.ct") + " --report --threads 2");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("operation counts equal the plan's"));
    r = run_cli("decrypt --keys " + keys + " --plan " + plan + " " + path(name + ".out.ct") + " -o " + path(name + ".png"));
    ASSERT_EQ(r.status, 0) << r.output;
    const nn::Graph g = nn::load_model(model_);
    for (std::size_t k = 0; k < images.size(); ++k) {
      const data::Mask want =
          nn::logits_to_mask(nn::run_reference(g, nn::image_to_input(g, data::read_image(images[k]), false)));
      const data::Mask got = data::read_mask(path(k == 0 ? name + ".png" : name + "_" + std::to_string(k) + ".png"));
      std::size_t same = 0;
      for (std::size_t i = 0; i < got.values.size(); ++i) same += got.values[i] == want.values[i];
      EXPECT_GE(static_cast<double>(same), 0.99 * static_cast<double>(got.values.size())) << images[k];
    }
  }

  std::string image_;
};

TEST_F(CliWorkflow, ChainAgreesWithReference) {
  const std::string plan = path("p.cup"), keys = path("keys");
  auto r = run_cli("plan --model " + model_ + " --insecure-test-params 11 -o " + plan);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("rotation steps"));
  EXPECT_THAT(r.output, HasSubstr("INSECURE"));
  const nn::PlanFile pf = nn::read_plan_file(plan);
  EXPECT_EQ(pf.model_fingerprint, nn::model_file_fingerprint(model_));

  r = run_cli("keygen --insecure-test-params --plan " + plan + " --out " + keys + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr(std::to_string(pf.plan.rotation_steps.size()) + " Galois keys"));
  struct stat st {};
  ASSERT_EQ(::stat((keys + "/secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the secret key must be private to its owner";
  // The evaluation keys hold exactly the plan's rotations, and no secret key travels with them.
  {
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = 1});
    const auto evk = ckks::load_evaluation_keys_file(keys + "/eval.keys", *ctx);
    EXPECT_EQ(evk.galois.keys.size(), pf.plan.rotation_steps.size());
    EXPECT_FALSE(evk.relin.empty());
  }

  r = run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + keys + " " + image_ + " -o " + path("in.ct"));
  ASSERT_EQ(r.status, 0) << r.output;
  {  // The upload is exactly the predicted size.
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = 1});
    const std::vector<int> levels(pf.plan.input().layout.team_size(), pf.plan.input_level);
    EXPECT_EQ(fs::file_size(path("in.ct")), nn::encrypted_tensor_file_size(*ctx, levels, true));
  }
  r = run_cli("infer --model " + model_ + " --plan " + plan + " --eval-keys " + keys + "/eval.keys " +
              path("in.ct") + " -o " + path("out.ct") + " --threads 2 --report");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("operation counts equal the plan's"));
  EXPECT_THAT(r.output, HasSubstr("peak RSS"));
  EXPECT_THAT(r.output, HasSubstr("/conv3/Conv"));
  r = run_cli("decrypt --keys " + keys + " --plan " + plan + " " + path("out.ct") + " -o " + path("mask.png") +
              " --probabilities " + path("prob.png") + " --overlay " + path("over.png") + " --image " + image_);
  ASSERT_EQ(r.status, 0) << r.output;

  // Against the plaintext reference.
  const nn::Graph g = nn::load_model(model_);
  const nn::Tensor logits = nn::run_reference(g, nn::image_to_input(g, data::read_image(image_), false));
  const data::Mask want = nn::logits_to_mask(logits);
  const data::Mask got = data::read_mask(path("mask.png"));
  ASSERT_EQ(got.values.size(), want.values.size());
  std::size_t same = 0;
  for (std::size_t i = 0; i < got.values.size(); ++i) same += got.values[i] == want.values[i];
  EXPECT_GE(static_cast<double>(same), 0.99 * static_cast<double>(got.values.size()));
  // 2 channels: foreground probability 1 - softmax_0, written as 8-bit grey.
  const data::Image prob = data::read_image(path("prob.png"));
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      const double p = 1.0 / (1.0 + std::exp(logits.at(0, y, x) - logits.at(1, y, x)));
      EXPECT_NEAR(prob.at(y, x), p, 2.0 / 255.0) << y << "," << x;
    }
  EXPECT_EQ(data::read_image(path("over.png")).width, 16);
}

TEST_F(CliWorkflow, BadInputsGetClearErrors) {
  const std::string plan = path("p.cup"), keys = path("keys");
  plan_and_keys(plan, keys);
  const std::string infer = "infer --model " + model_ + " --plan " + plan + " --eval-keys " + keys + "/eval.keys ";
  ASSERT_EQ(run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + keys + " " + image_ + " -o " + path("in.ct")).status, 0);

  // Wrong image size: refused, --resize offered; with --resize it works.
  data::write_image_png(path("big.png"), random_image(32, 32, 4));
  auto r = run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + keys + " " + path("big.png") + " -o " + path("x.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("32x32"));
  EXPECT_THAT(r.output, HasSubstr("--resize"));
  r = run_cli("encrypt --insecure-test-params --resize --plan " + plan + " --keys " + keys + " " + path("big.png") + " -o " + path("x.ct"));
  EXPECT_EQ(r.status, 0) << r.output;

  // A ciphertext under another key (same plan, second keygen).
  ASSERT_EQ(run_cli("keygen --insecure-test-params --plan " + plan + " --out " + path("keys2") + " --threads 1").status, 0);
  ASSERT_EQ(run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + path("keys2") + " " + image_ + " -o " + path("in2.ct")).status, 0);
  r = run_cli(infer + path("in2.ct") + " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("another key"));

  // A ciphertext of another plan (other parameters): refused from its header.
  const std::string plan3 = path("p3.cup"), keys3 = path("keys3");
  plan_and_keys(plan3, keys3, 12);
  ASSERT_EQ(run_cli("encrypt --insecure-test-params --plan " + plan3 + " --keys " + keys3 + " " + image_ + " -o " + path("in3.ct")).status, 0);
  r = run_cli(infer + path("in3.ct") + " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("other CKKS parameters"));
  // Keys made for another plan are refused at encryption.
  r = run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + keys3 + " " + image_ + " -o " + path("x.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("another plan"));

  // Evaluation keys missing one rotation the plan needs.
  {
    const nn::PlanFile pf = nn::read_plan_file(plan);
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = 1});
    auto evk = ckks::load_evaluation_keys_file(keys + "/eval.keys", *ctx);
    ASSERT_FALSE(evk.galois.keys.empty());
    evk.galois.keys.erase(std::prev(evk.galois.keys.end()));
    ckks::save_file(path("few.keys"), ckks::save(evk, *ctx));
  }
  r = run_cli("infer --model " + model_ + " --plan " + plan + " --eval-keys " + path("few.keys") + " " +
              path("in.ct") + " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no Galois key for rotation step"));

  // Truncated files: ciphertext, evaluation keys, plan.
  truncate_copy(path("in.ct"), path("cut.ct"), 0.6);
  r = run_cli(infer + path("cut.ct") + " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("truncated"));
  truncate_copy(keys + "/eval.keys", path("cut.keys"), 0.5);
  r = run_cli("infer --model " + model_ + " --plan " + plan + " --eval-keys " + path("cut.keys") + " " +
              path("in.ct") + " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("truncated"));
  truncate_copy(plan, path("cut.cup"), 0.7);
  r = run_cli("keygen --insecure-test-params --plan " + path("cut.cup") + " --out " + path("k4"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("truncated"));

  // Keys passed where a ciphertext belongs; a secret key passed as evaluation keys.
  r = run_cli(infer + keys + "/eval.keys -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("expected an encrypted tensor"));
  r = run_cli("infer --model " + model_ + " --plan " + plan + " --eval-keys " + keys + "/secret.key " +
              path("in.ct") + " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("holds: secret key"));

  // The input is not an output, and the plan was made for another model.
  ASSERT_EQ(run_cli(infer + path("in.ct") + " -o " + path("out.ct")).status, 0);
  r = run_cli(infer + path("out.ct") + " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("expected an encrypted input"));
  r = run_cli("decrypt --keys " + path("keys2") + " --plan " + plan + " " + path("out.ct") + " -o " + path("m.png"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("another key"));
  const std::string other = (fs::path(CU_SOURCE_DIR) / "tests" / "fixtures" / "random_bn.onnx").string();
  r = run_cli("infer --model " + other + " --plan " + plan + " --eval-keys " + keys + "/eval.keys " + path("in.ct") +
              " -o " + path("o.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("another model"));
  EXPECT_THAT(r.output, Not(HasSubstr("internal error")));
}

// A model card's "mask_cleanup": "fill_holes" makes hole filling the default of every command that
// makes masks, the client's through the plan (decrypt); --no-clean-mask keeps the holes. The model
// is one 1x1 conv (logit = pixel - 0.5) on a ring image, so its raw mask is the ring (28 pixels)
// and the filled mask the 8x8 square (64).
TEST_F(CliWorkflow, CardMaskCleanupIsTheDefaultAndTheFlagOverridesIt) {
  test::OnnxBuilder b(1, 16, 16);
  b.node("Conv", {"input", b.init("head.weight", {1, 1, 1, 1}, {1.0}), b.init("head.bias", {1}, {-0.5})},
         "logits", "head");
  b.output("logits");
  {
    std::ofstream f(path("ring.onnx"), std::ios::binary);
    ASSERT_TRUE(b.model().SerializeToOstream(&f));
  }
  data::Image ring(16, 16);
  for (int y = 4; y < 12; ++y)
    for (int x = 4; x < 12; ++x) ring.at(y, x) = (y == 4 || y == 11 || x == 4 || x == 11) ? 1.0 : 0.0;
  data::write_image_png(path("ring.png"), ring);
  const std::string model = path("ring.onnx");
  auto count = [&](const std::string& mask) { return data::read_mask(path(mask)).count(); };

  // No card: the mask as the model gives it.
  auto r = run_cli("predict --model " + model + " " + path("ring.png") + " -o " + path("a.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count("a.png"), 28u);
  EXPECT_THAT(r.output, Not(HasSubstr("card says")));
  ASSERT_EQ(run_cli("predict --model " + model + " " + path("ring.png") + " --clean-mask -o " + path("b.png")).status, 0);
  EXPECT_EQ(count("b.png"), 64u);

  std::ofstream(path("ring.card.json")) << R"({"name": "ring", "mask_cleanup": "fill_holes"})";
  r = run_cli("predict --model " + model + " " + path("ring.png") + " -o " + path("c.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count("c.png"), 64u);
  EXPECT_THAT(r.output, HasSubstr("as model ring's card says"));
  r = run_cli("predict --model " + model + " " + path("ring.png") + " --no-clean-mask -o " + path("d.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count("d.png"), 28u);
  EXPECT_THAT(r.output, Not(HasSubstr("card says")));

  // Encrypted: the plan carries the card's step to the client's decrypt.
  r = run_cli("plan --model " + model + " --insecure-test-params 10 -o " + path("ring.cup"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nn::read_plan_file(path("ring.cup")).mask_cleanup, nn::MaskCleanup::fill_holes);
  ASSERT_EQ(run_cli("keygen --insecure-test-params --plan " + path("ring.cup") + " --out " + path("k") +
                    " --threads 1").status, 0);
  ASSERT_EQ(run_cli("encrypt --insecure-test-params --plan " + path("ring.cup") + " --keys " + path("k") + " " +
                    path("ring.png") + " -o " + path("in.ct")).status, 0);
  r = run_cli("infer --model " + model + " --plan " + path("ring.cup") + " --eval-keys " + path("k") +
              "/eval.keys " + path("in.ct") + " -o " + path("out.ct") + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_cli("decrypt --keys " + path("k") + " --plan " + path("ring.cup") + " " + path("out.ct") + " -o " +
              path("e.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count("e.png"), 64u);
  EXPECT_THAT(r.output, HasSubstr("card says"));
  r = run_cli("decrypt --keys " + path("k") + " --plan " + path("ring.cup") + " " + path("out.ct") +
              " --no-clean-mask -o " + path("f.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count("f.png"), 28u);

  // A card naming a step cryptounet does not know is refused, not ignored.
  std::ofstream(path("ring.card.json")) << R"({"name": "ring", "mask_cleanup": "largest"})";
  expect_cli_exit("predict --model " + model + " " + path("ring.png") + " -o " + path("g.png"), 1,
                  {"mask_cleanup", "fill_holes"});
}

TEST_F(CliWorkflow, ModelTooDeepFor128BitNamesTheLayer) {
  // 24 conv + square blocks: depth 48, more than N=2^16 holds at 128 bits (40 levels within the
  // HE-standard bound of 1747 bits; 41 under the old, too generous 1772).
  test::OnnxBuilder b(1, 8, 8);
  std::string x = "input";
  for (int i = 0; i < 24; ++i) {
    b.conv(x, "c" + std::to_string(i), i == 0 ? 1 : 2, 2, 3, "conv" + std::to_string(i), 100 + i);
    b.node("Mul", {"c" + std::to_string(i), "c" + std::to_string(i)}, "s" + std::to_string(i), "sq" + std::to_string(i));
    x = "s" + std::to_string(i);
  }
  b.output(x);
  {
    std::ofstream f(path("deep.onnx"), std::ios::binary);
    ASSERT_TRUE(b.model().SerializeToOstream(&f));
  }
  const auto r = run_cli("plan --model " + path("deep.onnx") + " -o " + path("deep.cup"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("does not fit 128-bit"));
  EXPECT_THAT(r.output, HasSubstr("first over, by"));
  EXPECT_THAT(r.output, HasSubstr("node 'conv20' is the first over, by 8 levels"));
  EXPECT_FALSE(fs::exists(path("deep.cup")));
}

TEST_F(CliWorkflow, SegmentAndEncryptedEvaluate) {
  auto r = run_cli("segment --model " + model_ + " " + image_ + " -o " + path("seg.png") + " --overlay " +
                   path("seg_o.png") + " --insecure-test-params 11 --threads 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("INSECURE"));
  EXPECT_THAT(r.output, HasSubstr("identical mask pixels"));
  EXPECT_THAT(r.output, HasSubstr("keygen"));
  const nn::Graph g = nn::load_model(model_);
  const nn::Tensor logits = nn::run_reference(g, nn::image_to_input(g, data::read_image(image_), false));
  const data::Mask want = nn::logits_to_mask(logits);
  const data::Mask got = data::read_mask(path("seg.png"));
  std::size_t same = 0;
  for (std::size_t i = 0; i < got.values.size(); ++i) same += got.values[i] == want.values[i];
  EXPECT_GE(static_cast<double>(same), 0.99 * static_cast<double>(got.values.size()));

  // evaluate without --plain: plaintext and encrypted on each image, JSON as documented.
  const std::string data = path("nuclei");
  ASSERT_EQ(run_cli("dataset synth --count 6 --size 16 --seed 3 --out " + data).status, 0);
  r = run_cli("evaluate --model " + model_ + " --data " + data +
              " --split all --limit 2 --json --insecure-test-params 11 --threads 2");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j.at("images").get<int>(), 2);
  ASSERT_EQ(j.at("per_image").size(), 2u);
  for (const char* m : {"plain", "encrypted"})
    for (const char* k : {"dice", "iou"}) {
      const double v = j.at(m).at(k).get<double>();
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
  EXPECT_NEAR(j.at("encrypted").at("dice").get<double>(), j.at("plain").at("dice").get<double>(), 0.02);
  EXPECT_GE(j.at("max_logit_error").get<double>(), 0.0);
  EXPECT_LE(j.at("max_logit_error").get<double>(), 1e-2);
  EXPECT_GT(j.at("seconds_per_image").get<double>(), 0.0);
  EXPECT_NEAR(j.at("dice_difference").get<double>(),
              j["encrypted"]["dice"].get<double>() - j["plain"]["dice"].get<double>(), 1e-12);
  EXPECT_TRUE(j.at("per_image")[0].contains("max_logit_error"));
}

// bench unet: one inference, JSON with the operation-class shares (summing to 1) and one entry
// per layer whose counts add up to the executed totals.
TEST_F(CliWorkflow, BenchUnetJson) {
  const auto r = run_cli("bench unet --model " + model_ + " --insecure-test-params 11 --threads 2 --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_GT(j.at("infer_s").get<double>(), 0.0);
  double shares = 0.0;
  for (const char* c : {"key_switching", "pt_and_const_products", "encodings", "rescale_ntt", "additions", "other"})
    shares += j.at("op_classes").at(c).at("share").get<double>();
  EXPECT_NEAR(shares, 1.0, 1e-9);
  EXPECT_GT(j.at("op_classes").at("key_switching").at("seconds").get<double>(), 0.0);
  const nn::Graph g = nn::load_model(model_);
  ASSERT_EQ(j.at("layers").size(), g.nodes.size());
  EXPECT_GT(j.at("peak_rss_bytes").get<double>(), 0.0);
}

TEST_F(CliWorkflow, ThroughputPlanTwoImages) {
  const std::string plan = path("p.cup"), keys = path("keys");
  auto r = run_cli("plan --model " + model_ + " --batch 2 --insecure-test-params 11 -o " + plan);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("mode throughput, batch 2"));
  ASSERT_EQ(run_cli("keygen --insecure-test-params --plan " + plan + " --out " + keys + " --threads 1").status, 0);
  const std::string second = path("img2.png");
  data::write_image_png(second, random_image(16, 16, 21));
  r = run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + keys + " " + image_ + " -o " + path("in.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("takes 2 image(s) per run, 1 given"));
  run_batch_and_compare(plan, keys, {image_, second}, "m");
}

// A batch larger than the ring's rows is multiplexed after pooling (dvr_layout.h): at N=2^10 a
// 16x16 plane leaves 2 rows, so 6 images take 4 groups at full resolution and share the stride
// cells after the pooling; every image's mask agrees with its plaintext reference. --mux 1 keeps
// one image per row and refuses the batch, saying how many fit.
TEST_F(CliWorkflow, ThroughputPlanMultiplexedBatch) {
  const std::string plan = path("pm.cup"), keys = path("keys_m");
  auto r = run_cli("plan --model " + model_ + " --batch 6 --mux 1 --insecure-test-params 10 -o " + plan);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("batch 6 must be in 1..2"));
  r = run_cli("plan --model " + model_ + " --batch 6 --insecure-test-params 10 -o " + plan);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("mode throughput, batch 6"));
  const nn::PlanFile pf = nn::read_plan_file(plan);
  EXPECT_EQ(pf.plan.input().layout.groups(), 4);
  int merged = 0;
  for (const nn::LayerPlan& lp : pf.plan.layers) merged = std::max(merged, lp.layout.mux());
  EXPECT_EQ(merged, 2);
  ASSERT_EQ(run_cli("keygen --insecure-test-params --plan " + plan + " --out " + keys + " --threads 1").status, 0);
  std::vector<std::string> images;
  for (int k = 0; k < 6; ++k) {
    images.push_back(path("mx" + std::to_string(k) + ".png"));
    data::write_image_png(images.back(), random_image(16, 16, 40 + k));
  }
  run_batch_and_compare(plan, keys, images, "mm");
}

}  // namespace
}  // namespace cryptounet
