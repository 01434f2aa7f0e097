// Planes larger than any 128-bit ciphertext (issue 11): the planner cuts them into bands of whole
// rows and chooses N and the band count by predicted cost; when no split works it names the
// plane size, the depth and the limit, instead of a depth overrun by a negative number of levels
// at an unnamed node.
#include <gtest/gtest.h>

#include <cmath>

#include "cryptounet/common/error.h"
#include "cryptounet/he/plan/rotation_set.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;

namespace {

Graph blocks(int size, int n_blocks) {
  nn::testing::GraphBuilder b(5);
  int x = b.input(1, size, size);
  for (int i = 0; i < n_blocks; ++i) x = b.square(b.conv(x, 2, 3));
  return b.finish(b.conv(x, 1, 1));
}

std::string plan_error(const Graph& g) {
  try {
    (void)make_plan(g, PlanOptions{});
  } catch (const Unsupported& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PlannerLimits, PlaneLargerThanAnyCiphertextPlansInBands) {
  // Depth 13 fits 128-bit parameters; the 256x256 plane (65536 values) needs bands of rows.
  const Graph g = blocks(256, 6);
  const Plan p = make_plan(g, PlanOptions{});
  EXPECT_FALSE(p.insecure_for_tests);
  EXPECT_LE(p.log_qp(), max_log_qp_128(p.log_n));
  EXPECT_EQ(p.grid.bands, 65536 / (1 << (p.log_n - 1)));
  EXPECT_EQ(p.grid.band_rows * 256, p.grid.slots);
  // The choice is the cheapest of the 128-bit rings that hold the depth, by predicted time
  // (cost units scaled by N / 2^15).
  for (int log_n = 14; log_n <= 16; ++log_n) {
    PlanOptions o;
    o.log_n = log_n;
    Plan q;
    try {
      q = make_plan(g, o);
    } catch (const Unsupported&) {
      continue;  // the depth does not fit this ring
    }
    EXPECT_EQ(q.grid.bands, 65536 / (1 << (log_n - 1)));
    EXPECT_LE(cost_units(p.total) * std::ldexp(1.0, p.log_n - 15),
              cost_units(q.total) * std::ldexp(1.0, log_n - 15) * (1 + 1e-12))
        << "N=2^" << log_n << " is predicted cheaper than the chosen N=2^" << p.log_n;
  }
}

TEST(PlannerLimits, BundledArchitectureAt256PlansAt128Bit) {
  // The bundled depth-13 U-Net (brain64's architecture: 8/16/32 channels, two poolings) at 256x256.
  const Graph g = nn::testing::brain_unet(9, 256, 8);
  const Plan p = make_plan(g, PlanOptions{});
  EXPECT_FALSE(p.insecure_for_tests);
  EXPECT_EQ(p.depth, 13);
  EXPECT_GT(p.grid.bands, 1);
  EXPECT_LE(p.log_qp(), max_log_qp_128(p.log_n));
  EXPECT_TRUE(unexplained_rotation_steps(p).empty());
}

TEST(PlannerLimits, PlaneThatCannotBeCutIsExplained) {
  const std::string e = plan_error(blocks(250, 6));  // 250 columns divide no power-of-two slot count
  EXPECT_NE(e.find("250x250 input plane (62500 values) needs N >= 2^17"), std::string::npos) << e;
  EXPECT_NE(e.find("depth 13"), std::string::npos) << e;
  EXPECT_NE(e.find("up to N=2^16"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot be cut into bands"), std::string::npos) << e;
  EXPECT_EQ(e.find("first over"), std::string::npos) << e;
  EXPECT_EQ(e.find("by -"), std::string::npos) << e;
}

TEST(PlannerLimits, DeepAndLargeNamesBothLimits) {
  const std::string e = plan_error(blocks(256, 25));  // depth 51 (N=2^16 holds 40 levels) and a 256x256 plane
  EXPECT_NE(e.find("depth 51 does not fit 128-bit"), std::string::npos) << e;
  EXPECT_NE(e.find("is the first over, by 11 levels"), std::string::npos) << e;
  EXPECT_NE(e.find("256x256 input plane"), std::string::npos) << e;
}

TEST(PlannerLimits, SmallerPlanesStillFit) {
  EXPECT_NO_THROW((void)make_plan(blocks(64, 6), PlanOptions{}));
  const Plan p = make_plan(blocks(128, 6), PlanOptions{});
  EXPECT_EQ(p.log_n, 15);
}
