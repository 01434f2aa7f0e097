#include "cryptounet/onnx/load_model.h"

#include <filesystem>

#include "cryptounet/model/model_card.h"
#include "cryptounet/onnx/onnx_import.h"

namespace cryptounet::nn {

Graph load_model(const std::string& model_path) {
  Graph g = import_onnx_file(model_path);
  const std::string card = model_card_path(model_path);
  if (std::filesystem::exists(card)) apply_model_card(g, read_model_card(card));
  return g;
}

}  // namespace cryptounet::nn
