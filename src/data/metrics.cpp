#include "cryptounet/data/metrics.h"

#include "cryptounet/common/error.h"

#include <string>

namespace cryptounet::data {

Confusion confusion(const Mask& p, const Mask& t) {
  if (p.width != t.width || p.height != t.height || p.values.size() != t.values.size())
    throw InvalidArgument("metrics: predicted mask is " + std::to_string(p.width) + "x" +
                          std::to_string(p.height) + ", ground truth is " +
                          std::to_string(t.width) + "x" + std::to_string(t.height));
  Confusion c;
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    const bool a = p.values[i] != 0, b = t.values[i] != 0;
    if (a && b) ++c.tp;
    else if (a) ++c.fp;
    else if (b) ++c.fn;
    else ++c.tn;
  }
  return c;
}

SegmentationMetrics metrics_from(const Confusion& c) {
  auto ratio = [](double num, double den) { return den == 0 ? 1.0 : num / den; };
  const double tp = static_cast<double>(c.tp), fp = static_cast<double>(c.fp),
               fn = static_cast<double>(c.fn), tn = static_cast<double>(c.tn);
  SegmentationMetrics m;
  m.dice = ratio(2 * tp, 2 * tp + fp + fn);
  m.iou = ratio(tp, tp + fp + fn);
  m.pixel_accuracy = ratio(tp + tn, tp + fp + fn + tn);
  // precision: nothing predicted is perfect only if nothing is true
  m.precision = (tp + fp == 0) ? (fn == 0 ? 1.0 : 0.0) : tp / (tp + fp);
  m.recall = (tp + fn == 0) ? (fp == 0 ? 1.0 : 0.0) : tp / (tp + fn);
  return m;
}

SegmentationMetrics mean_metrics(const std::vector<SegmentationMetrics>& v) {
  SegmentationMetrics m;
  if (v.empty()) return m;
  for (const auto& x : v) {
    m.dice += x.dice;
    m.iou += x.iou;
    m.pixel_accuracy += x.pixel_accuracy;
    m.precision += x.precision;
    m.recall += x.recall;
  }
  const double n = static_cast<double>(v.size());
  m.dice /= n;
  m.iou /= n;
  m.pixel_accuracy /= n;
  m.precision /= n;
  m.recall /= n;
  return m;
}

}  // namespace cryptounet::data
