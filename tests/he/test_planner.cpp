// Planner: parameter choice, rotation set, refusals, and predicted counts == executed counts
// on the simulator for whole U-Nets (the bundled 64x64 architecture with random weights).
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "cryptounet/common/error.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;
using packing::PackingMode;

TEST(Planner, BrainModelGets128BitN15) {
  Graph g = brain_unet(1);
  Plan plan = make_plan(g, PlanOptions{});
  EXPECT_EQ(plan.depth, 13);
  EXPECT_EQ(plan.log_n, 15);
  EXPECT_EQ(plan.log_q.size(), 14u);
  EXPECT_LE(plan.log_qp(), max_log_qp_128(15));
  EXPECT_FALSE(plan.insecure_for_tests);
  EXPECT_EQ(plan.grid.rows, 4);
  EXPECT_EQ(plan.output_level, 0);
  EXPECT_EQ(plan.input().layout.team_size(), 1);  // replicated 1-channel input
  std::ostringstream table;
  print_cost_table(plan, table);
  std::cout << table.str();
  EXPECT_NE(table.str().find("total"), std::string::npos);
}

TEST(Planner, LargeActivationRangesAreScaledDownAndUndone) {
  // An output range of 1e5 with a 100x margin does not fit the 2^18 headroom at level 0: the
  // planner folds a power-of-two factor into the last weights; the client divides it out.
  GraphBuilder b(21);
  int x = b.input(2, 8, 8);
  int y = b.square(b.conv(x, 3, 3));
  Graph g = b.finish(b.conv(y, 2, 1, 50.0));
  g.nodes[g.output].max_abs = 1e5;
  PlanOptions o;
  o.log_n = 11;
  o.insecure_for_tests = true;
  Plan plan = make_plan(g, o);
  ASSERT_LT(plan.output().factor[0], 1.0);
  EXPECT_EQ(plan.layers[1].factor[0], 1.0);
  Tensor in = b.random_input(g.input_shape());
  SimRun run = run_sim(g, plan, {in});
  EXPECT_LE(rel_error(run.outputs[0], run_reference_all(g, in)[g.output]), 1e-9);
  PlanSizes sz = plan_sizes(plan);
  EXPECT_EQ(sz.galois_keys, static_cast<int>(plan.rotation_steps.size()));
  EXPECT_GT(sz.eval_key_bytes, 0);
}

TEST(Planner, RefusesWhatDoesNotFit) {
  GraphBuilder b(3);
  int x = b.input(1, 16, 16);
  for (int i = 0; i < 25; ++i) x = b.square(b.conv(x, 2, 3));
  Graph deep = b.finish(x);
  try {
    (void)make_plan(deep, PlanOptions{});
    FAIL() << "depth 50 should not fit";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("depth 50"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("first over"), std::string::npos) << e.what();
  }
  PlanOptions small;
  small.log_n = 12;
  EXPECT_THROW((void)make_plan(brain_unet(1, 16), small), SecurityError);
  PlanOptions tp;
  tp.mode = PackingMode::throughput;
  tp.batch = 5;  // R = 4 at N = 2^15
  EXPECT_THROW((void)make_plan(brain_unet(1), tp), InvalidArgument);
}

TEST(Planner, CountsEqualExecutionOnBrainModelLatency) {
  Graph g = brain_unet(2);
  Plan plan = make_plan(g, PlanOptions{});
  GraphBuilder ib(5);
  std::vector<Tensor> images{ib.random_input(g.input_shape())};
  SimRun run = run_sim(g, plan, images, 9);
  EXPECT_LE(rel_error(run.outputs[0], run_reference_all(g, images[0])[g.output]), 1e-9);
  for (std::size_t n = 0; n < plan.layers.size(); ++n)
    EXPECT_EQ(run.report.layers[n].counts, plan.layers[n].predicted)
        << "node " << n << " " << plan.layers[n].name;
  EXPECT_EQ(run.report.total, plan.total);
  std::set<int> planned(plan.rotation_steps.begin(), plan.rotation_steps.end());
  EXPECT_EQ(run.steps_used, planned);
  std::cout << "simulated 64x64 latency run: " << run.report.total << " in "
            << run.report.seconds << " s\n";
}

TEST(Planner, CountsEqualExecutionOnBrainModelThroughput) {
  Graph g = brain_unet(3);
  PlanOptions o;
  o.mode = PackingMode::throughput;
  o.batch = 0;
  Plan plan = make_plan(g, o);
  EXPECT_EQ(plan.batch, 4);
  print_cost_table(plan, std::cout);
  GraphBuilder ib(6);
  std::vector<Tensor> images;
  for (int i = 0; i < plan.batch; ++i) images.push_back(ib.random_input(g.input_shape()));
  SimRun run = run_sim(g, plan, images, 10);
  for (int i = 0; i < plan.batch; ++i)
    EXPECT_LE(rel_error(run.outputs[i], run_reference_all(g, images[i])[g.output]), 1e-9) << i;
  EXPECT_EQ(run.report.total, plan.total);
}

TEST(Planner, RandomSmallUNetsBothModesAllStrategies) {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    GraphBuilder b(seed);
    std::mt19937_64& r = b.rng();
    int c = 2 + static_cast<int>(r() % 5);
    int size = (r() % 2) ? 16 : 8;
    Graph g = brain_unet(seed, size, c);
    for (PackingMode mode : {PackingMode::latency, PackingMode::throughput})
      for (StrategyChoice st :
           {StrategyChoice::automatic, StrategyChoice::diagonal, StrategyChoice::masked_scalar}) {
        PlanOptions o;
        o.mode = mode;
        o.batch = 0;
        o.log_n = 11;
        o.insecure_for_tests = true;
        o.strategy = st;
        Plan plan = make_plan(g, o);
        std::vector<Tensor> images;
        for (int i = 0; i < plan.batch; ++i) images.push_back(b.random_input(g.input_shape()));
        SimRun run = run_sim(g, plan, images, seed + 50);
        std::string what = "seed " + std::to_string(seed) + " c " + std::to_string(c) + " size " +
                           std::to_string(size) + " " + packing::mode_name(mode) + " strategy " +
                           std::to_string(static_cast<int>(st));
        for (int i = 0; i < plan.batch; ++i)
          EXPECT_LE(rel_error(run.outputs[i], run_reference_all(g, images[i])[g.output]), 1e-9)
              << what;
        EXPECT_EQ(run.report.total, plan.total) << what;
      }
  }
}

TEST(Executor, RefusesPlansThatDoNotFitTheGraph) {
  Graph g = brain_unet(4, 16, 2);
  PlanOptions o;
  o.log_n = 11;
  o.insecure_for_tests = true;
  Plan plan = make_plan(g, o);
  GraphBuilder ib(1);
  std::vector<Tensor> images{ib.random_input(g.input_shape())};
  Plan bad_layout = plan;
  bad_layout.layers[1].layout = plan.layers[4].layout;  // another tensor's layout
  EXPECT_THROW((void)run_sim(g, bad_layout, images), InvalidArgument);
  Plan bad_level = plan;
  bad_level.layers[1].level += 1;
  EXPECT_THROW((void)run_sim(g, bad_level, images), InvalidArgument);
  Graph other = brain_unet(4, 16, 3);  // same structure, other channel counts
  EXPECT_THROW((void)run_sim(other, plan, images), InvalidArgument);
  SimBackend wrong_slots = SimBackend::from_bits(plan.grid.slots * 2, plan.log_q, plan.log_scale);
  EXPECT_THROW((void)run_encrypted(wrong_slots, g, plan, {}), InvalidArgument);
}
