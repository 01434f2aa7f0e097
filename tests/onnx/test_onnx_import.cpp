// The importer accepts each supported operator and refuses each unsupported case with a message
// that names the node, its op type and the reason.
#include "cryptounet/common/error.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/onnx_import.h"
#include "onnx/onnx_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace cryptounet::nn {
namespace {

using test::OnnxBuilder;
using test::pseudo_random;
using ::testing::HasSubstr;

// Expects import to throw E with every given substring in its message.
template <class E>
void expect_refused(onnx::ModelProto& model, std::initializer_list<const char*> parts) {
  try {
    (void)import_onnx(model);
    FAIL() << "import succeeded, expected a refusal containing '" << *parts.begin() << "'";
  } catch (const E& e) {
    for (const char* p : parts) EXPECT_THAT(e.what(), HasSubstr(p));
  }
}

Tensor random_input(Shape s, uint64_t seed) {
  Tensor t(s);
  t.data = pseudo_random(s.size(), seed);
  return t;
}

TEST(OnnxImport, SmallUNetAllSupportedOps) {
  OnnxBuilder b(1, 8, 8);
  b.conv("input", "c1", 1, 4, 3, "enc.conv", 1);
  b.node("Mul", {"c1", "c1"}, "a1", "enc.square");
  b.avg_pool("a1", "p1", "pool");
  b.conv("p1", "c2", 4, 6, 3, "mid.conv", 3);
  b.init("two", {}, {2.0});
  b.node("Pow", {"c2", "two"}, "a2", "mid.square");
  b.conv_transpose("a2", "u1", 6, 4, "up", 5);
  OnnxBuilder::integer(b.node("Concat", {"a1", "u1"}, "cat", "cat"), "axis", 1);
  b.conv("cat", "c3", 8, 4, 3, "dec.conv", 7);
  b.node("Add", {"c3", "u1"}, "sum", "skip.add");
  b.conv("sum", "logits", 4, 1, 1, "head", 9);
  b.output("logits");

  Graph g = import_onnx(b.model());
  ASSERT_EQ(g.nodes.size(), 11u);
  EXPECT_EQ(g.nodes[0].kind, OpKind::Input);
  EXPECT_EQ(g.input_shape(), (Shape{1, 8, 8}));
  EXPECT_EQ(g.nodes[1].kind, OpKind::Conv2d);
  EXPECT_EQ(g.nodes[1].kernel, 3);
  EXPECT_EQ(g.nodes[1].pad, 1);
  EXPECT_EQ(g.nodes[2].kind, OpKind::Square);
  EXPECT_EQ(g.nodes[3].kind, OpKind::AvgPool2d);
  EXPECT_EQ(g.nodes[3].shape, (Shape{4, 4, 4}));
  EXPECT_EQ(g.nodes[5].kind, OpKind::Square);
  EXPECT_EQ(g.nodes[6].kind, OpKind::ConvTranspose2d);
  EXPECT_EQ(g.nodes[6].shape, (Shape{4, 8, 8}));
  EXPECT_EQ(g.nodes[7].kind, OpKind::Concat);
  EXPECT_EQ(g.nodes[7].inputs, (std::vector<int>{2, 6}));
  EXPECT_EQ(g.nodes[7].shape, (Shape{8, 8, 8}));
  EXPECT_EQ(g.nodes[9].kind, OpKind::Add);
  EXPECT_EQ(g.nodes[10].kernel, 1);
  EXPECT_EQ(g.nodes[10].pad, 0);
  EXPECT_EQ(g.output, 10);
  EXPECT_EQ(g.output_shape(), (Shape{1, 8, 8}));
  EXPECT_EQ(g.nodes[1].name, "enc.conv");
  EXPECT_EQ(g.nodes[1].output_name, "c1");
  EXPECT_EQ(g.find("mid.square"), 5);
  EXPECT_EQ(g.find("a2"), 5);
  // conv, square, conv, square, convT, conv, conv(head): depth 7 along the longest path.
  EXPECT_EQ(g.depth(), 7);
  // Weights come through unchanged (float-rounded).
  auto w = pseudo_random(4 * 1 * 9, 1);
  ASSERT_EQ(g.nodes[1].weight.size(), w.size());
  for (std::size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(g.nodes[1].weight[i], static_cast<double>(static_cast<float>(w[i])));
}

TEST(OnnxImport, WeightsMatchedByInputNameNotConvention) {
  // Initializers with misleading names, declared in a different order than used.
  OnnxBuilder b(2, 4, 4);
  auto wb = pseudo_random(3, 11), ww = pseudo_random(3 * 2, 12);
  b.init("head.weight", {3}, wb);  // actually the bias
  b.init("zzz", {3, 2, 1, 1}, ww, /*raw=*/true);
  auto& n = b.node("Conv", {"input", "zzz", "head.weight"}, "y", "c");
  OnnxBuilder::ints(n, "kernel_shape", {1, 1});
  b.output("y");
  Graph g = import_onnx(b.model());
  ASSERT_EQ(g.nodes[1].weight.size(), 6u);
  ASSERT_EQ(g.nodes[1].bias.size(), 3u);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(g.nodes[1].weight[i], ww[i]);
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(g.nodes[1].bias[i], wb[i]);
}

TEST(OnnxImport, ConvWithoutBiasGetsZeroBiasAndNamelessNodesGetNames) {
  OnnxBuilder b(1, 4, 4);
  b.conv("input", "y", 1, 2, 3, "", 2, /*bias=*/false);
  b.output("y");
  Graph g = import_onnx(b.model());
  EXPECT_EQ(g.nodes[1].bias, (std::vector<double>{0, 0}));
  EXPECT_EQ(g.nodes[1].name, "Conv_0");
}

TEST(OnnxImport, IdentityAndConstantExponentAndSymbolicBatch) {
  OnnxBuilder b(1, 4, 4, "x", /*batch=*/-1);
  b.node("Identity", {"x"}, "x2", "id");
  auto& c = b.node("Constant", {}, "e", "const");
  auto* a = c.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  OnnxBuilder::fill(*a->mutable_t(), "", {}, {2.0});
  b.node("Pow", {"x2", "e"}, "y", "sq");
  b.node("Identity", {"y"}, "out", "id2");
  b.output("out");
  Graph g = import_onnx(b.model());
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[1].kind, OpKind::Square);
  EXPECT_EQ(g.nodes[1].inputs, (std::vector<int>{0}));
  EXPECT_EQ(g.output, 1);
  EXPECT_EQ(g.find("out"), 1);
}

TEST(OnnxImport, IntegerExponentAndDoubleWeights) {
  OnnxBuilder b(1, 4, 4);
  auto* e = b.model().mutable_graph()->add_initializer();
  e->set_name("two");
  e->set_data_type(onnx::TensorProto::INT64);
  e->add_int64_data(2);
  b.node("Pow", {"input", "two"}, "sq", "sq");
  auto* w = b.model().mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::DOUBLE);
  for (int d : {1, 1, 1, 1}) w->add_dims(d);
  w->add_double_data(0.1);  // not representable in float: must arrive exactly
  auto& n = b.node("Conv", {"sq", "w"}, "y", "c");
  OnnxBuilder::ints(n, "kernel_shape", {1, 1});
  b.output("y");
  Graph g = import_onnx(b.model());
  EXPECT_EQ(g.nodes[1].kind, OpKind::Square);
  EXPECT_EQ(g.nodes[2].weight, (std::vector<double>{0.1}));
}

