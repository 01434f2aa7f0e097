// The reference executor agrees with PyTorch: every tests/fixtures/<name>.onnx with its
// <name>.io.json (input and PyTorch's output, exported by train/) must match to 1e-5.
#include "cryptounet/common/compare.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace cryptounet::nn {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> fixture_models() {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(CU_SOURCE_DIR) / "tests" / "fixtures";
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const fs::path p = e.path();
    if (p.extension() != ".onnx") continue;
    if (fs::exists(fs::path(p).replace_extension(".io.json"))) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Shape shape_of(const nlohmann::json& j) {
  if (!j.is_array() || j.size() != 3) throw std::runtime_error("shape must be [C, H, W]");
  return {j[0].get<int>(), j[1].get<int>(), j[2].get<int>()};
}

TEST(PyTorchFixtures, ReferenceExecutorMatchesPyTorch) {
  const auto models = fixture_models();
  ASSERT_GE(models.size(), 6u) << "tests/fixtures lost some *.onnx + *.io.json pairs";
  for (const fs::path& model : models) {
    SCOPED_TRACE(model.filename().string());
    const Graph g = load_model(model.string());
    std::ifstream in(fs::path(model).replace_extension(".io.json"));
    const nlohmann::json io = nlohmann::json::parse(in);
    Tensor x(shape_of(io.at("input_shape")));
    ASSERT_EQ(x.shape, g.input_shape());
    x.data = io.at("input").get<std::vector<double>>();
    ASSERT_EQ(x.data.size(), x.shape.size());
    const Shape want_shape = shape_of(io.at("output_shape"));
    const auto want = io.at("output").get<std::vector<double>>();
    const Tensor y = run_reference(g, x);
    ASSERT_EQ(y.shape, want_shape);
    ASSERT_EQ(want.size(), y.data.size());
    const double max_diff = max_abs_diff(y.data, want), max_out = max_abs(want);
    EXPECT_LE(max_diff, 1e-5) << "max |output| " << max_out;
    std::printf("  %s: %zu nodes, depth %d, max |diff| vs PyTorch %.3g (max |output| %.3g)\n",
                model.filename().c_str(), g.nodes.size(), g.depth(), max_diff, max_out);
  }
}

}  // namespace
}  // namespace cryptounet::nn
