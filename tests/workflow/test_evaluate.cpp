// Logits → mask, image → input, and the shared evaluation loop with several methods.
#include "cryptounet/common/error.h"
#include "cryptounet/data/dataset.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/synth_nuclei.h"
#include "cryptounet/workflow/evaluate.h"
#include "cryptounet/workflow/segment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace cryptounet::nn {
namespace {

namespace fs = std::filesystem;

// A one-node graph: input 1×S×S is its own output (logits = image).
Graph identity_graph(int s) {
  Graph g;
  Node in;
  in.name = "input";
  in.shape = {1, s, s};
  g.nodes.push_back(in);
  g.output = 0;
  g.name = "identity";
  return g;
}

TEST(Segment, LogitsToMaskThresholdAndArgmax) {
  Tensor one(Shape{1, 1, 3});
  one.data = {-0.5, 0.0, 0.7};
  EXPECT_EQ(logits_to_mask(one).values, (std::vector<uint8_t>{0, 0, 1}));
  EXPECT_EQ(logits_to_mask(one, -1.0).values, (std::vector<uint8_t>{1, 1, 1}));
  Tensor three(Shape{3, 1, 2});
  three.data = {5, 0, /*c1*/ 1, 2, /*c2*/ 0, 3};  // argmax: pixel 0 → 0, pixel 1 → 2
  EXPECT_EQ(logits_to_mask(three).values, (std::vector<uint8_t>{0, 1}));
}

// A 6x6 ring of positive logits around a 2x2 negative centre.
Tensor ring_logits() {
  Tensor t(Shape{1, 6, 6});
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) {
      const bool ring = y >= 1 && y <= 4 && x >= 1 && x <= 4;
      const bool centre = y >= 2 && y <= 3 && x >= 2 && x <= 3;
      t.at(0, y, x) = ring && !centre ? 1.0 : -1.0;
    }
  return t;
}

TEST(Segment, OutputMaskFillsHolesOnlyWhenAsked) {
  const Tensor t = ring_logits();
  const data::Mask raw = output_mask(t, 0.0, false);
  EXPECT_EQ(raw.values, logits_to_mask(t).values);
  EXPECT_EQ(raw.count(), 12u);
  const data::Mask clean = output_mask(t, 0.0, true);
  EXPECT_EQ(clean.count(), 16u);
  EXPECT_EQ(clean.at(2, 2), 1);
  EXPECT_EQ(clean.at(0, 0), 0);
  // The threshold applies before the clean-up: above every logit, nothing is left to fill.
  EXPECT_EQ(output_mask(t, 2.0, true).count(), 0u);
}

TEST(Evaluate, CleanMaskScoresTheFilledMask) {
  const fs::path dir = fs::temp_directory_path() / ("cu_eval_clean_mask_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  // One 6x6 image: a bright ring (logits = image - 0.25 through the identity graph); the truth is the
  // filled square, so the raw mask misses its 4 centre pixels (Dice 24/28) and the filled one is exact.
  data::write_manifest(dir.string(), "ring", 6, {{"ring.png", "test", ""}});
  const Tensor lg = ring_logits();
  data::Image img(6, 6);
  data::Mask truth(6, 6);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) {
      img.at(y, x) = lg.at(0, y, x) > 0 ? 1.0 : 0.0;
      truth.at(y, x) = y >= 1 && y <= 4 && x >= 1 && x <= 4 ? 1 : 0;
    }
  data::write_image_png((dir / "images" / "ring.png").string(), img);
  data::write_mask_png((dir / "masks" / "ring.png").string(), truth);
  const data::Dataset ds = data::read_dataset(dir.string());
  const Graph g = identity_graph(6);
  EvalMethod m{"plain", [](const Tensor& x) {
                 Tensor y = x;
                 for (double& v : y.data) v -= 0.25;
                 return y;
               }};
  EvalOptions opt;
  const EvalReport raw = evaluate_dataset(g, ds, {m}, opt);
  EXPECT_DOUBLE_EQ(raw.mean[0].dice, 24.0 / 28.0);
  EXPECT_FALSE(nlohmann::json::parse(eval_report_json(raw)).contains("clean_mask"));
  opt.clean_mask = true;
  const EvalReport clean = evaluate_dataset(g, ds, {m}, opt);
  EXPECT_DOUBLE_EQ(clean.mean[0].dice, 1.0);
  EXPECT_EQ(nlohmann::json::parse(eval_report_json(clean))["clean_mask"], "holes filled");
  EXPECT_THAT(eval_report_table(clean), ::testing::HasSubstr("holes filled"));
  fs::remove_all(dir);
}

