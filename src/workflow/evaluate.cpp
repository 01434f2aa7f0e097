#include "cryptounet/workflow/evaluate.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/resize.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/workflow/segment.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace cryptounet::nn {
namespace {

nlohmann::json metrics_json(const data::SegmentationMetrics& m) {
  return {{"dice", m.dice},
          {"iou", m.iou},
          {"pixel_accuracy", m.pixel_accuracy},
          {"precision", m.precision},
          {"recall", m.recall}};
}

}  // namespace

EvalMethod plain_method(const Graph& graph) {
  return {"plain", [&graph](const Tensor& x) { return run_reference(graph, x); }};
}

EvalReport evaluate_dataset(const Graph& graph, const data::Dataset& dataset,
                            const std::vector<EvalMethod>& methods, const EvalOptions& options) {
  if (methods.empty()) throw InvalidArgument("evaluate: no methods to evaluate");
  auto items = dataset.split(options.split);
  if (options.limit > 0 && static_cast<std::size_t>(options.limit) < items.size())
    items.resize(static_cast<std::size_t>(options.limit));
  if (items.empty())
    throw InvalidArgument("evaluate: split '" + options.split + "' of dataset '" + dataset.dir +
                          "' has no images");
  EvalReport report;
  report.model = graph.name;
  report.dataset = dataset.name;
  report.split = options.split;
  report.zoom = options.zoom;
  report.clean_mask = options.clean_mask;
  for (const auto& m : methods) report.methods.push_back(m.name);
  const Shape out = graph.output_shape();
  int done = 0;
  for (const auto& item : items) {
    const data::Sample sample = data::load_sample(dataset, item);
    Tensor x = image_to_input(graph, sample.image, options.resize, "image '" + item.file + "'");
    data::Mask truth = sample.mask;
    if (truth.width != out.width || truth.height != out.height)
      truth = data::resize_majority(truth, out.width, out.height);
    if (options.zoom != 1.0) {
      if (out.width != x.shape.width || out.height != x.shape.height)
        throw Unsupported("evaluate: --zoom needs a model whose output has its input's size");
      data::Image img(x.shape.width, x.shape.height);
      for (std::size_t i = 0; i < img.pixels.size(); ++i)
        img.pixels[i] = x.data[i];
      data::zoom_out(img, truth, options.zoom);
      for (std::size_t i = 0; i < img.pixels.size(); ++i) x.data[i] = img.pixels[i];
    }
    ImageEval ev;
    ev.file = item.file;
    Tensor first;
    for (std::size_t k = 0; k < methods.size(); ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      Tensor logits = methods[k].logits(x);
      ev.seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (!(logits.shape == out))
        throw InvalidArgument("evaluate: method '" + methods[k].name + "' returned logits of " +
                              std::to_string(logits.shape.channels) + " channels, " +
                              std::to_string(logits.shape.height) + "x" +
                              std::to_string(logits.shape.width) + "; the model's output differs");
      ev.metrics.push_back(
          data::segmentation_metrics(output_mask(logits, options.threshold, options.clean_mask), truth));
      double diff = 0;
      if (k == 0) {
        first = std::move(logits);
      } else {
        for (std::size_t i = 0; i < first.data.size(); ++i)
          diff = std::max(diff, std::abs(first.data[i] - logits.data[i]));
      }
      ev.max_logit_diff.push_back(diff);
    }
    report.per_image.push_back(std::move(ev));
    ++done;
    if (options.progress) options.progress(done, static_cast<int>(items.size()), item.file);
  }
  for (std::size_t k = 0; k < methods.size(); ++k) {
    std::vector<data::SegmentationMetrics> v;
    double secs = 0;
    for (const auto& ev : report.per_image) {
      v.push_back(ev.metrics[k]);
      secs += ev.seconds[k];
    }
    report.mean.push_back(data::mean_metrics(v));
    report.mean_seconds.push_back(secs / static_cast<double>(report.per_image.size()));
  }
  return report;
}

std::string eval_report_json(const EvalReport& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["dataset"] = r.dataset;
  j["split"] = r.split;
  if (r.zoom != 1.0) j["zoom"] = r.zoom;
  if (r.clean_mask) j["clean_mask"] = "holes filled";
  j["images"] = r.per_image.size();
  for (std::size_t k = 0; k < r.methods.size(); ++k) {
    auto m = metrics_json(r.mean[k]);
    m["seconds_per_image"] = r.mean_seconds[k];
    if (k > 0) {
      double worst = 0;
      for (const auto& ev : r.per_image) worst = std::max(worst, ev.max_logit_diff[k]);
      m["max_logit_diff_vs_" + r.methods[0]] = worst;
    }
    j[r.methods[k]] = m;
  }
  j["per_image"] = nlohmann::json::array();
  for (const auto& ev : r.per_image) {
    nlohmann::json e;
    e["file"] = ev.file;
    for (std::size_t k = 0; k < r.methods.size(); ++k) {
      auto m = metrics_json(ev.metrics[k]);
      m["seconds"] = ev.seconds[k];
      if (k > 0) m["max_logit_diff_vs_" + r.methods[0]] = ev.max_logit_diff[k];
      e[r.methods[k]] = m;
    }
    j["per_image"].push_back(e);
  }
  return j.dump(2);
}

std::string eval_report_table(const EvalReport& r) {
  std::string s;
  char line[256];
  char zoom[64] = "";
  if (r.zoom != 1.0) std::snprintf(zoom, sizeof zoom, ", zoomed out to %g", r.zoom);
  std::snprintf(line, sizeof line, "model %s on %s, split %s, %zu images%s%s\n", r.model.c_str(),
                r.dataset.c_str(), r.split.c_str(), r.per_image.size(), zoom,
                r.clean_mask ? ", masks with holes filled (--clean-mask)" : "");
  s += line;
  std::snprintf(line, sizeof line, "%-10s %8s %8s %8s %9s %8s %12s\n", "method", "dice", "iou",
                "accuracy", "precision", "recall", "s/image");
  s += line;
  for (std::size_t k = 0; k < r.methods.size(); ++k) {
    const auto& m = r.mean[k];
    std::snprintf(line, sizeof line, "%-10s %8.4f %8.4f %8.4f %9.4f %8.4f %12.4g\n",
                  r.methods[k].c_str(), m.dice, m.iou, m.pixel_accuracy, m.precision, m.recall,
                  r.mean_seconds[k]);
    s += line;
  }
  return s;
}

}  // namespace cryptounet::nn