TEST(OnnxImportRefuses, ExternalWeights) {
  OnnxBuilder b(1, 4, 4);
  b.conv("input", "y", 1, 1, 3, "c", 1);
  b.output("y");
  b.model().mutable_graph()->mutable_initializer(0)->set_data_location(onnx::TensorProto::EXTERNAL);
  expect_refused<Unsupported>(b.model(), {"external file"});
}

// Conv → BN imported equals Conv imported, then BN applied by hand.
TEST(OnnxImport, BatchNormFoldsIntoConvAndConvTranspose) {
  for (bool transpose : {false, true}) {
    SCOPED_TRACE(transpose ? "ConvTranspose" : "Conv");
    const int cin = 2, cout = 3;
    auto make = [&](bool with_bn) {
      OnnxBuilder b(cin, 4, 4);
      if (transpose)
        b.conv_transpose("input", "c", cin, cout, "layer", 21);
      else
        b.conv("input", "c", cin, cout, 3, "layer", 21);
      if (with_bn) {
        b.init("g", {cout}, {1.5, -0.5, 2.0});
        b.init("be", {cout}, {0.1, 0.2, -0.3});
        b.init("m", {cout}, {0.05, -0.4, 0.3});
        b.init("v", {cout}, {0.9, 0.25, 4.0});
        auto& bn = b.node("BatchNormalization", {"c", "g", "be", "m", "v"}, "y", "bn");
        OnnxBuilder::real(bn, "epsilon", 1e-3f);
        b.output("y");
      } else {
        b.output("c");
      }
      return import_onnx(b.model());
    };
    Graph folded = make(true), plain = make(false);
    ASSERT_EQ(folded.nodes.size(), 2u);
    EXPECT_EQ(folded.find("bn"), 1);
    EXPECT_EQ(folded.find("y"), 1);
    const Tensor x = random_input(folded.input_shape(), 5);
    const Tensor got = run_reference(folded, x);
    Tensor want = run_reference(plain, x);
    // The model stores BN parameters as float; compare against the same rounded values.
    const float g[] = {1.5f, -0.5f, 2.0f}, be[] = {0.1f, 0.2f, -0.3f}, m[] = {0.05f, -0.4f, 0.3f},
                v[] = {0.9f, 0.25f, 4.0f};
    const double eps = static_cast<double>(1e-3f);
    for (int c = 0; c < cout; ++c)
      for (int y = 0; y < want.shape.height; ++y)
        for (int xx = 0; xx < want.shape.width; ++xx) {
          double& w = want.at(c, y, xx);
          w = (w - double(m[c])) / std::sqrt(double(v[c]) + eps) * double(g[c]) + double(be[c]);
        }
    ASSERT_EQ(got.shape, want.shape);
    for (std::size_t i = 0; i < got.data.size(); ++i) EXPECT_NEAR(got.data[i], want.data[i], 1e-12);
  }
}

