#include "cryptounet/model/model_card.h"

#include "cryptounet/common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace cryptounet::nn {

ModelCard read_model_card(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError("model card: cannot open '" + path + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("model card: '" + path + "' is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw FormatError("model card: '" + path + "' is not a JSON object");
  ModelCard card;
  try {
    if (j.contains("name") && !j["name"].is_null()) card.name = j["name"].get<std::string>();
    if (j.contains("input_size") && !j["input_size"].is_null()) {
      const auto& v = j["input_size"];
      // Accept 64, [64, 64] or [1, 64, 64].
      card.input_size = v.is_array() ? v.back().get<int>() : v.get<int>();
    }
    if (j.contains("activation_max_abs") && j["activation_max_abs"].is_object())
      for (const auto& [k, v] : j["activation_max_abs"].items())
        if (v.is_number()) card.activation_max_abs[k] = v.get<double>();
    if (j.contains("test_metrics") && j["test_metrics"].is_object())
      for (const auto& [k, v] : j["test_metrics"].items())
        if (v.is_number()) card.test_metrics[k] = v.get<double>();
    if (j.contains("mask_cleanup") && !j["mask_cleanup"].is_null())
      card.mask_cleanup =
          read_mask_cleanup(j["mask_cleanup"].get<std::string>(), "model card: '" + path + "': mask_cleanup");
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("model card: '" + path + "' has a key of the wrong type: " + e.what());
  }
  return card;
}

int apply_model_card(Graph& graph, const ModelCard& card) {
  int set = 0;
  for (Node& node : graph.nodes) {
    double best = -1;
    auto try_key = [&](const std::string& key) {
      auto it = card.activation_max_abs.find(key);
      // A folded node may match its Conv and its BN entries: the BN's output and name describe
      // what it now computes and are tried first, so the first match wins.
      if (it != card.activation_max_abs.end() && best < 0) best = it->second;
    };
    try_key(node.output_name);
    for (const auto& a : node.aliases) try_key(a);
    try_key(node.name);
    if (best >= 0) {
      node.max_abs = best;
      ++set;
    }
  }
  if (!card.name.empty()) graph.name = card.name;
  graph.mask_cleanup = card.mask_cleanup;
  return set;
}

std::string model_card_path(const std::string& model_path) {
  std::filesystem::path p(model_path);
  return (p.parent_path() / (p.stem().string() + ".card.json")).string();
}

}  // namespace cryptounet::nn
