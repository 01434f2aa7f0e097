#include "cryptounet/he/exec/executor.h"

#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/packing/dvr_layout.h"

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

}  // namespace cryptounet::nn
