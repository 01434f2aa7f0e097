// Logits → mask, image → input, and the shared evaluation loop with several methods.
#include "cryptounet/common/error.h"
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
