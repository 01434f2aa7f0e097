// The model graph every executor runs: a topologically ordered list of HE-friendly operations
// with their weights in float64. Produced by the ONNX importer (onnx/onnx_import.h), consumed by
// the plaintext reference executor, the planner and the encrypted executor.
// One image at a time: tensors are (channels, height, width); the batch dimension is implicit.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cryptounet::nn {

/// The operations the encrypted engine can run. Anything else is refused at import.
enum class OpKind {
  Input,            // the image, shape (C, H, W); exactly one, node 0
  Conv2d,           // kernel 1 or 3, stride 1, 'same' zero padding (pad = kernel / 2), bias
  ConvTranspose2d,  // kernel 2, stride 2, no padding, bias
  AvgPool2d,        // kernel 2, stride 2
  Square,           // x * x (ONNX Mul(x, x) or Pow(x, 2))
  Concat,           // along channels, inputs in order
  Add,              // element-wise sum of two tensors of one shape
};

const char* op_name(OpKind kind);

/// The client-side step after the threshold that a model was validated with (its card's
/// "mask_cleanup"): none, or filling each 2D mask's holes (data/mask_cleanup.h, `--clean-mask`).
enum class MaskCleanup { none, fill_holes };

/// "none" / "fill_holes", the card's and the plan file's spelling.
const char* mask_cleanup_name(MaskCleanup m);
/// The inverse of mask_cleanup_name; false if `name` is neither.
bool parse_mask_cleanup(const std::string& name, MaskCleanup& out);
/// parse_mask_cleanup for a file reader (card, plan). @throws FormatError naming `field` if
/// `name` is neither.
[[nodiscard]] MaskCleanup read_mask_cleanup(const std::string& name, const std::string& field);

struct Shape {
  int channels = 0;
  int height = 0;
  int width = 0;
  [[nodiscard]] std::size_t size() const {
    return static_cast<std::size_t>(channels) * height * width;
  }
  bool operator==(const Shape&) const = default;
};

struct Node {
  std::string name;         // the ONNX node name (or a generated one), used in every message
  std::string output_name;  // the ONNX tensor this node produces (after folding: the BN's output)
  std::vector<std::string> aliases;  // other ONNX names it answers to (folded BN, Identity outputs)
  OpKind kind = OpKind::Input;
  std::vector<int> inputs;  // indices of producer nodes in Graph::nodes (all < this index)
  Shape shape;              // output shape

  // Conv2d: weight[out][in][k][k], row-major. ConvTranspose2d: weight[in][out][2][2] (ONNX
  // layout). Empty for the other kinds. bias has one entry per output channel (zeros if the
  // model had none). BatchNormalization is folded into these at import.
  int kernel = 0;
  int stride = 1;
  int pad = 0;
  std::vector<double> weight;
  std::vector<double> bias;

  // Largest |value| of this node's output seen on the training set and on zoomed/shifted
  // data, from the model card; 0 if unknown. The planner sizes CKKS scales from it.
  double max_abs = 0.0;
};

struct Graph {
  std::vector<Node> nodes;  // topological order; nodes[0] is the Input
  int output = -1;          // index of the node whose output is the logits
  std::string name;         // model name (file stem or card's name)
  MaskCleanup mask_cleanup = MaskCleanup::none;  // the card's default for `--clean-mask`

  [[nodiscard]] const Node& input() const { return nodes.front(); }
  [[nodiscard]] Shape input_shape() const { return nodes.front().shape; }
  [[nodiscard]] Shape output_shape() const { return nodes.at(output).shape; }

  /// Index of the node called `name` (its node name, output tensor name or an alias); -1 if none.
  [[nodiscard]] int find(const std::string& name) const;

  /// Number of levels a CKKS evaluation of the path to the output consumes, counting one per
  /// Conv2d, Square and ConvTranspose2d (the longest path; AvgPool, Concat and Add cost none).
  [[nodiscard]] int depth() const;

  /// Total number of weights and biases.
  [[nodiscard]] std::size_t parameter_count() const;
};

/// A dense float64 tensor (C, H, W), row-major: index = (c * H + y) * W + x.
struct Tensor {
  Shape shape;
  std::vector<double> data;

  Tensor() = default;
  explicit Tensor(Shape s) : shape(s), data(s.size(), 0.0) {}
  double& at(int c, int y, int x) {
    return data[(static_cast<std::size_t>(c) * shape.height + y) * shape.width + x];
  }
  [[nodiscard]] double at(int c, int y, int x) const {
    return data[(static_cast<std::size_t>(c) * shape.height + y) * shape.width + x];
  }
};

}  // namespace cryptounet::nn
