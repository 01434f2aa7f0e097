// Segmentation metrics over binary masks, per image and averaged. Convention for degenerate
// cases: when a ratio's denominator is zero (nothing predicted and nothing true), the prediction is
// perfect and the metric is 1; a prediction of nothing where something is true gives precision 0,
// and a prediction of something where nothing is true gives recall 0.
#pragma once

#include "cryptounet/data/image.h"

#include <cstdint>
#include <vector>

namespace cryptounet::data {

struct Confusion {
  std::uint64_t tp = 0, fp = 0, fn = 0, tn = 0;
};

struct SegmentationMetrics {
  double dice = 0;
  double iou = 0;
  double pixel_accuracy = 0;
  double precision = 0;
  double recall = 0;
};

/// @throws InvalidArgument if the masks differ in size.
[[nodiscard]] Confusion confusion(const Mask& predicted, const Mask& truth);

[[nodiscard]] SegmentationMetrics metrics_from(const Confusion& c);

[[nodiscard]] inline SegmentationMetrics segmentation_metrics(const Mask& predicted,
                                                              const Mask& truth) {
  return metrics_from(confusion(predicted, truth));
}

/// The mean of each metric over images (all zeros for an empty list).
[[nodiscard]] SegmentationMetrics mean_metrics(const std::vector<SegmentationMetrics>& per_image);

}  // namespace cryptounet::data
