// The planner's refusal for a plane larger than any 128-bit ciphertext (issue 11): it names the
// plane size, the ring it would need and the limit, instead of a depth overrun by a negative
// number of levels at an unnamed node.
#include <gtest/gtest.h>

#include "cryptounet/common/error.h"
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

TEST(PlannerLimits, PlaneLargerThanAnyCiphertextIsExplained) {
  const std::string e = plan_error(blocks(256, 6));  // depth 13 fits; the 256x256 plane does not
  EXPECT_NE(e.find("256x256 input plane (65536 values) needs N >= 2^17"), std::string::npos) << e;
  EXPECT_NE(e.find("up to N=2^16"), std::string::npos) << e;
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
