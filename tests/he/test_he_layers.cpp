// Every HE layer on the slot simulator against the float64 reference, over a table of shapes,
// strides, channel counts and both packing modes. Bound: 1e-9 relative (the simulator is exact
// arithmetic; the bound only absorbs float64 rounding of different summation orders).
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "cryptounet/common/error.h"
#include "cryptounet/he/plan/rotation_set.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;
using packing::PackingMode;

namespace {

constexpr double kSimBound = 1e-9;

struct Case {
  const char* layer;  // conv3, conv1, convT, pool, square, concat, add
  int cin, cout, size, stride;
};

Graph build_case(const Case& c, unsigned seed) {
  return single_layer_graph(c.layer, c.cin, c.cout, c.size, c.size, c.stride, seed);
}

std::string describe(const Case& c, PackingMode mode, unsigned seed, StrategyChoice st) {
  std::ostringstream os;
  os << c.layer << " cin=" << c.cin << " cout=" << c.cout << " size=" << c.size
     << " stride=" << c.stride << " mode=" << packing::mode_name(mode) << " strategy="
     << static_cast<int>(st) << " seed=" << seed;
  return os.str();
}

void run_case(const Case& c, PackingMode mode, StrategyChoice st, int log_n, unsigned seed,
              TapChoice taps = TapChoice::automatic, int mux = 1) {
  const std::string what =
      describe(c, mode, seed, st) + " taps=" + std::to_string(static_cast<int>(taps));
  SCOPED_TRACE(what);
  Graph g = build_case(c, seed);
  PlanOptions o;
  o.mode = mode;
  o.batch = 0;
  o.log_n = log_n;
  o.insecure_for_tests = true;
  o.strategy = st;
  o.taps = taps;
  o.mux = mux;
  Plan plan = make_plan(g, o);
  if (mux > 1 && c.stride > 1 && (std::string(c.layer) == "conv3" || std::string(c.layer) == "conv1"))
    EXPECT_EQ(plan.output().layout.mux(), 2) << what;  // the convolution after the pooling merges
  GraphBuilder ib(seed + 1000);
  std::vector<Tensor> images;
  for (int b = 0; b < plan.batch; ++b) images.push_back(ib.random_input(g.input_shape()));
  SimRun run = run_sim(g, plan, images, seed + 7);
  for (int b = 0; b < plan.batch; ++b) {
    Tensor ref = run_reference_all(g, images[b])[g.output];
    double err = rel_error(run.outputs[b], ref);
    EXPECT_LE(err, kSimBound) << what << " image " << b;
  }
  EXPECT_EQ(run.report.total, plan.total) << what;
  for (std::size_t n = 0; n < plan.layers.size(); ++n)
    EXPECT_EQ(run.report.layers[n].counts, plan.layers[n].predicted) << what << " node " << n;
  std::set<int> planned(plan.rotation_steps.begin(), plan.rotation_steps.end());
  EXPECT_EQ(run.steps_used, planned) << what;
}

const Case kCases[] = {
    {"conv3", 1, 4, 16, 1},  {"conv3", 3, 5, 16, 1},  {"conv3", 4, 8, 16, 2},
    {"conv3", 6, 3, 16, 4},  {"conv3", 9, 9, 8, 2},   {"conv3", 2, 2, 16, 8},
    {"conv1", 5, 1, 16, 1},  {"conv1", 8, 3, 16, 2},  {"convT", 4, 2, 16, 2},
    {"convT", 3, 5, 16, 4},  {"convT", 8, 8, 8, 2},   {"pool", 3, 3, 16, 1},
    {"pool", 2, 2, 16, 2},   {"square", 5, 5, 8, 2},  {"concat", 3, 6, 16, 2},
    {"concat", 2, 5, 8, 1},  {"add", 3, 3, 16, 2},
};

}  // namespace

TEST(HeLayersSim, LatencyDiagonalMatchesReference) {
  unsigned seed = 10;
  for (const Case& c : kCases) run_case(c, PackingMode::latency, StrategyChoice::diagonal, 11, seed++);
}

TEST(HeLayersSim, LatencyMaskedScalarMatchesReference) {
  unsigned seed = 100;
  for (const Case& c : kCases)
    run_case(c, PackingMode::latency, StrategyChoice::masked_scalar, 11, seed++);
}

TEST(HeLayersSim, ConvTapsOnEitherSideBothModes) {
  unsigned seed = 300;
  for (const Case& c : kCases)
    for (PackingMode mode : {PackingMode::latency, PackingMode::throughput})
      for (StrategyChoice st : {StrategyChoice::diagonal, StrategyChoice::masked_scalar})
        for (TapChoice taps : {TapChoice::taps_in, TapChoice::taps_out})
          run_case(c, mode, st, 11, seed++, taps);
}

TEST(HeLayersSim, ThroughputMatchesReference) {
  unsigned seed = 200;
  for (const Case& c : kCases) {
    run_case(c, PackingMode::throughput, StrategyChoice::masked_scalar, 10, seed++);
    run_case(c, PackingMode::throughput, StrategyChoice::diagonal, 10, seed++);
  }
}

