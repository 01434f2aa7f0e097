#include "cryptounet/model/graph.h"

#include <algorithm>

#include "cryptounet/common/error.h"

namespace cryptounet::nn {

const char* op_name(OpKind kind) {
  switch (kind) {
    case OpKind::Input: return "Input";
    case OpKind::Conv2d: return "Conv2d";
    case OpKind::ConvTranspose2d: return "ConvTranspose2d";
    case OpKind::AvgPool2d: return "AvgPool2d";
    case OpKind::Square: return "Square";
    case OpKind::Concat: return "Concat";
    case OpKind::Add: return "Add";
  }
  return "?";
}

const char* mask_cleanup_name(MaskCleanup m) {
  return m == MaskCleanup::fill_holes ? "fill_holes" : "none";
}

bool parse_mask_cleanup(const std::string& name, MaskCleanup& out) {
  if (name == "none") {
    out = MaskCleanup::none;
  } else if (name == "fill_holes") {
    out = MaskCleanup::fill_holes;
  } else {
    return false;
  }
  return true;
}

MaskCleanup read_mask_cleanup(const std::string& name, const std::string& field) {
  MaskCleanup m = MaskCleanup::none;
  if (!parse_mask_cleanup(name, m))
    throw FormatError(field + " is \"" + name.substr(0, 40) + "\" (expected \"none\" or \"fill_holes\")");
  return m;
}

int Graph::find(const std::string& key) const {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (n.name == key || n.output_name == key ||
        std::find(n.aliases.begin(), n.aliases.end(), key) != n.aliases.end())
      return static_cast<int>(i);
  }
  return -1;
}

int Graph::depth() const {
  std::vector<int> level(nodes.size(), 0);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    int in = 0;
    for (int j : nodes[i].inputs) in = std::max(in, level[j]);
    const OpKind k = nodes[i].kind;
    const bool costs = k == OpKind::Conv2d || k == OpKind::Square || k == OpKind::ConvTranspose2d;
    level[i] = in + (costs ? 1 : 0);
  }
  return output >= 0 ? level[output] : 0;
}

std::size_t Graph::parameter_count() const {
  std::size_t n = 0;
  for (const Node& node : nodes) n += node.weight.size() + node.bias.size();
  return n;
}

}  // namespace cryptounet::nn