TEST(Segment, ImageToInputChecksSize) {
  const Graph g = identity_graph(4);
  data::Image img(8, 8);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = (i % 8) < 4 ? 0.0f : 1.0f;
  try {
    (void)image_to_input(g, img, false, "image 'x.png'");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("image 'x.png' is 8x8 but model 'identity' expects 4x4; pass --resize"));
  }
  const Tensor t = image_to_input(g, img, true);
  EXPECT_EQ(t.shape, (Shape{1, 4, 4}));
  EXPECT_EQ(t.at(0, 0, 0), 0.0);
  EXPECT_EQ(t.at(0, 3, 3), 1.0);
}

TEST(Evaluate, TwoMethodsAndJson) {
  const fs::path dir = fs::temp_directory_path() / ("cu_eval_two_methods_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto ds = data::write_synth_dataset(dir.string(), 6, {.size = 16, .seed = 9});
  const Graph g = identity_graph(16);
  // logits = image − 0.25: bright nuclei become foreground. The second method is perturbed.
  EvalMethod a{"plain", [](const Tensor& x) {
                 Tensor y = x;
                 for (double& v : y.data) v -= 0.25;
                 return y;
               }};
  EvalMethod b{"encrypted", [](const Tensor& x) {
                 Tensor y = x;
                 for (double& v : y.data) v -= 0.25 - 1e-4;
                 return y;
               }};
  EvalOptions opt;
  opt.split = "all";
  int calls = 0;
  opt.progress = [&](int done, int total, const std::string&) {
    ++calls;
    EXPECT_EQ(total, 6);
    EXPECT_EQ(done, calls);
  };
  const EvalReport r = evaluate_dataset(g, ds, {a, b}, opt);
  ASSERT_EQ(r.per_image.size(), 6u);
  EXPECT_EQ(calls, 6);
  EXPECT_GT(r.mean[0].dice, 0.5);  // thresholding the synthetic image is a fair segmenter
  EXPECT_NEAR(r.per_image[0].max_logit_diff[1], 1e-4, 1e-12);
  EXPECT_EQ(r.per_image[0].max_logit_diff[0], 0.0);
  const auto j = nlohmann::json::parse(eval_report_json(r));
  EXPECT_EQ(j["images"], 6);
  EXPECT_DOUBLE_EQ(j["plain"]["dice"].get<double>(), r.mean[0].dice);
  EXPECT_TRUE(j["encrypted"].contains("max_logit_diff_vs_plain"));
  EXPECT_TRUE(j["per_image"][2].contains("encrypted"));
  EXPECT_THAT(eval_report_table(r), ::testing::HasSubstr("encrypted"));
  opt.limit = 2;
  opt.progress = nullptr;
  EXPECT_EQ(evaluate_dataset(g, ds, {a}, opt).per_image.size(), 2u);
  opt.zoom = 0.5;
  const EvalReport z = evaluate_dataset(g, ds, {a}, opt);
  EXPECT_EQ(nlohmann::json::parse(eval_report_json(z))["zoom"], 0.5);
  opt.zoom = 1.0;
  EXPECT_NE(z.mean[0].pixel_accuracy, evaluate_dataset(g, ds, {a}, opt).mean[0].pixel_accuracy);
  EXPECT_THROW((void)evaluate_dataset(g, ds, {}, opt), InvalidArgument);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cryptounet::nn
