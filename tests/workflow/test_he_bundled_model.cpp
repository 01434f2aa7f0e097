// The bundled brain64 model (ONNX + model card) planned at 128-bit N=2^15 and run on the slot
// simulator: logits equal the float64 reference (1e-9 relative), counts equal the plan's.
#include <gtest/gtest.h>

#include <iostream>

#include "cryptounet/data/png.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/segment.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;

TEST(HeBundledModel, Brain64OnSimulatorMatchesReferenceBothModes) {
  const std::string dir = std::string(CU_SOURCE_DIR) + "/models/";
  Graph g = load_model(dir + "brain64.onnx");
  Tensor in = image_to_input(g, data::read_image(dir + "samples/brain64_test.png"), false);
  Tensor ref = run_reference(g, in);
  for (auto mode : {packing::PackingMode::latency, packing::PackingMode::throughput}) {
    PlanOptions o;
    o.mode = mode;
    o.batch = 0;
    Plan plan = make_plan(g, o);
    EXPECT_EQ(plan.log_n, 15);
    EXPECT_EQ(plan.depth, 13);
    if (mode == packing::PackingMode::latency) print_cost_table(plan, std::cout);
    std::vector<Tensor> images(plan.batch, in);
    SimRun run = run_sim(g, plan, images, 3);
    for (const Tensor& out : run.outputs) EXPECT_LE(rel_error(out, ref), 1e-9);
    EXPECT_EQ(run.report.total, plan.total);
  }
}
