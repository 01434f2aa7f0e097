#include "cryptounet/common/error.h"
#include "cryptounet/data/metrics.h"

#include <gtest/gtest.h>

namespace cryptounet::data {
namespace {

Mask make(std::vector<uint8_t> v) {
  Mask m(static_cast<int>(v.size()), 1);
  m.values = std::move(v);
  return m;
}

TEST(Metrics, HandComputed) {
  // tp: 2, fp: 1, fn: 3, tn: 4
  const Mask pred = make({1, 1, 1, 0, 0, 0, 0, 0, 0, 0});
  const Mask truth = make({1, 1, 0, 1, 1, 1, 0, 0, 0, 0});
  const Confusion c = confusion(pred, truth);
  EXPECT_EQ(c.tp, 2u);
  EXPECT_EQ(c.fp, 1u);
  EXPECT_EQ(c.fn, 3u);
  EXPECT_EQ(c.tn, 4u);
  const auto m = metrics_from(c);
  EXPECT_DOUBLE_EQ(m.dice, 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(m.iou, 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy, 6.0 / 10.0);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 5.0);
}

TEST(Metrics, EmptyCases) {
  const auto both_empty = segmentation_metrics(make({0, 0}), make({0, 0}));
  EXPECT_EQ(both_empty.dice, 1.0);
  EXPECT_EQ(both_empty.iou, 1.0);
  EXPECT_EQ(both_empty.precision, 1.0);
  EXPECT_EQ(both_empty.recall, 1.0);
  EXPECT_EQ(both_empty.pixel_accuracy, 1.0);
  const auto missed = segmentation_metrics(make({0, 0}), make({1, 0}));
  EXPECT_EQ(missed.dice, 0.0);
  EXPECT_EQ(missed.precision, 0.0);
  EXPECT_EQ(missed.recall, 0.0);
  EXPECT_EQ(missed.pixel_accuracy, 0.5);
  const auto spurious = segmentation_metrics(make({1, 0}), make({0, 0}));
  EXPECT_EQ(spurious.dice, 0.0);
  EXPECT_EQ(spurious.precision, 0.0);
  EXPECT_EQ(spurious.recall, 0.0);
  EXPECT_THROW((void)confusion(make({1}), make({1, 0})), InvalidArgument);
}

TEST(Metrics, MeanOverImages) {
  std::vector<SegmentationMetrics> v = {{1, 1, 1, 1, 1}, {0, 0.5, 0.25, 0, 1}};
  const auto m = mean_metrics(v);
  EXPECT_DOUBLE_EQ(m.dice, 0.5);
  EXPECT_DOUBLE_EQ(m.iou, 0.75);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy, 0.625);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_EQ(mean_metrics({}).dice, 0.0);
}

}  // namespace
}  // namespace cryptounet::data
