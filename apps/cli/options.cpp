#include "cli/options.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/npy.h"
#include "cryptounet/data/png.h"
#include "cryptounet/data/resize.h"

#include <cctype>

namespace cryptounet::cli {

void require_input(bool given, const std::string& what, const std::string& usage) {
  if (!given) throw InvalidArgument(what + " is required (usage: " + usage + ")");
}

CLI::Option* add_model_option(CLI::App* cmd, std::string& model) {
  return cmd->add_option("--model", model, "ONNX model (its .card.json beside it is read if present)")
      ->required()
      ->check(CLI::ExistingFile);
}

CLI::Option* add_slice_option(CLI::App* cmd, int& slice) {
  return cmd->add_option("--slice", slice,
                         "Volumes: the DICOM frame / NIfTI z slice / TIFF page to read (default: "
                         "the middle one; TIFF: the first page)")
      ->check(kNonNegative);
}

namespace {

constexpr const char* kInsecureName = "--insecure-test-params";

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 3) return false;
  for (const char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

CLI::Option* add_insecure_params_option(CLI::App* cmd, InsecureParams& p, InsecureUse use) {
  const std::string help =
      use == InsecureUse::picks_ring
          ? "INSECURE, tests and quick demos only: plan without the 128-bit check, at ring degree "
            "N=2^LOGN (10..16; no value: the smallest ring that holds an input plane)"
          : "INSECURE, tests only: accept a plan that is not 128-bit secure (refused otherwise); "
            "LOGN, if given, must be the plan's ring degree N=2^LOGN";
  // A flag that takes an optional value after '=': `--insecure-test-params` alone reads "true".
  return cmd->add_flag(kInsecureName, p.raw, help)
      ->option_text("[=LOGN]")
      ->check(
          [](const std::string& v) -> std::string {
            if (v == "true") return {};
            if (all_digits(v)) {
              const int n = std::stoi(v);
              if (n >= 10 && n <= 16) return {};
            }
            return "LOGN must be an integer 10..16, got '" + v + "'";
          },
          "LOGN 10..16")
      ->each([&p](const std::string& v) {
        p.given = true;
        p.log_n = v == "true" ? 0 : std::stoi(v);
      });
}

CLI::Option* add_mux_option(CLI::App* cmd, int& mux) {
  return cmd
      ->add_option("--mux", mux,
                   "Throughput layout: up to N x N images share each stride cell after pooling, so the "
                   "layers at stride 2 and 4 run once for 4 and 16 images (0 = as many as the model's "
                   "poolings allow, 1 = one image per row)")
      ->check(CLI::Range(0, 16));
}

void apply_insecure_params(const InsecureParams& p, nn::PlanOptions& opt) {
  if (!p.given) return;
  opt.log_n = p.log_n;  // 0: the planner picks the smallest ring that fits, without the 128-bit floor
  opt.insecure_for_tests = true;
}

void check_insecure_ring(const InsecureParams& p, int plan_log_n, const std::string& what) {
  if (p.given && p.log_n != 0 && p.log_n != plan_log_n)
    throw InvalidArgument(std::string(kInsecureName) + "=" + std::to_string(p.log_n) + " expects N=2^" +
                          std::to_string(p.log_n) + ", but " + what + " is at N=2^" +
                          std::to_string(plan_log_n) + " (pass " + kInsecureName + "=" +
                          std::to_string(plan_log_n) + ", or " + kInsecureName + " alone)");
}

std::vector<std::string> join_insecure_value(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    std::string w = argv[i];
    if (w == kInsecureName && i + 1 < argc && all_digits(argv[i + 1])) w += "=" + std::string(argv[++i]);
    out.push_back(std::move(w));
  }
  return out;
}

void write_logits_npy(const std::string& path, const nn::Tensor& logits) {
  data::write_npy(path,
                  {static_cast<std::size_t>(logits.shape.channels),
                   static_cast<std::size_t>(logits.shape.height),
                   static_cast<std::size_t>(logits.shape.width)},
                  logits.data);
}

bool CleanMaskChoice::resolve(nn::MaskCleanup model_default, const std::string& model_name) const {
  if (option != nullptr && option->count() > 0) return value;
  const bool fill = model_default == nn::MaskCleanup::fill_holes;
  if (fill)
    std::fprintf(stderr, "note: filling holes in the masks, as model %s's card says (--no-clean-mask: keep them)\n",
                 model_name.c_str());
  return fill;
}

CLI::Option* add_clean_mask_flag(CLI::App* cmd, CleanMaskChoice& clean_mask) {
  clean_mask.option =
      cmd->add_flag("--clean-mask,!--no-clean-mask", clean_mask.value,
                    "Fill holes in each predicted 2D mask on the client (background not connected to the image "
                    "border becomes foreground), or not (--no-clean-mask): right for targets without holes, such "
                    "as the brain masks, wrong for targets with holes. Default: what the model's card says "
                    "(\"mask_cleanup\"; brain256's fills holes); off if it says nothing");
  return clean_mask.option;
}

void add_mask_output_options(CLI::App* cmd, MaskOutputs& o, const std::string& logits_help) {
  cmd->add_option("-o,--out", o.out, "Mask PNG to write (0/255)")->required();
  cmd->add_option("--overlay", o.overlay, "Also write the image with the mask drawn on it");
  cmd->add_option("--logits", o.logits, logits_help);
  cmd->add_option("--threshold", o.threshold, "Logit threshold for 1-channel heads (0 = p 0.5)");
  add_clean_mask_flag(cmd, o.clean_mask);
}

data::Mask write_mask_outputs(const MaskOutputs& o, const data::Image& image, const nn::Tensor& logits,
                              const data::Mask& mask) {
  if (!o.logits.empty()) write_logits_npy(o.logits, logits);
  data::Mask out = mask;
  if (out.width != image.width || out.height != image.height) out = data::resize_majority(out, image.width, image.height);
  data::write_mask_png(o.out, out);
  if (!o.overlay.empty()) data::write_rgb_png(o.overlay, data::overlay(image, out));
  return out;
}

}  // namespace cryptounet::cli