TEST(OnnxImport, ReadsFileAndNamesGraphAfterStem) {
  OnnxBuilder b(1, 4, 4);
  b.conv("input", "y", 1, 1, 3, "c", 3);
  b.output("y");
  const auto dir = std::filesystem::temp_directory_path() / ("cu_import_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "cu_test_import_tiny.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    b.model().SerializeToOstream(&out);
  }
  Graph g = import_onnx_file(path.string());
  EXPECT_EQ(g.name, "cu_test_import_tiny");
  EXPECT_EQ(g.nodes.size(), 2u);
  std::filesystem::remove(path);
  EXPECT_THROW((void)import_onnx_file(path.string()), IoError);
  {
    std::ofstream out(path, std::ios::binary);
    out << "\xff\xff\xff not a protobuf";
  }
  EXPECT_THROW((void)import_onnx_file(path.string()), FormatError);
  std::filesystem::remove_all(dir);
}

// ---- refusals ------------------------------------------------------------------------------

TEST(OnnxImportRefuses, UnsupportedOperatorNamesNodeAndOpList) {
  OnnxBuilder b(1, 4, 4);
  b.conv("input", "c", 1, 2, 3, "conv", 1);
  b.node("Relu", {"c"}, "r", "Relu_3");
  b.output("r");
  expect_refused<Unsupported>(
      b.model(), {"onnx: node 'Relu_3' (Relu) is not supported", "Conv, ConvTranspose, AveragePool"});
}

TEST(OnnxImportRefuses, NamelessUnsupportedNodeGetsGeneratedName) {
  OnnxBuilder b(1, 4, 4);
  b.node("Sigmoid", {"input"}, "s");
  b.output("s");
  expect_refused<Unsupported>(b.model(), {"node 'Sigmoid_0' (Sigmoid)"});
}

TEST(OnnxImportRefuses, MaxPool) {
  OnnxBuilder b(1, 4, 4);
  auto& n = b.node("MaxPool", {"input"}, "p", "pool1");
  OnnxBuilder::ints(n, "kernel_shape", {2, 2});
  b.output("p");
  expect_refused<Unsupported>(b.model(), {"'pool1' (MaxPool) is not supported"});
}

