// Options every command spells the same way: positional inputs, -o/--out, --model, --threads,
// --json; --slice for image inputs (one reader for PNG, TIFF, DICOM and NIfTI); --logits for raw
// logits as .npy; and old spellings that keep working with a note on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cryptounet/data/image.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::cli {

/// Range checks with short messages ("Value -1 not in range 0 to 1048576").
inline const CLI::Range kNonNegative(0, 1 << 20);
inline const CLI::Range kPositive(1, 1 << 20);

/// Keeps an old spelling working: a hidden option `old_name` that fills `target` and prints
/// "note: OLD is deprecated; INSTEAD" on stderr when used.
template <class T>
CLI::Option* add_deprecated_option(CLI::App* cmd, const std::string& old_name, T& target,
                                   const std::string& instead) {
  return cmd->add_option(old_name, target, "deprecated: " + instead)
      ->group("")
      ->each([old_name, instead](const std::string&) {
        std::fprintf(stderr, "note: %s is deprecated; %s\n", old_name.c_str(), instead.c_str());
      });
}

/// InvalidArgument "WHAT is required (usage: USAGE)" unless `given`.
void require_input(bool given, const std::string& what, const std::string& usage);

/// --model: the ONNX model a plaintext or planning command reads (required, an existing file).
CLI::Option* add_model_option(CLI::App* cmd, std::string& model);

/// --slice: which plane of a volume an image command reads (data::read_any_image's `slice`).
CLI::Option* add_slice_option(CLI::App* cmd, int& slice);

/// --mux N, one meaning on every command that plans a throughput layout: up to N x N images share
/// each stride cell after pooling (multiplexed packing, dvr_layout.h); 1 = one image per row,
/// 0 (the default) = as many as the model's poolings leave room for. Fills nn::PlanOptions::mux
/// through plan_mux.
CLI::Option* add_mux_option(CLI::App* cmd, int& mux);
/// The PlanOptions::mux of a --mux value (0: no limit; the planner caps it at the model's stride).
[[nodiscard]] inline int plan_mux(int cli_mux) { return cli_mux == 0 ? 1 << 10 : cli_mux; }

/// Help text of an image input: the formats every image command reads.
inline constexpr const char* kImageFormats = "PNG, TIFF, DICOM or NIfTI (.nii, .nii.gz)";

/// --insecure-test-params[=LOGN], one shape on every command. `given`: the user consented to
/// parameters that are not 128-bit secure (tests and quick demos only); `log_n`: the value, 0 if
/// none was given.
struct InsecureParams {
  bool given = false;
  int log_n = 0;
  std::string raw;  // what CLI11 read: "true" for the bare flag, else LOGN
};

/// What the option means on a command: `picks_ring` (plan, segment, evaluate, serve, ...: the
/// command plans the model; LOGN sets the ring degree N=2^LOGN, no value: the smallest ring that
/// holds an input plane) or `takes_plan` (keygen, encrypt, client: a plan is given; the option is
/// the consent to use it if it is insecure, and LOGN, if given, must be the plan's ring).
enum class InsecureUse { picks_ring, takes_plan };

/// Adds --insecure-test-params[=LOGN] (LOGN 10..16) to `cmd`, filling `p`.
CLI::Option* add_insecure_params_option(CLI::App* cmd, InsecureParams& p, InsecureUse use);

/// picks_ring: sets `opt.log_n` and `opt.insecure_for_tests` from `p` (nothing if not given).
void apply_insecure_params(const InsecureParams& p, nn::PlanOptions& opt);

/// takes_plan: throws InvalidArgument if a LOGN was given and the plan's ring is another one.
void check_insecure_ring(const InsecureParams& p, int plan_log_n, const std::string& what);

/// The old spelling `--insecure-test-params LOGN` (a value after a space) rewritten as
/// `--insecure-test-params=LOGN` (CLI11 reads an optional value only after '='), so both parse.
std::vector<std::string> join_insecure_value(int argc, char** argv);

/// Writes logits (channels x height x width) as a float64 .npy array.
void write_logits_npy(const std::string& path, const nn::Tensor& logits);

/// --clean-mask / --no-clean-mask as given on the command line. Unset, the model's card decides
/// (its "mask_cleanup", which reaches the client through the plan): fill the holes of each
/// predicted 2D mask on the client (nn::output_mask, data/mask_cleanup.h) or not.
struct CleanMaskChoice {
  bool value = false;
  CLI::Option* option = nullptr;  // set by add_clean_mask_flag
  /// The flag if it was given, else `model_default`; a one-line note on stderr says when the
  /// model's default turns the hole filling on.
  [[nodiscard]] bool resolve(nn::MaskCleanup model_default, const std::string& model_name) const;
};

/// Adds --clean-mask / --no-clean-mask: one flag, one help text, in every command that makes masks.
CLI::Option* add_clean_mask_flag(CLI::App* cmd, CleanMaskChoice& clean_mask);

/// What an image command (predict, segment) writes for one image: the mask PNG (-o), and if asked
/// the image with the mask drawn on it (--overlay) and the logits (--logits); --threshold is the
/// logit threshold of 1-channel heads, --clean-mask fills the mask's holes.
struct MaskOutputs {
  std::string out, overlay, logits;
  double threshold = 0.0;
  CleanMaskChoice clean_mask;
};

/// Adds -o/--out (required), --overlay, --logits (help text `logits_help`), --threshold and
/// --clean-mask.
void add_mask_output_options(CLI::App* cmd, MaskOutputs& o, const std::string& logits_help);

/// Writes the logits (if asked), then `mask` (the model's output plane, as nn::output_mask made it
/// with o.threshold and the resolved o.clean_mask) resized by majority to `image`'s size as the mask PNG, and the
/// overlay (if asked). Returns the mask as written.
data::Mask write_mask_outputs(const MaskOutputs& o, const data::Image& image, const nn::Tensor& logits,
                              const data::Mask& mask);

}  // namespace cryptounet::cli
