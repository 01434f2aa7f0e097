// `cryptounet predict`: plaintext segmentation of one image with the reference executor.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"

#include "cryptounet/data/image_file.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/segment.h"

#include <cstdio>
#include <memory>

namespace cryptounet::cli {
namespace {

struct PredictArgs {
  std::string model, image;
  MaskOutputs outputs;
  int slice = -1;
  bool resize = false;
  bool json = false;
};

void setup_predict(CLI::App& root) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = root.add_subcommand(
      "predict", "Segment one image in plaintext (reference executor; no encryption)");
  add_model_option(cmd, a->model);
  cmd->add_option("image", a->image, std::string("Input image: ") + kImageFormats);
  add_deprecated_option(cmd, "--image", a->image, "give the image as the positional argument");
  add_mask_output_options(cmd, a->outputs, "Also write the raw logits (float64, CxHxW) as a .npy file");
  add_slice_option(cmd, a->slice);
  cmd->add_flag("--resize", a->resize,
                "Resample an image of another size to the model's input (mask back to the "
                "image's size)");
  add_json_flag(cmd, a->json);
  cmd->callback([a] {
    JsonOutput out(a->json);
    require_input(!a->image.empty(), "an input image", "cryptounet predict --model M IMAGE -o MASK.png");
    const nn::Graph graph = nn::load_model(a->model);
    const data::Image image = data::read_any_image(a->image, a->slice, nn::model_plane_limit(graph, a->resize));
    const nn::Tensor input = nn::image_to_input(graph, image, a->resize, "image '" + a->image + "'");
    const nn::Tensor logits = nn::run_reference(graph, input);
    const MaskOutputs& o = a->outputs;
    const data::Mask mask = write_mask_outputs(o, image, logits, nn::output_mask(logits, o.threshold, o.clean_mask.resolve(graph.mask_cleanup, graph.name)));
    const double fg = static_cast<double>(mask.count()) / static_cast<double>(mask.values.size());
    std::printf("%s: %dx%d, foreground %.1f%% -> %s\n", a->image.c_str(), image.width, image.height, 100.0 * fg,
                o.out.c_str());
    auto& j = out.json();
    j["image"] = a->image;
    j["model"] = graph.name;
    j["width"] = image.width;
    j["height"] = image.height;
    j["mask"] = o.out;
    j["foreground_fraction"] = fg;
    if (!o.overlay.empty()) j["overlay"] = o.overlay;
    if (!o.logits.empty()) j["logits"] = o.logits;
    out.emit();
  });
}

Registrar reg("predict", &setup_predict);

}  // namespace
}  // namespace cryptounet::cli