struct ConvCase {
  const char* label;
  int k;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group;
  const char* expect;
};

TEST(OnnxImportRefuses, ConvAttributes) {
  const std::vector<ConvCase> cases = {
      {"stride 2", 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, "strides = [2, 2]"},
      {"kernel 5", 5, {1, 1}, {2, 2, 2, 2}, {1, 1}, 1, "kernel 5x5"},
      {"dilation", 3, {1, 1}, {1, 1, 1, 1}, {2, 2}, 1, "dilations = [2, 2]"},
      {"valid pads", 3, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, "pads = [0, 0, 0, 0] with kernel 3"},
      {"asymmetric pads", 3, {1, 1}, {1, 0, 1, 1}, {1, 1}, 1, "pads = [1, 0, 1, 1]"},
      {"groups", 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2, "group = 2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    OnnxBuilder b(2, 8, 8);
    const int cin = c.group == 2 ? 1 : 2;
    auto& n = b.node("Conv",
                     {"input", b.init("w", {2, cin, c.k, c.k},
                                      pseudo_random(std::size_t(2) * cin * c.k * c.k, 1))},
                     "y", "conv7");
    OnnxBuilder::ints(n, "kernel_shape", {c.k, c.k});
    OnnxBuilder::ints(n, "strides", c.strides);
    OnnxBuilder::ints(n, "pads", c.pads);
    OnnxBuilder::ints(n, "dilations", c.dilations);
    OnnxBuilder::integer(n, "group", c.group);
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"node 'conv7' (Conv) is not supported", c.expect});
  }
}

TEST(OnnxImportRefuses, ConvWeightComputedByGraph) {
  OnnxBuilder b(1, 4, 4);
  b.node("Conv", {"input", "input"}, "y", "conv");
  b.output("y");
  expect_refused<Unsupported>(b.model(), {"'conv' (Conv)", "weight 'input' is computed"});
}

TEST(OnnxImportRefuses, ConvChannelMismatch) {
  OnnxBuilder b(3, 4, 4);
  b.conv("input", "y", 2, 2, 3, "conv", 1);
  b.output("y");
  expect_refused<Unsupported>(b.model(), {"weight expects 2 input channels", "3x4x4"});
}

TEST(OnnxImportRefuses, ConvTransposeAttributes) {
  struct Case {
    const char* label;
    std::vector<int64_t> kernel, strides, pads, output_padding;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"kernel 3", {3, 3}, {2, 2}, {0, 0, 0, 0}, {0, 0}, "kernel 3x3"},
      {"stride 1", {2, 2}, {1, 1}, {0, 0, 0, 0}, {0, 0}, "strides = [1, 1]"},
      {"pads", {2, 2}, {2, 2}, {1, 1, 1, 1}, {0, 0}, "pads = [1, 1, 1, 1]"},
      {"output padding", {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, "output_padding = [1, 1]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    OnnxBuilder b(2, 4, 4);
    const int k = static_cast<int>(c.kernel[0]);
    auto& n = b.node("ConvTranspose",
                     {"input", b.init("w", {2, 3, k, k}, pseudo_random(std::size_t(6) * k * k, 2))},
                     "y", "up1");
    OnnxBuilder::ints(n, "kernel_shape", c.kernel);
    OnnxBuilder::ints(n, "strides", c.strides);
    OnnxBuilder::ints(n, "pads", c.pads);
    OnnxBuilder::ints(n, "output_padding", c.output_padding);
    b.output("y");
    expect_refused<Unsupported>(b.model(),
                                {"node 'up1' (ConvTranspose) is not supported", c.expect});
  }
}

TEST(OnnxImportRefuses, AveragePoolAttributesAndOddSize) {
  {
    OnnxBuilder b(1, 6, 6);
    auto& n = b.node("AveragePool", {"input"}, "p", "pool");
    OnnxBuilder::ints(n, "kernel_shape", {3, 3});
    OnnxBuilder::ints(n, "strides", {3, 3});
    b.output("p");
    expect_refused<Unsupported>(b.model(), {"'pool' (AveragePool)", "kernel_shape = [3, 3]"});
  }
  {
    OnnxBuilder b(1, 6, 6);
    auto& n = b.avg_pool("input", "p", "pool");
    OnnxBuilder::ints(n, "pads", {1, 1, 1, 1});
    b.output("p");
    expect_refused<Unsupported>(b.model(), {"'pool' (AveragePool)", "pads = [1, 1, 1, 1]"});
  }
  {
    OnnxBuilder b(1, 6, 6);
    auto& n = b.avg_pool("input", "p", "pool");
    OnnxBuilder::integer(n, "ceil_mode", 1);
    b.output("p");
    expect_refused<Unsupported>(b.model(), {"ceil_mode = 1"});
  }
  {
    OnnxBuilder b(1, 5, 6);
    b.avg_pool("input", "p", "pool");
    b.output("p");
    expect_refused<Unsupported>(b.model(), {"'pool' (AveragePool)", "odd height or width"});
  }
}

TEST(OnnxImportRefuses, MulOfDifferentTensorsAndByConstant) {
  {
    OnnxBuilder b(1, 4, 4);
    b.conv("input", "c", 1, 1, 3, "conv", 1);
    b.node("Mul", {"c", "input"}, "y", "mul");
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"'mul' (Mul)", "only Mul(x, x)"});
  }
  {
    OnnxBuilder b(1, 4, 4);
    b.init("k", {}, {3.0});
    b.node("Mul", {"input", "k"}, "y", "scale");
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"'scale' (Mul)", "constant tensor"});
  }
}

