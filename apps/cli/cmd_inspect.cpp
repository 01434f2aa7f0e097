// `cryptounet inspect --model M`: what the importer made of an ONNX model — every node with its
// shape, weights, depth so far and recorded activation bound.
#include "cli/command.h"
#include "cli/json_output.h"
#include "cli/options.h"

#include "cryptounet/onnx/load_model.h"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace cryptounet::cli {
namespace {

void setup_inspect(CLI::App& root) {
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = root.add_subcommand(
      "inspect", "Show the graph imported from an ONNX model (nodes, shapes, depth, max |x|)");
  add_model_option(cmd, *model);
  add_json_flag(cmd, *json);
  cmd->callback([model, json] {
    JsonOutput out(*json);
    const nn::Graph g = nn::load_model(*model);
    auto shape_json = [](const nn::Shape& s) {
      return nlohmann::ordered_json{{"channels", s.channels}, {"height", s.height}, {"width", s.width}};
    };
    nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
    std::printf("model %s: input %dx%dx%d, output %dx%dx%d, %zu nodes, %zu parameters, depth %d\n",
                g.name.c_str(), g.input_shape().channels, g.input_shape().height,
                g.input_shape().width, g.output_shape().channels, g.output_shape().height,
                g.output_shape().width, g.nodes.size(), g.parameter_count(), g.depth());
    std::printf("depth = multiplicative levels used up to and including a node (counts up from 0); "
                "plan/infer/segment print the CKKS level instead: levels left, counting down\n");
    std::printf("%4s  %-16s %-24s %-14s %6s %8s  %s\n", "#", "op", "name", "shape", "depth",
                "max|x|", "inputs");
    std::vector<int> level(g.nodes.size(), 0);
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      const nn::Node& n = g.nodes[i];
      int in = 0;
      std::string inputs;
      for (int j : n.inputs) {
        in = std::max(in, level[j]);
        inputs += (inputs.empty() ? "" : ",") + std::to_string(j);
      }
      const bool costs = n.kind == nn::OpKind::Conv2d || n.kind == nn::OpKind::Square ||
                         n.kind == nn::OpKind::ConvTranspose2d;
      level[i] = in + (costs ? 1 : 0);
      char shape[48];
      std::snprintf(shape, sizeof shape, "%dx%dx%d", n.shape.channels, n.shape.height,
                    n.shape.width);
      std::printf("%4zu  %-16s %-24s %-14s %6d %8.3g  %s%s\n", i, nn::op_name(n.kind),
                  n.name.c_str(), shape, level[i], n.max_abs, inputs.c_str(),
                  static_cast<int>(i) == g.output ? "  <- output" : "");
      nodes.push_back({{"index", i}, {"op", nn::op_name(n.kind)}, {"name", n.name}, {"shape", shape_json(n.shape)},
                       {"depth", level[i]}, {"max_abs", n.max_abs}, {"inputs", n.inputs}});
    }
    auto& j = out.json();
    j["model"] = g.name;
    j["input"] = shape_json(g.input_shape());
    j["output"] = shape_json(g.output_shape());
    j["parameters"] = g.parameter_count();
    j["depth"] = g.depth();
    j["output_node"] = g.output;
    j["nodes"] = std::move(nodes);
    out.emit();
  });
}

Registrar reg("inspect", &setup_inspect);

}  // namespace
}  // namespace cryptounet::cli
