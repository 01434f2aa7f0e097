// The model card: a JSON file written beside each exported model (models/<name>.card.json) by the
// training scripts. C++ reads the few keys it uses and leaves the rest alone: the model's name,
// its input size, its test metrics and, most importantly for the planner, the largest absolute
// activation of each layer, which becomes Node::max_abs.
#pragma once

#include "cryptounet/model/graph.h"

#include <map>
#include <string>
#include <vector>

namespace cryptounet::nn {

struct ModelCard {
  std::string name;
  int input_size = 0;                            // H = W of the input, 0 if absent
  std::map<std::string, double> activation_max_abs;  // ONNX node or tensor name → max |value|
  std::map<std::string, double> test_metrics;        // numeric entries of "test_metrics"
  // "mask_cleanup": the client-side step the card's metrics were measured with ("none" or
  // "fill_holes"); absent = none. It becomes Graph::mask_cleanup, the default of `--clean-mask`.
  MaskCleanup mask_cleanup = MaskCleanup::none;
};

/// Reads a card. Keys it does not know are ignored; known keys of the wrong type are an error.
/// @throws IoError if the file cannot be read; FormatError if it is not valid JSON or a key has
///         the wrong type.
[[nodiscard]] ModelCard read_model_card(const std::string& path);

/// Sets Graph::name and Graph::mask_cleanup from the card, and Node::max_abs for every card entry whose key is a node's name, output name or alias
/// (a folded Conv answers to its Conv and BatchNormalization names). Returns how many nodes got
/// a value; unmatched keys are ignored (the card may describe nodes the importer folded away).
int apply_model_card(Graph& graph, const ModelCard& card);

/// The card path of a model file: "dir/name.onnx" → "dir/name.card.json".
[[nodiscard]] std::string model_card_path(const std::string& model_path);

}  // namespace cryptounet::nn
