// The built `cryptounet` CLI end to end: dataset synth → predict → evaluate --plain, checked
// against the same computation through the library.
#include "apps/cli_runner.h"
#include "cryptounet/data/dataset.h"
#include "cryptounet/data/png.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/evaluate.h"
#include "cryptounet/workflow/segment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace cryptounet {
namespace {

using namespace cli_test;

class CliSegmentation : public CliTest {
 protected:
  CliSegmentation() : CliTest("cu_cli") {}
};

TEST_F(CliSegmentation, SynthPredictEvaluate) {
  const std::string data = path("nuclei");
  auto r = run_cli("dataset synth --count 8 --size 16 --seed 5 --out " + data);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wrote 8 images"));
  r = run_cli("dataset check " + data);
  ASSERT_EQ(r.status, 0) << r.output;

  // predict: the mask written equals the library's reference prediction.
  const std::string image = data + "/images/nuclei_0007.png";
  r = run_cli("predict --model " + model_ + " --image " + image + " --out " + path("m.png") +
              " --overlay " + path("o.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  const nn::Graph g = nn::load_model(model_);
  const auto want = nn::logits_to_mask(
      nn::run_reference(g, nn::image_to_input(g, data::read_image(image), false)));
  EXPECT_EQ(data::read_mask(path("m.png")).values, want.values);
  EXPECT_EQ(data::read_image(path("o.png")).width, 16);

  // evaluate --plain --json: the numbers equal the library's.
  // JSON alone on stdout; the progress goes to stderr.
  const auto e = cli_test::run_cli_split("evaluate --plain --model " + model_ + " --data " + data +
                                         " --split test --json");
  ASSERT_EQ(e.status, 0) << e.out << e.err;
  EXPECT_THAT(e.err, HasSubstr("images"));
  const auto j = nlohmann::json::parse(e.out);
  const auto ds = data::read_dataset(data);
  const auto report = nn::evaluate_dataset(g, ds, {nn::plain_method(g)}, {});
  ASSERT_EQ(j.at("images").get<std::size_t>(), ds.split("test").size());
  ASSERT_EQ(j.at("per_image").size(), report.per_image.size());
  for (const char* k : {"dice", "iou", "pixel_accuracy", "precision", "recall"}) {
    const double v = j.at("plain").at(k).get<double>();
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
  EXPECT_DOUBLE_EQ(j["plain"]["dice"].get<double>(), report.mean[0].dice);
  EXPECT_DOUBLE_EQ(j["plain"]["recall"].get<double>(), report.mean[0].recall);
  EXPECT_EQ(j["per_image"][0]["file"], report.per_image[0].file);

  // The table form and --limit.
  r = run_cli("evaluate --plain --model " + model_ + " --data " + data + " --split all --limit 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("3 images"));
  EXPECT_THAT(r.output, HasSubstr("plain"));
}

TEST_F(CliSegmentation, WrongSizeSuggestsResize) {
  const std::string data = path("big");
  ASSERT_EQ(run_cli("dataset synth --count 3 --size 32 --seed 2 --out " + data).status, 0);
  auto r = run_cli("evaluate --plain --model " + model_ + " --data " + data);
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("32x32"));
  EXPECT_THAT(r.output, HasSubstr("--resize"));
  const auto e = cli_test::run_cli_split("evaluate --plain --resize --json --model " + model_ + " " + data);
  ASSERT_EQ(e.status, 0) << e.out << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["images"], 1);
  // predict --resize writes a mask at the image's own size.
  r = run_cli("predict --resize --model " + model_ + " --image " + data +
              "/images/nuclei_0000.png --out " + path("m32.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(data::read_mask(path("m32.png")).width, 32);
}

TEST_F(CliSegmentation, InspectShowsGraph) {
  const auto r = run_cli("inspect --model " + model_);
  ASSERT_EQ(r.status, 0) << r.output;
  const nn::Graph g = nn::load_model(model_);
  EXPECT_THAT(r.output, HasSubstr("depth " + std::to_string(g.depth())));
  EXPECT_THAT(r.output, HasSubstr("ConvTranspose2d"));
  EXPECT_THAT(r.output, HasSubstr("<- output"));
}

// The bundled brain model on its bundled test slice: the CLI's mask matches the expert mask.
TEST_F(CliSegmentation, BundledBrainModelSegmentsItsSample) {
  const fs::path root(CU_SOURCE_DIR);
  const fs::path model = root / "models" / "brain64.onnx";
  const fs::path image = root / "models" / "samples" / "brain64_test.png";
  const fs::path truth = root / "models" / "samples" / "brain64_test_mask.png";
  if (!fs::exists(model) || !fs::exists(image) || !fs::exists(truth))
    GTEST_SKIP() << "bundled brain64 model or sample missing";
  const auto r = run_cli("predict --model " + model.string() + " --image " + image.string() +
                         " --out " + path("brain.png") + " --overlay " + path("brain_o.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = data::segmentation_metrics(data::read_mask(path("brain.png")),
                                            data::read_mask(truth.string()));
  EXPECT_GE(m.dice, 0.9) << "the model card reports test Dice ~0.97";
}

TEST_F(CliSegmentation, ClearErrors) {
  auto r = run_cli("evaluate --model " + model_ + " --data " + path("nowhere"));
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("not a folder"));
  {
    std::FILE* f = std::fopen(path("bad.onnx").c_str(), "wb");
    std::fputs("not a model", f);
    std::fclose(f);
  }
  expect_cli_fails("predict --model " + path("bad.onnx") + " --image x.png --out y.png", {"not a valid ONNX model"});
}

}  // namespace
}  // namespace cryptounet
