// `cryptounet predict`: plaintext segmentation of one image with the reference executor.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"

#include "cryptounet/data/image_file.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/resize.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/segment.h"

#include <cstdio>
#include <memory>

namespace cryptounet::cli {
namespace {

struct PredictArgs {
  std::string model, image, out, overlay, logits;
  double threshold = 0.0;
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
  cmd->add_option("-o,--out", a->out, "Output mask PNG (0/255)")->required();
  cmd->add_option("--overlay", a->overlay, "Also write the image with the mask drawn on it");
  cmd->add_option("--logits", a->logits, "Also write the raw logits (float64, CxHxW) as a .npy file");
  cmd->add_option("--threshold", a->threshold, "Logit threshold for 1-channel heads (0 = p 0.5)");
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
    if (!a->logits.empty()) write_logits_npy(a->logits, logits);
    data::Mask mask = nn::logits_to_mask(logits, a->threshold);
    if (mask.width != image.width || mask.height != image.height)
      mask = data::resize_majority(mask, image.width, image.height);
    data::write_mask_png(a->out, mask);
    if (!a->overlay.empty()) data::write_rgb_png(a->overlay, data::overlay(image, mask));
    const double fg = static_cast<double>(mask.count()) / static_cast<double>(mask.values.size());
    std::printf("%s: %dx%d, foreground %.1f%% -> %s\n", a->image.c_str(), image.width, image.height, 100.0 * fg,
                a->out.c_str());
    auto& j = out.json();
    j["image"] = a->image;
    j["model"] = graph.name;
    j["width"] = image.width;
    j["height"] = image.height;
    j["mask"] = a->out;
    j["foreground_fraction"] = fg;
    if (!a->overlay.empty()) j["overlay"] = a->overlay;
    if (!a->logits.empty()) j["logits"] = a->logits;
    out.emit();
  });
}

Registrar reg("predict", &setup_predict);

}  // namespace
}  // namespace cryptounet::cli
