// Images are read as float64 end to end into the float64 reference executor (issue 15): the one
// image reader (data::read_any_image) keeps a float64 NIfTI's voxels exactly, 8- and 16-bit PNG
// give exactly v / 255 and v / 65535, and the reference executor on a float64 input whose values
// are not float32 numbers gives PyTorch's float64 logits to 1e-12. The fixture
// (tests/apps/fixtures/random_ops_f64.*) is written by make_float64_fixture.py beside it.
#include "cryptounet/data/image_file.h"
#include "cryptounet/data/png.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/segment.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cryptounet {
namespace {

namespace fs = std::filesystem;

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

TEST(ImageFloat64, Float64NiftiThroughTheReferenceExecutorEqualsPyTorchFloat64) {
  const fs::path fixtures = fs::path(CU_SOURCE_DIR) / "tests" / "apps" / "fixtures";
  const std::string model = (fs::path(CU_SOURCE_DIR) / "tests" / "fixtures" / "random_ops.onnx").string();
  std::ifstream in(fixtures / "random_ops_f64.io.json");
  ASSERT_TRUE(in) << "fixture random_ops_f64.io.json missing";
  const nlohmann::json io = nlohmann::json::parse(in);
  const auto want_in = io.at("input").get<std::vector<double>>();
  const auto want_out = io.at("output").get<std::vector<double>>();

  // The reader keeps every voxel bit for bit (0 and 1 are present: the min-max stretch is exact).
  const data::Image img = data::read_any_image((fixtures / "random_ops_f64.nii").string());
  ASSERT_EQ(img.width, 16);
  ASSERT_EQ(img.height, 16);
  int not_float32 = 0;
  for (std::size_t i = 0; i < want_in.size(); ++i) {
    EXPECT_EQ(img.pixels[i], want_in[i]) << "voxel " << i;
    not_float32 += static_cast<double>(static_cast<float>(want_in[i])) != want_in[i];
  }
  EXPECT_GE(not_float32, 250);  // a float32 rounding anywhere would change them

  const nn::Graph graph = nn::load_model(model);
  const nn::Tensor logits = nn::run_reference(graph, nn::image_to_input(graph, img, false, "fixture"));
  double scale = 1;
  for (double v : want_out) scale = std::max(scale, std::abs(v));
  const double err = max_abs_diff(logits.data, want_out);
  EXPECT_LE(err, 1e-12 * scale) << "max |reference - PyTorch float64| = " << err;

  // The same input rounded to float32 misses PyTorch's float64 logits by far more: the bound above
  // tells the two apart.
  nn::Tensor rounded = nn::image_to_input(graph, img, false, "fixture");
  for (double& v : rounded.data) v = static_cast<float>(v);
  EXPECT_GT(max_abs_diff(nn::run_reference(graph, rounded).data, want_out), 1e-9 * scale);
}

TEST(ImageFloat64, Png8BitIsExactlyValueOver255) {
  // (16-bit: tests/data/test_png.cpp, Grey16BitKeepsPrecision, v / 65535 exactly.)
  const fs::path dir = fs::temp_directory_path() / ("cu_f64_png_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  data::Image img(16, 16);
  for (int i = 0; i < 256; ++i) img.pixels[i] = i / 255.0;
  data::write_image_png((dir / "a.png").string(), img);
  const data::Image a = data::read_any_image((dir / "a.png").string());
  for (int i = 0; i < 256; ++i) EXPECT_EQ(a.pixels[i], i / 255.0) << i;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cryptounet
