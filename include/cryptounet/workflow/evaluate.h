// Evaluation of one or more segmentation methods over a dataset split: the per-image loop, the
// metrics and their averages, shared by `cryptounet evaluate --plain` and the encrypted path.
// A method maps the input tensor to logits; the plaintext reference executor is one, the
// encrypted executor (encrypt → infer → decrypt) another. With several methods, each image is run
// through all of them and the largest |logit difference| to the first method is recorded.
#pragma once

#include "cryptounet/data/dataset.h"
#include "cryptounet/data/metrics.h"
#include "cryptounet/model/graph.h"

#include <functional>
#include <string>
#include <vector>

namespace cryptounet::nn {

struct EvalMethod {
  std::string name;                              // "plain", "encrypted", …: the JSON key
  std::function<Tensor(const Tensor&)> logits;   // input tensor → logits tensor
};

struct EvalOptions {
  std::string split = "test";  // train, val, test or all
  int limit = 0;               // at most this many images (0: all)
  bool resize = false;         // resample images of another size to the model's input
  double threshold = 0.0;      // logit threshold for 1-channel heads
  bool clean_mask = false;     // fill holes in each predicted mask before its metrics (output_mask)
  double zoom = 1.0;           // < 1: data::zoom_out each image and mask (at the model's size)
  std::function<void(int done, int total, const std::string& file)> progress;  // optional
};

struct ImageEval {
  std::string file;
  std::vector<data::SegmentationMetrics> metrics;  // one per method, in method order
  std::vector<double> seconds;                     // wall time of each method on this image
  std::vector<double> max_logit_diff;              // vs method 0 (0 for method 0 itself)
};

struct EvalReport {
  std::string model;
  std::string dataset;
  std::string split;
  double zoom = 1.0;
  bool clean_mask = false;  // the metrics are of masks with holes filled (EvalOptions::clean_mask)
  std::vector<std::string> methods;
  std::vector<ImageEval> per_image;
  std::vector<data::SegmentationMetrics> mean;  // one per method
  std::vector<double> mean_seconds;             // one per method
};

/// Runs every method on every image of the split (metrics at the model's resolution; with
/// resize, masks are resampled by majority).
/// @throws InvalidArgument for no methods, an empty split, or a size mismatch without resize;
///         whatever loading a sample or a method throws.
[[nodiscard]] EvalReport evaluate_dataset(const Graph& graph, const data::Dataset& dataset,
                                          const std::vector<EvalMethod>& methods,
                                          const EvalOptions& options);

/// The plaintext reference executor as a method named "plain".
[[nodiscard]] EvalMethod plain_method(const Graph& graph);

/// {"<method>": {"dice", "iou", "pixel_accuracy", "precision", "recall", "seconds_per_image"},
///  "model", "dataset", "split", "images": n, "per_image": [{"file", "<method>": {...}, …}]}
[[nodiscard]] std::string eval_report_json(const EvalReport& report);

/// A human-readable table: one row per method with the mean metrics.
[[nodiscard]] std::string eval_report_table(const EvalReport& report);

}  // namespace cryptounet::nn
