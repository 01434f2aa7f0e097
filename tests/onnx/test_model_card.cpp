// Model cards: read leniently, applied to nodes by ONNX node or tensor name.
#include "cryptounet/common/error.h"
#include "cryptounet/model/model_card.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/onnx/onnx_import.h"
#include "onnx/onnx_builder.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cryptounet::nn {
namespace {

namespace fs = std::filesystem;
using test::OnnxBuilder;

class ModelCardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::fresh_test_dir("cu_card");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

// conv (+BN folded) → square → head conv
void write_model(const fs::path& path) {
  OnnxBuilder b(1, 4, 4);
  b.conv("input", "c", 1, 2, 3, "conv1", 1);
  b.init("g", {2}, {1, 1});
  b.init("be", {2}, {0, 0});
  b.init("m", {2}, {0, 0});
  b.init("v", {2}, {1, 1});
  b.node("BatchNormalization", {"c", "g", "be", "m", "v"}, "bn_out", "bn1");
  b.node("Mul", {"bn_out", "bn_out"}, "sq_out", "square1");
  b.conv("sq_out", "logits", 2, 1, 1, "head", 3);
  b.output("logits");
  std::ofstream out(path, std::ios::binary);
  b.model().SerializeToOstream(&out);
}

TEST_F(ModelCardTest, ReadsKnownKeysAndIgnoresOthers) {
  const auto path = write("m.card.json", R"({"name": "brain-64", "input_size": [64, 64],
      "activation_max_abs": {"conv1": 3.5, "square1": 12.0, "bad": "x"},
      "test_metrics": {"dice": 0.96, "iou": 0.93, "note": "x"}, "architecture": {"depth": 2}})");
  const ModelCard card = read_model_card(path);
  EXPECT_EQ(card.name, "brain-64");
  EXPECT_EQ(card.input_size, 64);
  EXPECT_EQ(card.activation_max_abs.size(), 2u);
  EXPECT_DOUBLE_EQ(card.activation_max_abs.at("square1"), 12.0);
  EXPECT_DOUBLE_EQ(card.test_metrics.at("dice"), 0.96);
  EXPECT_EQ(card.test_metrics.count("note"), 0u);
}

TEST_F(ModelCardTest, RejectsBadJsonAndWrongTypes) {
  EXPECT_THROW((void)read_model_card(write("a.json", "{not json")), FormatError);
  EXPECT_THROW((void)read_model_card(write("b.json", R"({"name": 3})")), FormatError);
  EXPECT_THROW((void)read_model_card(write("c.json", "[1, 2]")), FormatError);
  EXPECT_THROW((void)read_model_card((dir_ / "missing.json").string()), IoError);
}

TEST_F(ModelCardTest, MaskCleanupIsNoneUnlessTheCardNamesAKnownStep) {
  EXPECT_EQ(read_model_card(write("none.json", R"({"name": "m"})")).mask_cleanup, MaskCleanup::none);
  EXPECT_EQ(read_model_card(write("n2.json", R"({"mask_cleanup": "none"})")).mask_cleanup, MaskCleanup::none);
  EXPECT_EQ(read_model_card(write("fill.json", R"({"mask_cleanup": "fill_holes"})")).mask_cleanup,
            MaskCleanup::fill_holes);
  // An unknown step or a wrong type is an error, not a silent "none".
  EXPECT_THROW((void)read_model_card(write("bad.json", R"({"mask_cleanup": "largest"})")), FormatError);
  EXPECT_THROW((void)read_model_card(write("bad2.json", R"({"mask_cleanup": true})")), FormatError);
  MaskCleanup m = MaskCleanup::fill_holes;
  EXPECT_TRUE(parse_mask_cleanup(mask_cleanup_name(MaskCleanup::none), m));
  EXPECT_EQ(m, MaskCleanup::none);
  EXPECT_FALSE(parse_mask_cleanup("Fill_Holes", m));
}

TEST_F(ModelCardTest, LoadModelAppliesCardByNodeAndTensorNames) {
  const fs::path model = dir_ / "tiny.onnx";
  write_model(model);
  EXPECT_EQ(model_card_path(model.string()), (dir_ / "tiny.card.json").string());
  {  // no card: fine, name from the file
    Graph g = load_model(model.string());
    EXPECT_EQ(g.name, "tiny");
    for (const Node& n : g.nodes) EXPECT_EQ(n.max_abs, 0.0);
  }
  // The folded conv answers to its BN output name, preferred over its own pre-BN name.
  write("tiny.card.json", R"({"name": "tiny-model",
      "activation_max_abs": {"conv1": 99.0, "bn_out": 4.0, "sq_out": 16.0, "head": 2.5,
                             "gone": 1.0}})");
  Graph g = load_model(model.string());
  EXPECT_EQ(g.name, "tiny-model");
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_DOUBLE_EQ(g.nodes[1].max_abs, 4.0);
  EXPECT_DOUBLE_EQ(g.nodes[2].max_abs, 16.0);
  EXPECT_DOUBLE_EQ(g.nodes[3].max_abs, 2.5);
  EXPECT_EQ(g.mask_cleanup, MaskCleanup::none);
  write("tiny.card.json", R"({"name": "tiny-model", "mask_cleanup": "fill_holes"})");
  EXPECT_EQ(load_model(model.string()).mask_cleanup, MaskCleanup::fill_holes);
  write("tiny.card.json", "{broken");
  EXPECT_THROW((void)load_model(model.string()), FormatError);
}

}  // namespace
}  // namespace cryptounet::nn
