// Every committed PyTorch fixture (tests/fixtures/<name>.onnx + .io.json) planned with the default
// (128-bit) planner, random_ops also at insecure N=2^11, and run on the slot simulator: the encrypted-path logits equal PyTorch's
// float64 output within 1e-6 of max |output| (the simulator is exact but for the scale
// reconciliation of a residual Add after a Square, ~1e-7 relative), and the operation counts
// done equal the plan's, layer by layer. A missing fixture fails the test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cryptounet/onnx/load_model.h"
#include "he/he_test_util.h"

namespace cryptounet::nn {
namespace {

namespace fs = std::filesystem;
using testing::run_sim;

Shape shape_of(const nlohmann::json& j) {
  return {j.at(0).get<int>(), j.at(1).get<int>(), j.at(2).get<int>()};
}

void run_fixture(const std::string& name, const PlanOptions& options = {}) {
  const fs::path model = fs::path(CU_SOURCE_DIR) / "tests" / "fixtures" / (name + ".onnx");
  const fs::path io_path = fs::path(model).replace_extension(".io.json");
  ASSERT_TRUE(fs::exists(model)) << "missing fixture " << model;
  ASSERT_TRUE(fs::exists(io_path)) << "missing fixture " << io_path;
  const Graph g = load_model(model.string());
  std::ifstream in(io_path);
  const nlohmann::json io = nlohmann::json::parse(in);
  Tensor x(shape_of(io.at("input_shape")));
  ASSERT_EQ(x.shape, g.input_shape());
  x.data = io.at("input").get<std::vector<double>>();
  ASSERT_EQ(x.data.size(), x.shape.size());
  Tensor want(shape_of(io.at("output_shape")));
  want.data = io.at("output").get<std::vector<double>>();
  ASSERT_EQ(want.data.size(), want.shape.size());

  const Plan plan = make_plan(g, options);
  const testing::SimRun run = run_sim(g, plan, {x}, 5);
  ASSERT_EQ(run.outputs.size(), 1u);
  ASSERT_EQ(run.outputs[0].shape, want.shape);
  EXPECT_LE(testing::rel_error(run.outputs[0], want), 1e-6) << name << " at N=2^" << plan.log_n;
  EXPECT_EQ(run.report.total, plan.total) << name;
  ASSERT_EQ(run.report.layers.size(), plan.layers.size());
  for (std::size_t i = 0; i < plan.layers.size(); ++i)
    EXPECT_EQ(run.report.layers[i].counts, plan.layers[i].predicted) << name << ": " << plan.layers[i].name;
  // The run used exactly the rotations the plan asks keys for, no other.
  EXPECT_EQ(std::vector<int>(run.steps_used.begin(), run.steps_used.end()), plan.rotation_steps) << name;
}

TEST(FixturesOnSimulator, RandomOps) { run_fixture("random_ops"); }
// The case that ran on CKKS but threw on the simulator before scales were reconciled in the
// executor: at N=2^11 the residual Add meets a squared tensor whose scale is D^2/q, not D.
TEST(FixturesOnSimulator, RandomOpsInsecureN2048) {
  PlanOptions o;
  o.log_n = 11;
  o.insecure_for_tests = true;
  run_fixture("random_ops", o);
}
TEST(FixturesOnSimulator, RandomBatchNorm) { run_fixture("random_bn"); }
TEST(FixturesOnSimulator, Brain64) { run_fixture("brain64"); }
TEST(FixturesOnSimulator, Nuclei64) { run_fixture("nuclei64"); }
TEST(FixturesOnSimulator, Brain128) { run_fixture("brain128"); }
// 256x256 at N=2^16: the planner splits the image into 2 bands of 128 rows.
TEST(FixturesOnSimulator, Brain256) { run_fixture("brain256"); }

}  // namespace
}  // namespace cryptounet::nn
