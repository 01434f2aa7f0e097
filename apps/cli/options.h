// Options every command spells the same way: positional inputs, -o/--out, --model, --threads,
// --json; --slice for image inputs (one reader for PNG, TIFF, DICOM and NIfTI); --logits for raw
// logits as .npy; and old spellings that keep working with a note on stderr.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

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

/// --slice: which plane of a volume an image command reads (data::read_any_image's `slice`).
CLI::Option* add_slice_option(CLI::App* cmd, int& slice);

/// Help text of an image input: the formats every image command reads.
inline constexpr const char* kImageFormats = "PNG, TIFF, DICOM or NIfTI (.nii, .nii.gz)";

/// Writes logits (channels x height x width) as a float64 .npy array.
void write_logits_npy(const std::string& path, const nn::Tensor& logits);

}  // namespace cryptounet::cli
