// Loading a bundled model: the ONNX file and, beside it, its model card (model/model_card.h).
#pragma once

#include <string>

#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

/// Imports an ONNX model and, if its card exists, applies it (name and max_abs). A missing card
/// is fine; a card that exists but cannot be parsed is an error.
/// @throws what import_onnx_file and read_model_card throw.
[[nodiscard]] Graph load_model(const std::string& model_path);

}  // namespace cryptounet::nn
