// ONNX → nn::Graph. Accepts exactly the operations the encrypted engine can run (see OpKind) and
// refuses everything else with cryptounet::Unsupported naming the node, its op type and the reason.
// BatchNormalization is folded into the Conv/ConvTranspose that feeds it; Identity is skipped;
// Constant nodes may feed Pow's exponent. Weights are found through the tensor names a node
// references (initializers or Constant outputs), never through naming conventions.
#pragma once

#include "cryptounet/model/graph.h"

#include <string>

namespace onnx {
class ModelProto;
}

namespace cryptounet::nn {

/// Converts a parsed ONNX model. The graph must have one input of shape 1×C×H×W (batch may be
/// symbolic; C, H, W static), one output, and only supported nodes.
/// @throws Unsupported for an operator, attribute value or shape the engine cannot run;
///         FormatError for a malformed model (dangling input names, missing weights, bad tensors).
[[nodiscard]] Graph import_onnx(const onnx::ModelProto& model);

/// Reads and converts an .onnx file; the graph is named after the file stem.
/// @throws IoError if the file cannot be read; FormatError if it is not an ONNX model; and
///         whatever import_onnx(ModelProto) throws.
[[nodiscard]] Graph import_onnx_file(const std::string& path);

}  // namespace cryptounet::nn
