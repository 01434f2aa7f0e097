// `cryptounet decrypt` (client): decrypts the server's output with the secret key, turns the
// logits into a mask (sigmoid/argmax happen here, in plaintext) and writes PNGs.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"
#include "cli/workflow_util.h"

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/resize.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/segment.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace cryptounet::cli {
namespace {

struct DecryptArgs {
  std::string keys, plan, input, out, probabilities, overlay, image, logits;
  double threshold = 0.0;
  CleanMaskChoice clean_mask;
  int threads = 0;
  int slice = -1;
  bool json = false;
};

/// Foreground probability per pixel: sigmoid of a 1-channel head, 1 - softmax(channel 0) otherwise.
data::Image probabilities(const nn::Tensor& logits) {
  const nn::Shape s = logits.shape;
  data::Image img(s.width, s.height);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      double p;
      if (s.channels == 1) {
        p = 1.0 / (1.0 + std::exp(-logits.at(0, y, x)));
      } else {
        double m = logits.at(0, y, x);
        for (int c = 1; c < s.channels; ++c) m = std::max(m, logits.at(c, y, x));
        double sum = 0;
        for (int c = 0; c < s.channels; ++c) sum += std::exp(logits.at(c, y, x) - m);
        p = 1.0 - std::exp(logits.at(0, y, x) - m) / sum;
      }
      img.at(y, x) = p;
    }
  return img;
}

void setup_decrypt(CLI::App& root) {
  auto a = std::make_shared<DecryptArgs>();
  CLI::App* cmd = root.add_subcommand("decrypt", "Client: decrypt the server's output into a mask");
  cmd->add_option("--keys", a->keys, "Key folder from `cryptounet keygen`")->required();
  cmd->add_option("--plan", a->plan, "Plan file")->required();
  cmd->add_option("input", a->input, "Encrypted output (out.ct)")->required();
  cmd->add_option("-o,--out", a->out, "Mask PNG to write (0/255)")->required();
  cmd->add_option("--probabilities", a->probabilities, "Also write foreground probabilities as a grey PNG");
  cmd->add_option("--logits", a->logits, "Also write the decrypted logits (float64, CxHxW) as a .npy file");
  auto* ov = cmd->add_option("--overlay", a->overlay, "Also write the image with the mask drawn on it");
  auto* im = cmd->add_option("--image", a->image,
                             "The original (first) image: for --overlay; its mask is resampled to its size");
  ov->needs(im);
  add_slice_option(cmd, a->slice);
  cmd->add_option("--threshold", a->threshold, "Logit threshold for 1-channel heads (0 = p 0.5)");
  add_clean_mask_flag(cmd, a->clean_mask);
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(kNonNegative);
  add_json_flag(cmd, a->json);
  cmd->callback([a] {
    JsonOutput out(a->json);
    nlohmann::ordered_json masks = nlohmann::ordered_json::array();
    const nn::PlanFile pf = nn::read_plan_file(a->plan);
    const std::uint64_t plan_fp = nn::plan_fingerprint(pf);
    const nn::KeyInfo info = nn::read_key_info(a->keys);
    if (info.plan != plan_fp)
      throw InvalidArgument("the keys in '" + a->keys + "' were made for another plan (" + hex64(info.plan) +
                            ", '" + a->plan + "' is " + hex64(plan_fp) + ")");
    auto ctx = ckks::Context::create(nn::plan_params(pf.plan), ExecOptions{.threads = a->threads});
    const auto t0 = std::chrono::steady_clock::now();
    const nn::EncryptedTensor t = nn::read_encrypted_tensor(
        a->input, *ctx, nn::max_tensor_file_bytes(*ctx, pf.plan.output().layout.team_size()));
    nn::check_encrypted_tensor(t, nn::TensorRole::output, plan_fp, info.key_id, "'" + a->input + "'");
    const ckks::SecretKey sk =
        ckks::load_secret_key_file((std::filesystem::path(a->keys) / nn::kSecretKeyFile).string(), *ctx);
    const std::vector<nn::Tensor> logits = nn::decrypt_outputs(ctx, sk, pf.plan, t.cts);
    const double secs = seconds_since(t0);
    // A throughput plan returns several images: mask.png, mask_1.png, ... (image i gets suffix _i).
    auto nth = [&](const std::string& file, std::size_t i) {
      if (i == 0 || file.empty()) return file;
      const std::filesystem::path p(file);
      return (p.parent_path() / (p.stem().string() + "_" + std::to_string(i) + p.extension().string())).string();
    };
    data::Image image;
    // The original image may be of another size (the mask is resampled back to it), within the
    // resample bound of the plan's model.
    if (!a->image.empty())
      image = data::read_any_image(a->image, a->slice, nn::plan_plane_limit(pf.plan, pf.model_name, true));
    const bool clean_mask = a->clean_mask.resolve(pf.mask_cleanup, pf.model_name);
    for (std::size_t i = 0; i < logits.size(); ++i) {
      data::Mask mask = nn::output_mask(logits[i], a->threshold, clean_mask);
      if (i == 0 && !a->image.empty() && (image.width != mask.width || image.height != mask.height))
        mask = data::resize_majority(mask, image.width, image.height);
      data::write_mask_png(nth(a->out, i), mask);
      if (!a->probabilities.empty()) data::write_image_png(nth(a->probabilities, i), probabilities(logits[i]));
      if (!a->logits.empty()) write_logits_npy(nth(a->logits, i), logits[i]);
      if (!a->overlay.empty() && i == 0) data::write_rgb_png(a->overlay, data::overlay(image, mask));
      const double fg = static_cast<double>(mask.count()) / static_cast<double>(mask.values.size());
      std::printf("%s -> %s: %dx%d, foreground %.1f%%, decrypted in %.2f s\n", a->input.c_str(),
                  nth(a->out, i).c_str(), mask.width, mask.height, 100.0 * fg, secs);
      nlohmann::ordered_json m{{"mask", nth(a->out, i)}, {"width", mask.width}, {"height", mask.height},
                               {"foreground_fraction", fg}};
      if (!a->probabilities.empty()) m["probabilities"] = nth(a->probabilities, i);
      if (!a->logits.empty()) m["logits"] = nth(a->logits, i);
      masks.push_back(std::move(m));
    }
    auto& j = out.json();
    j["input"] = a->input;
    j["masks"] = std::move(masks);
    if (!a->overlay.empty()) j["overlay"] = a->overlay;
    j["seconds"] = secs;
    out.emit();
  });
}

Registrar reg("decrypt", &setup_decrypt);

}  // namespace
}  // namespace cryptounet::cli