// Multiplexed throughput layouts (several images per stride cell after pooling; merges in the
// first convolution after a pooling, splits in transposed convolutions): every layer, both
// strategies and tap sides, 1 to 4 images per cell side, junk in every slot that holds no value.
TEST(HeLayersSim, ThroughputMultiplexedMatchesReference) {
  unsigned seed = 500;
  for (const Case& c : kCases)
    for (int mux : {2, 4})
      for (StrategyChoice st : {StrategyChoice::diagonal, StrategyChoice::masked_scalar})
        for (TapChoice taps : {TapChoice::taps_in, TapChoice::taps_out})
          run_case(c, PackingMode::throughput, st, 11, seed++, taps, mux);
}

// The bundled architecture (two poolings, two skips) multiplexed: 16 images per cell at stride 4,
// each matching its own float64 reference; every layout of the plan is the one expected.
TEST(HeLayersSim, BrainUnetMultiplexedMatchesReference) {
  Graph g = brain_unet(41, 16, 4);
  PlanOptions o;
  o.mode = PackingMode::throughput;
  o.batch = 0;
  o.log_n = 10;  // 512 slots: two 16x16 planes per ciphertext, 32 images in all
  o.insecure_for_tests = true;
  o.mux = 4;
  Plan plan = make_plan(g, o);
  ASSERT_EQ(plan.batch, 32);
  std::map<int, std::pair<int, int>> by_stride;  // stride -> (groups, mux) of the convolutions
  for (const LayerPlan& lp : plan.layers)
    if (lp.kind == OpKind::Conv2d) by_stride[lp.layout.stride()] = {lp.layout.groups(), lp.layout.mux()};
  EXPECT_EQ(by_stride[1], std::make_pair(16, 1));
  EXPECT_EQ(by_stride[2], std::make_pair(4, 2));
  EXPECT_EQ(by_stride[4], std::make_pair(1, 4));
  GraphBuilder ib(4242);
  std::vector<Tensor> images;
  for (int b = 0; b < plan.batch; ++b) images.push_back(ib.random_input(g.input_shape()));
  SimRun run = run_sim(g, plan, images, 99);
  for (int b = 0; b < plan.batch; ++b)
    EXPECT_LE(rel_error(run.outputs[b], run_reference_all(g, images[b])[g.output]), kSimBound) << "image " << b;
  EXPECT_EQ(run.report.total, plan.total);
  std::set<int> planned(plan.rotation_steps.begin(), plan.rotation_steps.end());
  EXPECT_EQ(run.steps_used, planned);
  EXPECT_TRUE(unexplained_rotation_steps(plan).empty());
  // Per image, the multiplexed plan does less work than one image per row.
  PlanOptions plain = o;
  plain.mux = 1;
  plain.batch = 0;
  const Plan unmux = make_plan(g, plain);
  EXPECT_LT(predicted_cost_per_image(plan), 0.5 * predicted_cost_per_image(unmux));

  // A batch that fills only part of it: the plan multiplexes no more than the batch needs (8
  // images on 2 rows: 4 groups, 2 per cell side at stride 4); 9 need 16 groups, and the groups
  // beyond the batch compute zeros.
  for (int batch : {8, 9}) {
    o.batch = batch;
    const Plan part = make_plan(g, o);
    EXPECT_EQ(part.input().layout.groups(), batch == 8 ? 4 : 16);
    std::vector<Tensor> few(images.begin(), images.begin() + batch);
    SimRun rb = run_sim(g, part, few, 5);
    for (int b = 0; b < batch; ++b)
      EXPECT_LE(rel_error(rb.outputs[b], run_reference_all(g, few[b])[g.output]), kSimBound) << "image " << b;
    EXPECT_EQ(rb.report.total, part.total);
  }
}

TEST(HeLayersSim, NonSquareImageWithPaddingSlots) {
  // 12 x 10 = 120 pixels in planes of 128 slots: padding slots must never leak.
  GraphBuilder b(5);
  int x = b.input(2, 12, 10);
  int y = b.square(b.conv(x, 6, 3));
  int p = b.pool(y);
  int z = b.conv(p, 4, 3);
  int u = b.conv_t(z, 3);
  int cat = b.concat(u, y);
  Graph g = b.finish(b.conv(cat, 2, 1));
  for (PackingMode mode : {PackingMode::latency, PackingMode::throughput}) {
    PlanOptions o;
    o.mode = mode;
    o.batch = 0;
    o.log_n = 11;
    o.insecure_for_tests = true;
    Plan plan = make_plan(g, o);
    std::vector<Tensor> images;
    for (int i = 0; i < plan.batch; ++i) images.push_back(b.random_input(g.input_shape()));
    SimRun run = run_sim(g, plan, images, 77);
    for (int i = 0; i < plan.batch; ++i)
      EXPECT_LE(rel_error(run.outputs[i], run_reference_all(g, images[i])[g.output]), kSimBound)
          << packing::mode_name(mode) << " image " << i;
    EXPECT_EQ(run.report.total, plan.total);
  }
}
