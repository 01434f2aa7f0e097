#include "cryptounet/he/exec/executor.h"

#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/packing/dvr_layout.h"
#include "he/exec/executor_impl.h"

namespace cryptounet::nn {

std::vector<std::vector<double>> input_slots(const Plan& plan, const std::vector<Tensor>& images) {
  const LayerPlan& in = plan.input();
  if (static_cast<int>(images.size()) != plan.batch)
    throw InvalidArgument("input_slots: " + std::to_string(images.size()) +
                          " images, the plan takes " + std::to_string(plan.batch));
  std::vector<std::vector<double>> flat;
  for (const Tensor& t : images) {
    if (t.shape.channels != in.layout.channels() || t.shape.height != in.layout.height() ||
        t.shape.width != in.layout.width())
      throw InvalidArgument("input_slots: image is " + std::to_string(t.shape.channels) + "x" +
                            std::to_string(t.shape.height) + "x" +
                            std::to_string(t.shape.width) + ", the plan expects " +
                            std::to_string(in.layout.channels()) + "x" +
                            std::to_string(in.layout.height()) + "x" +
                            std::to_string(in.layout.width()));
    flat.push_back(t.data);
  }
  auto slots = packing::pack(in.layout, flat);
  for (std::size_t t = 0; t < slots.size(); ++t)
    for (double& v : slots[t]) v *= in.factor[t];
  return slots;
}

std::vector<Tensor> output_tensors(const Plan& plan, const std::vector<std::vector<double>>& slots) {
  const LayerPlan& out = plan.output();
  if (slots.size() != out.factor.size())
    throw InvalidArgument("output_tensors: " + std::to_string(slots.size()) +
                          " ciphertexts, the plan's output has " +
                          std::to_string(out.factor.size()));
  std::vector<std::vector<double>> scaled = slots;
  for (std::size_t t = 0; t < scaled.size(); ++t)
    for (double& v : scaled[t]) v /= out.factor[t];
  auto flat = packing::unpack(out.layout, scaled);
  std::vector<Tensor> result;
  for (auto& f : flat) {
    Tensor t(Shape{out.layout.channels(), out.layout.height(), out.layout.width()});
    t.data = std::move(f);
    result.push_back(std::move(t));
  }
  return result;
}

namespace detail {

void check_plan_fits(const Graph& graph, const Plan& plan) {
  const int nn = static_cast<int>(graph.nodes.size());
  if (static_cast<int>(plan.layers.size()) != nn)
    throw InvalidArgument("run_encrypted: plan has " + std::to_string(plan.layers.size()) +
                          " layers for a graph of " + std::to_string(nn) + " nodes");
  for (int n = 0; n < nn; ++n)
    if (plan.layers[n].kind != graph.nodes[n].kind || plan.layers[n].name != graph.nodes[n].name)
      throw InvalidArgument("run_encrypted: the plan was made for another model (node " + std::to_string(n) +
                            " is '" + graph.nodes[n].name + "' (" + op_name(graph.nodes[n].kind) +
                            "), the plan has '" + plan.layers[n].name + "')");
  for (int n = 0; n < nn; ++n) {
    const packing::DvrLayout& l = plan.layers[n].layout;
    const Shape& sh = graph.nodes[n].shape;
    if (l.channels() != sh.channels || l.height() != sh.height || l.width() != sh.width ||
        !(l.grid() == plan.grid) || static_cast<int>(plan.layers[n].factor.size()) != l.team_size())
      throw InvalidArgument("run_encrypted: the plan's layout for node '" + graph.nodes[n].name + "' (" +
                            l.describe() + ") does not fit its shape " + std::to_string(sh.channels) + "x" +
                            std::to_string(sh.height) + "x" + std::to_string(sh.width));
  }
}

}  // namespace detail

}  // namespace cryptounet::nn
