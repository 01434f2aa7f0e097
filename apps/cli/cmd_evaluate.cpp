// `cryptounet evaluate`: Dice/IoU/accuracy/precision/recall of a model over a dataset split.
// The per-image loop lives in the library (nn/evaluate.h); this file only picks the methods.
#include "cli/command.h"

#include "cryptounet/data/dataset.h"
#include "cryptounet/nn/evaluate.h"
#include "cryptounet/nn/model_card.h"

#include <cstdio>
#include <memory>

#include <unistd.h>

namespace cryptounet::cli {
namespace {

struct EvaluateArgs {
  std::string model, data, split = "test";
  int limit = 0;
  bool plain = false, json = false, resize = false;
  double threshold = 0.0;
  double zoom = 1.0;
};

void setup_evaluate(CLI::App& root) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = root.add_subcommand(
      "evaluate", "Segmentation metrics of a model on a dataset split (plaintext reference)");
  cmd->add_option("--model", a->model, "ONNX model")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", a->data, "Dataset folder (images/, masks/, manifest.json)")->required();
  cmd->add_option("--split", a->split, "train, val, test or all")
      ->check(CLI::IsMember({"train", "val", "test", "all"}));
  cmd->add_option("--limit", a->limit, "Evaluate at most this many images")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--plain", a->plain, "Run the plaintext reference executor (the default)");
  cmd->add_flag("--json", a->json, "Print a JSON report instead of a table");
  cmd->add_flag("--resize", a->resize, "Resample images of another size to the model's input");
  cmd->add_option("--threshold", a->threshold, "Logit threshold for 1-channel heads");
  cmd->add_option("--zoom", a->zoom,
                  "Shrink each image and mask to this fraction of the field of view (centred, "
                  "zero-padded, renormalised to max 1) before segmenting")
      ->check(CLI::Range(0.05, 1.0));
  cmd->callback([a] {
    const nn::Graph graph = nn::load_model(a->model);
    const data::Dataset dataset = data::read_dataset(a->data);
    std::vector<nn::EvalMethod> methods;
    if (a->plain) methods.push_back(nn::plain_method(graph));
    // Further methods (the encrypted executor) are added here; with none chosen, run plaintext.
    if (methods.empty()) methods.push_back(nn::plain_method(graph));
    nn::EvalOptions options;
    options.split = a->split;
    options.limit = a->limit;
    options.resize = a->resize;
    options.threshold = a->threshold;
    options.zoom = a->zoom;
    if (!a->json && isatty(fileno(stderr)))
      options.progress = [](int done, int total, const std::string&) {
        std::fprintf(stderr, "\r%d/%d images", done, total);
        if (done == total) std::fprintf(stderr, "\n");
      };
    const nn::EvalReport report = nn::evaluate_dataset(graph, dataset, methods, options);
    if (a->json)
      std::printf("%s\n", nn::eval_report_json(report).c_str());
    else
      std::printf("%s", nn::eval_report_table(report).c_str());
  });
}

Registrar reg("evaluate", &setup_evaluate);

}  // namespace
}  // namespace cryptounet::cli
