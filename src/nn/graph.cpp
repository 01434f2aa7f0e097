#include "cryptounet/nn/graph.h"

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

}  // namespace cryptounet::nn
