#include "cli/options.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/npy.h"

namespace cryptounet::cli {

void require_input(bool given, const std::string& what, const std::string& usage) {
  if (!given) throw InvalidArgument(what + " is required (usage: " + usage + ")");
}

CLI::Option* add_slice_option(CLI::App* cmd, int& slice) {
  return cmd->add_option("--slice", slice,
                         "Volumes: the DICOM frame / NIfTI z slice / TIFF page to read (default: "
                         "the middle one; TIFF: the first page)")
      ->check(kNonNegative);
}

void write_logits_npy(const std::string& path, const nn::Tensor& logits) {
  data::write_npy(path,
                  {static_cast<std::size_t>(logits.shape.channels),
                   static_cast<std::size_t>(logits.shape.height),
                   static_cast<std::size_t>(logits.shape.width)},
                  logits.data);
}

}  // namespace cryptounet::cli
