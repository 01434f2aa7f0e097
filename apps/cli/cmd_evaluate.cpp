// `cryptounet evaluate`: Dice/IoU/accuracy/precision/recall of a model over a dataset split.
// With --plaintext, the plaintext reference only; otherwise every image also goes through the whole
// encrypted chain (keys made once; encrypt -> infer -> decrypt per image) and the report adds
// the encrypted metrics, their difference to plaintext and the largest logit error.
// The per-image loop lives in the library (workflow/evaluate.h, workflow/pipeline.h).
#include "cli/command.h"
#include "cli/options.h"
#include "cli/volume_cli.h"
#include "cli/workflow_util.h"

#include "cryptounet/data/dataset.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/evaluate.h"
#include "cryptounet/workflow/pipeline.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <unistd.h>

namespace cryptounet::cli {
namespace {

struct EvaluateArgs {
  std::string model, data, split = "test";
  int limit = 0;
  bool plain = false, json = false, resize = false;
  double threshold = 0.0;
  CleanMaskChoice clean_mask;
  int threads = 0;
  InsecureParams insecure;
  std::vector<double> zoom;  // empty: the images as they are
  std::string volume, mask, axis = "axial", slices;
};

// Adds the encrypted-vs-plaintext summary to eval_report_json's object.
std::string encrypted_json(const nn::EvalReport& r, const nn::PipelineTimes& t, const nn::Plan& plan) {
  auto j = nlohmann::json::parse(nn::eval_report_json(r));
  double worst = 0;
  for (std::size_t i = 0; i < r.per_image.size(); ++i) {
    const auto& ev = r.per_image[i];
    worst = std::max(worst, ev.max_logit_diff[1]);
    auto& e = j["per_image"][i];
    e["max_logit_error"] = ev.max_logit_diff[1];
    e["dice_difference"] = ev.metrics[1].dice - ev.metrics[0].dice;
    e["iou_difference"] = ev.metrics[1].iou - ev.metrics[0].iou;
  }
  j["max_logit_error"] = worst;
  j["dice_difference"] = r.mean[1].dice - r.mean[0].dice;
  j["iou_difference"] = r.mean[1].iou - r.mean[0].iou;
  j["seconds_per_image"] = r.mean_seconds[1];
  j["keygen_seconds"] = t.keygen;
  j["ckks"] = {{"log_n", plan.log_n},
               {"levels", plan.log_q.size() - 1},
               {"security", plan.insecure_for_tests ? "insecure_for_tests" : "128-bit"}};
  return j.dump(2);
}

void setup_evaluate(CLI::App& root) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = root.add_subcommand(
      "evaluate",
      "Segmentation metrics of a model on a dataset split, plaintext and encrypted (--plaintext: plaintext only)");
  cmd->add_option("--model", a->model, "ONNX model")->required()->check(CLI::ExistingFile);
  auto* data_opt = cmd->add_option("data,--data", a->data, "Dataset folder (images/, masks/, manifest.json)");
  auto* volume_opt = cmd->add_option("--volume", a->volume,
                                     "A volume instead (NIfTI file or DICOM series folder): volume Dice");
  cmd->add_option("--mask", a->mask, "With --volume: the ground-truth volume (foreground > 0)")->needs(volume_opt);
  cmd->add_option("--axis", a->axis, "With --volume: slice axis (axial, coronal, sagittal)")
      ->check(CLI::IsMember({"axial", "coronal", "sagittal"}))
      ->needs(volume_opt);
  cmd->add_option("--slices", a->slices, "With --volume: only slices FIRST:LAST (inclusive)")->needs(volume_opt);
  data_opt->excludes(volume_opt);
  cmd->add_option("--split", a->split, "train, val, test or all")
      ->check(CLI::IsMember({"train", "val", "test", "all"}));
  cmd->add_option("--limit", a->limit, "Evaluate at most this many images")->check(kNonNegative);
  cmd->add_flag("--plaintext", a->plain, "Only the plaintext reference executor (no encryption)");
  // The old spelling (segment-volume has always said --plaintext).
  cmd->add_flag("--plain", a->plain, "deprecated: use --plaintext")
      ->group("")
      ->each([](const std::string&) {
        std::fprintf(stderr, "note: --plain is deprecated; use --plaintext (as segment-volume)\n");
      });
  cmd->add_flag("--json", a->json,
                "Print a JSON report on stdout instead of a table (progress stays on stderr)");
  cmd->add_option("--zoom", a->zoom,
                  "Zoomed-out test: shrink each image and mask by area averaging to this fraction of "
                  "the field of view, centred, zero-padded, renormalised to max 1; a comma list "
                  "(0.5,0.6,0.7) gives one report each and their mean")
      ->delimiter(',')
      ->check(CLI::Range(0.05, 1.0));
  cmd->add_flag("--resize", a->resize, "Resample images of another size to the model's input");
  cmd->add_option("--threshold", a->threshold, "Logit threshold for 1-channel heads");
  add_clean_mask_flag(cmd, a->clean_mask);
  cmd->add_option("--threads", a->threads, "Threads for the encrypted run (0 = all cores)")
      ->check(kNonNegative);
  add_insecure_params_option(cmd, a->insecure, InsecureUse::picks_ring);
  cmd->callback([a] {
    const nn::Graph graph = nn::load_model(a->model);
    const bool clean_mask = a->clean_mask.resolve(graph.mask_cleanup, graph.name);
    if (!a->volume.empty()) {
      if (a->mask.empty()) throw CLI::ValidationError("--volume", "needs --mask GT (the ground-truth volume)");
      VolumeEvalArgs v{a->volume, a->mask, a->axis, a->slices, a->plain, a->json, a->threshold, clean_mask,
                       VolumeModelOptions{a->threads, a->insecure, "auto"}};
      evaluate_volume(graph, a->model, v);
      return;
    }
    require_input(!a->data.empty(), "a dataset folder (or --volume IMG --mask GT)",
                  "cryptounet evaluate --model M DATA [--plaintext] [--json]");
    const data::Dataset dataset = data::read_dataset(a->data);
    std::vector<nn::EvalMethod> methods{nn::plain_method(graph)};
    std::unique_ptr<nn::EncryptedPipeline> pipe;
    if (!a->plain) {
      nn::PlanOptions opt;
      apply_insecure_params(a->insecure, opt);
      nn::Plan plan = nn::make_plan(graph, opt);
      warn_if_insecure(plan);
      pipe = std::make_unique<nn::EncryptedPipeline>(graph, std::move(plan), ExecOptions{.threads = a->threads});
      methods.push_back(pipe->method());
    }
    nn::EvalOptions options;
    options.split = a->split;
    options.limit = a->limit;
    options.resize = a->resize;
    options.threshold = a->threshold;
    options.clean_mask = clean_mask;
    // Progress on stderr (stdout holds the table or the JSON): redrawn in place on a terminal,
    // one line per image otherwise.
    const bool tty = isatty(fileno(stderr)) != 0;
    const auto t0 = std::chrono::steady_clock::now();
    std::string stage;
    options.progress = [&stage, tty, t0](int done, int total, const std::string& file) {
      std::fprintf(stderr, "%sevaluate%s: %d/%d images, %.1f s%s%s", tty ? "\r" : "", stage.c_str(), done,
                   total, seconds_since(t0), file.empty() || tty ? "" : (" (" + file + ")").c_str(),
                   tty && done != total ? "" : "\n");
      std::fflush(stderr);
    };
    if (pipe) std::fprintf(stderr, "evaluate: making keys once (N=2^%d), then encrypt -> infer -> decrypt per image\n",
                           pipe->plan().log_n);
    std::vector<double> zooms = a->zoom.empty() ? std::vector<double>{1.0} : a->zoom;
    std::vector<nn::EvalReport> reports;
    for (double z : zooms) {
      options.zoom = z;
      stage = a->zoom.empty() ? "" : " (zoom " + std::to_string(z).substr(0, 4) + ")";
      reports.push_back(nn::evaluate_dataset(graph, dataset, methods, options));
    }
    auto one_json = [&](const nn::EvalReport& report) {
      return pipe ? encrypted_json(report, pipe->times(), pipe->plan()) : nn::eval_report_json(report);
    };
    if (a->json) {
      if (reports.size() == 1) {
        std::printf("%s\n", one_json(reports[0]).c_str());
      } else {
        nlohmann::json all = nlohmann::json::array();
        for (const auto& r : reports) all.push_back(nlohmann::json::parse(one_json(r)));
        std::printf("%s\n", all.dump(2).c_str());
      }
      return;
    }
    for (const nn::EvalReport& report : reports) {
      std::printf("%s", nn::eval_report_table(report).c_str());
      if (pipe) {
        double worst = 0, worst_dice = 0;
        for (const auto& ev : report.per_image) {
          worst = std::max(worst, ev.max_logit_diff[1]);
          worst_dice = std::max(worst_dice, std::abs(ev.metrics[1].dice - ev.metrics[0].dice));
        }
        std::printf("encrypted - plain: Dice %+.5f, IoU %+.5f (largest per-image |Dice difference| %.5f); "
                    "max logit error %.3g; keygen %.2f s once (%s, N=2^%d)\n",
                    report.mean[1].dice - report.mean[0].dice, report.mean[1].iou - report.mean[0].iou,
                    worst_dice, worst, pipe->times().keygen,
                    pipe->plan().insecure_for_tests ? "INSECURE test parameters" : "128-bit",
                    pipe->plan().log_n);
      }
    }
    if (reports.size() > 1) {
      std::string each;
      double sum = 0;
      for (const auto& r : reports) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.4f", each.empty() ? "" : "/", r.mean[0].dice);
        each += buf;
        sum += r.mean[0].dice;
      }
      std::printf("zoomed-out plain Dice: mean %.4f (%s at zoom", sum / static_cast<double>(reports.size()),
                  each.c_str());
      for (std::size_t i = 0; i < zooms.size(); ++i) std::printf("%s%g", i ? "/" : " ", zooms[i]);
      std::printf(")\n");
    }
  });
}

Registrar reg("evaluate", &setup_evaluate);

}  // namespace
}  // namespace cryptounet::cli