TEST(OnnxImportRefuses, PowWithOtherExponent) {
  OnnxBuilder b(1, 4, 4);
  b.init("three", {}, {3.0});
  b.node("Pow", {"input", "three"}, "y", "cube");
  b.output("y");
  expect_refused<Unsupported>(b.model(), {"'cube' (Pow)", "exponent 3", "only Pow(x, 2)"});
}

TEST(OnnxImportRefuses, ConcatOtherAxisAndAddBroadcast) {
  {
    OnnxBuilder b(1, 4, 4);
    auto& n = b.node("Concat", {"input", "input"}, "y", "cat");
    OnnxBuilder::integer(n, "axis", 2);
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"'cat' (Concat)", "axis = 2"});
  }
  {
    OnnxBuilder b(1, 4, 4);
    b.conv("input", "c", 1, 2, 3, "conv", 1);
    b.node("Add", {"c", "input"}, "y", "add");
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"'add' (Add)", "2x4x4 and 1x4x4"});
  }
  {
    OnnxBuilder b(1, 4, 4);
    b.init("bias", {1}, {0.5});
    b.node("Add", {"input", "bias"}, "y", "addc");
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"'addc' (Add)", "constant tensor"});
  }
}

TEST(OnnxImportRefuses, BatchNormNotFoldable) {
  auto bn_inputs = [](OnnxBuilder& b, const std::string& x, int c) {
    return std::vector<std::string>{x, b.init("g", {c}, std::vector<double>(c, 1.0)),
                                    b.init("b", {c}, std::vector<double>(c, 0.0)),
                                    b.init("m", {c}, std::vector<double>(c, 0.0)),
                                    b.init("v", {c}, std::vector<double>(c, 1.0))};
  };
  {  // after a pool
    OnnxBuilder b(2, 4, 4);
    b.avg_pool("input", "p", "pool");
    b.node("BatchNormalization", bn_inputs(b, "p", 2), "y", "bn1");
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"'bn1' (BatchNormalization)", "follows a AvgPool2d",
                                            "preceding Conv or ConvTranspose"});
  }
  {  // the conv output is read by another node too
    OnnxBuilder b(1, 4, 4);
    b.conv("input", "c", 1, 2, 3, "conv", 1);
    b.node("Mul", {"c", "c"}, "sq", "sq");
    b.node("BatchNormalization", bn_inputs(b, "c", 2), "y", "bn2");
    b.node("Add", {"y", "sq"}, "z", "add");
    b.output("z");
    expect_refused<Unsupported>(b.model(), {"'bn2' (BatchNormalization)", "also used"});
  }
  {  // the unfolded conv output is read after the BN
    OnnxBuilder b(1, 4, 4);
    b.conv("input", "c", 1, 2, 3, "conv", 1);
    b.node("BatchNormalization", bn_inputs(b, "c", 2), "y", "bn3");
    b.node("Add", {"y", "c"}, "z", "late");
    b.output("z");
    expect_refused<Unsupported>(b.model(), {"'late' (Add)", "folded"});
  }
  {  // training mode
    OnnxBuilder b(1, 4, 4);
    b.conv("input", "c", 1, 2, 3, "conv", 1);
    auto& n = b.node("BatchNormalization", bn_inputs(b, "c", 2), "y", "bn4");
    OnnxBuilder::integer(n, "training_mode", 1);
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"'bn4'", "eval mode"});
  }
}

