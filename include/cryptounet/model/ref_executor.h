// Plaintext reference executor in float64: the ground truth that the encrypted executor and each
// HE layer are tested against. Naive loops, one image at a time; a 64×64 U-Net runs in
// milliseconds. Each operator is also exposed on its own so a layer test can call exactly one.
#pragma once

#include "cryptounet/model/graph.h"

#include <vector>

namespace cryptounet::nn {

/// Runs `graph` on `input` and returns the output node's tensor.
/// @throws InvalidArgument if input.shape differs from graph.input_shape() or the data size
///         does not match the shape.
[[nodiscard]] Tensor run_reference(const Graph& graph, const Tensor& input);

/// Like run_reference but returns every node's output, indexed like graph.nodes (entry 0 is the
/// input). The encrypted executor compares against these layer by layer.
[[nodiscard]] std::vector<Tensor> run_reference_all(const Graph& graph, const Tensor& input);

/// One node applied to its already computed inputs (in node.inputs order).
/// @throws InvalidArgument if the input count or shapes do not fit the node.
[[nodiscard]] Tensor run_node(const Node& node, const std::vector<const Tensor*>& inputs);

// The operators themselves (node supplies weights, bias, kernel).
[[nodiscard]] Tensor conv2d(const Node& node, const Tensor& x);
[[nodiscard]] Tensor conv_transpose2d(const Node& node, const Tensor& x);
[[nodiscard]] Tensor avg_pool2d(const Tensor& x);
[[nodiscard]] Tensor square(const Tensor& x);
[[nodiscard]] Tensor concat(const std::vector<const Tensor*>& xs);
[[nodiscard]] Tensor add(const Tensor& a, const Tensor& b);

}  // namespace cryptounet::nn