TEST(OnnxImportRefuses, InputShapes) {
  {
    OnnxBuilder b(1, -1, 8);  // dynamic H
    b.output("input");
    expect_refused<Unsupported>(b.model(), {"input 'input'", "dynamic dimension 2"});
  }
  {
    OnnxBuilder b(1, 8, 8, "input", /*batch=*/2);
    b.output("input");
    expect_refused<Unsupported>(b.model(), {"batch size 2"});
  }
  {
    OnnxBuilder b(1, 8, 8);
    b.add_input("second", {1, 1, 8, 8});
    b.node("Add", {"input", "second"}, "y", "add");
    b.output("y");
    expect_refused<Unsupported>(b.model(), {"2 non-constant inputs"});
  }
  {
    OnnxBuilder b(1, 8, 8);
    b.model().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()
        ->mutable_shape()->mutable_dim()->RemoveLast();
    b.output("input");
    expect_refused<Unsupported>(b.model(), {"rank 3"});
  }
}

TEST(OnnxImportRefuses, MalformedGraphs) {
  {
    OnnxBuilder b(1, 4, 4);
    b.node("Mul", {"nowhere", "nowhere"}, "y", "sq");
    b.output("y");
    expect_refused<FormatError>(b.model(), {"'sq' (Mul) is malformed", "'nowhere'"});
  }
  {
    OnnxBuilder b(1, 4, 4);
    b.conv("input", "y", 1, 1, 3, "c", 1);
    b.output("missing");
    expect_refused<FormatError>(b.model(), {"graph output 'missing'"});
  }
  {
    OnnxBuilder b(1, 4, 4);
    b.node("Mul", {"input", "input"}, "a", "s1");
    b.node("Mul", {"input", "input"}, "b", "s2");
    b.output("a");
    b.output("b");
    expect_refused<Unsupported>(b.model(), {"2 outputs"});
  }
  {  // weight with fewer values than its dims
    OnnxBuilder b(1, 4, 4);
    b.init("w", {1, 1, 3, 3}, {1.0, 2.0});
    auto& n = b.node("Conv", {"input", "w"}, "y", "c");
    OnnxBuilder::ints(n, "pads", {1, 1, 1, 1});
    b.output("y");
    expect_refused<FormatError>(b.model(), {"'w' holds 2 values", "need 9"});
  }
}

}  // namespace
}  // namespace cryptounet::nn

namespace cryptounet::nn {
namespace {

// Corrupted model files: every outcome is a clean import or a cryptounet::Error, never a crash
// or another exception type (run under the sanitizer build to catch memory errors).
TEST(OnnxImportFuzz, MutatedFixtureNeverCrashes) {
  const auto path = std::filesystem::path(CU_SOURCE_DIR) / "tests" / "fixtures" / "random_ops.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture missing";
  std::ifstream in(path, std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), {});
  uint64_t s = 12345;
  auto next = [&] { return s = s * 6364136223846793005ULL + 1442695040888963407ULL; };
  int ok = 0, refused = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string bytes = original;
    const int flips = 1 + static_cast<int>((next() >> 33) % 4);
    for (int f = 0; f < flips; ++f)
      bytes[(next() >> 20) % bytes.size()] = static_cast<char>(next() >> 56);
    if (iter % 7 == 0) bytes.resize((next() >> 20) % bytes.size());
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes)) continue;
    try {
      (void)import_onnx(model);
      ++ok;
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(ok + refused, 50);
}

}  // namespace
}  // namespace cryptounet::nn
