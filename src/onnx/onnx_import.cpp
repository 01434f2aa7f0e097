#include "cryptounet/onnx/onnx_import.h"

#include "cryptounet/common/error.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace cryptounet::nn {
namespace {

constexpr const char* kSupportedList =
    "the encrypted engine runs only Conv, ConvTranspose, AveragePool, Square (Mul(x, x) or "
    "Pow(x, 2)), Concat, Add (and folds BatchNormalization)";

std::string join_ints(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << ']';
  return os.str();
}

std::string shape_str(const Shape& s) {
  return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width);
}

// A constant tensor (initializer or Constant output) converted to float64.
struct ConstTensor {
  std::vector<int64_t> dims;
  std::vector<double> values;
};

ConstTensor read_tensor(const onnx::TensorProto& t, const std::string& where) {
  ConstTensor out;
  out.dims.assign(t.dims().begin(), t.dims().end());
  std::size_t count = 1;
  for (int64_t d : out.dims) {
    if (d < 0) throw FormatError(where + ": tensor '" + t.name() + "' has a negative dimension");
    // Weights of an affordable model are far below 2^28 values; larger dims are corrupt input.
    if (d > (int64_t{1} << 28) || count * static_cast<std::size_t>(d) > (std::size_t{1} << 28))
      throw FormatError(where + ": tensor '" + t.name() + "' has dims " + join_ints(out.dims) +
                        ", too large");
    count *= static_cast<std::size_t>(d);
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Unsupported(where + ": tensor '" + t.name() +
                      "' keeps its data in an external file; export the model as one file");
  const auto type = t.data_type();
  const bool raw = t.has_raw_data();
  auto check_count = [&](std::size_t have) {
    if (have != count)
      throw FormatError(where + ": tensor '" + t.name() + "' holds " + std::to_string(have) +
                        " values, its dims " + join_ints(out.dims) + " need " +
                        std::to_string(count));
  };
  auto check_raw = [&](std::size_t elem) {
    if (t.raw_data().size() != count * elem)
      throw FormatError(where + ": tensor '" + t.name() + "' holds " +
                        std::to_string(t.raw_data().size()) + " raw bytes, its dims " +
                        join_ints(out.dims) + " need " + std::to_string(count * elem));
  };
  // The values as element type T: little-endian raw bytes (the host is little-endian), or the
  // typed repeated field; either must hold exactly `count` values.
  auto read_values = [&](auto element, const auto& field) {
    using T = decltype(element);
    if (raw) {
      check_raw(sizeof(T));
      out.values.resize(count);
      for (std::size_t i = 0; i < count; ++i) {
        T v;
        std::memcpy(&v, t.raw_data().data() + i * sizeof v, sizeof v);
        out.values[i] = static_cast<double>(v);
      }
    } else {
      check_count(static_cast<std::size_t>(field.size()));
      out.values.resize(count);
      for (std::size_t i = 0; i < count; ++i) out.values[i] = static_cast<double>(field.Get(static_cast<int>(i)));
    }
  };
  if (type == onnx::TensorProto::FLOAT) {
    read_values(float{}, t.float_data());
  } else if (type == onnx::TensorProto::DOUBLE) {
    read_values(double{}, t.double_data());
  } else if (type == onnx::TensorProto::INT64) {
    read_values(int64_t{}, t.int64_data());
  } else if (type == onnx::TensorProto::INT32) {
    read_values(int32_t{}, t.int32_data());
  } else {
    throw Unsupported(where + ": tensor '" + t.name() + "' has ONNX data type " +
                      std::to_string(type) + "; only float, double and integer weights are read");
  }
  return out;
}

class Importer {
 public:
  explicit Importer(const onnx::ModelProto& model) : g_(model.graph()) {}

  Graph run() {
    for (const auto& init : g_.initializer()) constants_[init.name()] = &init;
    add_input();
    for (int i = 0; i < g_.node_size(); ++i) add_node(g_.node(i), i);
    set_output();
    return std::move(graph_);
  }

 private:
  // ---- helpers -------------------------------------------------------------------------------
  std::string node_label(const onnx::NodeProto& n) const {
    return "onnx: node '" + current_name_ + "' (" + n.op_type() + ")";
  }
  [[noreturn]] void refuse(const onnx::NodeProto& n, const std::string& reason) const {
    throw Unsupported(node_label(n) + " is not supported: " + reason);
  }
  [[noreturn]] void malformed(const onnx::NodeProto& n, const std::string& reason) const {
    throw FormatError(node_label(n) + " is malformed: " + reason);
  }

  const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  std::optional<std::vector<int64_t>> ints_attr(const onnx::NodeProto& n, const std::string& name) {
    const auto* a = attr(n, name);
    if (!a) return std::nullopt;
    return std::vector<int64_t>(a->ints().begin(), a->ints().end());
  }
  std::optional<int64_t> int_attr(const onnx::NodeProto& n, const std::string& name) {
    const auto* a = attr(n, name);
    if (!a) return std::nullopt;
    return a->i();
  }
  void expect_all(const onnx::NodeProto& n, const std::string& name, int64_t value,
                  const std::string& why) {
    auto v = ints_attr(n, name);
    if (!v) return;
    for (int64_t x : *v)
      if (x != value) refuse(n, name + " = " + join_ints(*v) + " (" + why + ")");
  }
  void refuse_unknown_attrs(const onnx::NodeProto& n, std::initializer_list<const char*> known) {
    for (const auto& a : n.attribute()) {
      bool ok = false;
      for (const char* k : known) ok = ok || a.name() == k;
      if (!ok) refuse(n, "attribute '" + a.name() + "' is not understood");
    }
  }

  // A producer node index for a tensor name; throws if it is a constant or unknown.
  int producer(const onnx::NodeProto& n, const std::string& value) {
    auto it = values_.find(value);
    if (it != values_.end()) {
      if (it->second < 0)
        refuse(n, "it reads '" + value +
                      "', the output of a Conv/ConvTranspose that a BatchNormalization was "
                      "folded into; the unfolded value is not kept");
      ++uses_[it->second];
      return it->second;
    }
    if (constants_.count(value))
      refuse(n, "input '" + value + "' is a constant tensor; only Conv/ConvTranspose weights, "
                                    "biases and Pow's exponent may be constants");
    malformed(n, "input '" + value + "' is not produced by any earlier node");
  }

  const ConstTensor& constant(const onnx::NodeProto& n, const std::string& value,
                              const std::string& role) {
    auto cached = cache_.find(value);
    if (cached != cache_.end()) return cached->second;
    auto it = constants_.find(value);
    if (it == constants_.end()) {
      if (values_.count(value))
        refuse(n, role + " '" + value + "' is computed by the graph; it must be a constant "
                                       "(initializer)");
      malformed(n, role + " '" + value + "' is neither an initializer nor a Constant output");
    }
    return cache_.emplace(value, read_tensor(*it->second, node_label(n))).first->second;
  }

  int push(Node node, const std::string& out_name) {
    if (node.shape.size() > (std::size_t{1} << 28))
      throw Unsupported("onnx: node '" + node.name + "' would produce a tensor of " +
                        shape_str(node.shape) + " values, too large");
    node.output_name = out_name;
    graph_.nodes.push_back(std::move(node));
    const int idx = static_cast<int>(graph_.nodes.size()) - 1;
    values_[out_name] = idx;
    return idx;
  }

  // ---- graph input ---------------------------------------------------------------------------
  void add_input() {
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const auto& in : g_.input())
      if (!constants_.count(in.name())) inputs.push_back(&in);
    if (inputs.size() != 1)
      throw Unsupported("onnx: the model has " + std::to_string(inputs.size()) +
                        " non-constant inputs; exactly one image input (1xCxHxW) is supported");
    const auto& in = *inputs.front();
    const std::string where = "onnx: input '" + in.name() + "'";
    if (!in.type().has_tensor_type())
      throw Unsupported(where + " is not a tensor");
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto::FLOAT && tt.elem_type() != onnx::TensorProto::DOUBLE)
      throw Unsupported(where + " has element type " + std::to_string(tt.elem_type()) +
                        "; only float inputs are supported");
    if (!tt.has_shape() || tt.shape().dim_size() != 4)
      throw Unsupported(where + " must have shape 1xCxHxW (rank 4), it has rank " +
                        std::to_string(tt.has_shape() ? tt.shape().dim_size() : 0));
    int64_t dims[4];
    for (int i = 0; i < 4; ++i) {
      const auto& d = tt.shape().dim(i);
      if (d.has_dim_value()) {
        dims[i] = d.dim_value();
      } else if (i == 0) {
        dims[i] = 1;  // a symbolic batch dimension: we run one image at a time
      } else {
        throw Unsupported(where + " has a dynamic dimension " + std::to_string(i) + " ('" +
                          d.dim_param() + "'); C, H and W must be static");
      }
    }
    if (dims[0] != 1)
      throw Unsupported(where + " has batch size " + std::to_string(dims[0]) +
                        "; export the model with batch size 1");
    for (int i = 1; i < 4; ++i)
      if (dims[i] <= 0 || dims[i] > (1 << 16))
        throw Unsupported(where + " has dimension " + std::to_string(i) + " = " +
                          std::to_string(dims[i]));
    Node node;
    node.name = in.name();
    node.kind = OpKind::Input;
    node.shape = {static_cast<int>(dims[1]), static_cast<int>(dims[2]), static_cast<int>(dims[3])};
    push(std::move(node), in.name());
  }

  // ---- nodes ---------------------------------------------------------------------------------
  void add_node(const onnx::NodeProto& n, int index) {
    current_name_ = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      refuse(n, "operator domain '" + n.domain() + "' is not the default ONNX domain; " +
                    kSupportedList);
    if (n.output_size() < 1 || n.output(0).empty()) malformed(n, "it has no output");
    const std::string& op = n.op_type();
    if (op == "Identity") return add_identity(n);
    if (op == "Constant") return add_constant(n);
    if (op == "Conv") return add_conv(n);
    if (op == "ConvTranspose") return add_conv_transpose(n);
    if (op == "AveragePool") return add_avg_pool(n);
    if (op == "Mul") return add_mul(n);
    if (op == "Pow") return add_pow(n);
    if (op == "Concat") return add_concat(n);
    if (op == "Add") return add_add(n);
    if (op == "BatchNormalization") return add_batch_norm(n);
    refuse(n, kSupportedList);
  }

  void expect_inputs(const onnx::NodeProto& n, int lo, int hi) {
    int count = n.input_size();
    while (count > 0 && n.input(count - 1).empty()) --count;  // trailing optional inputs
    if (count < lo || count > hi)
      malformed(n, "it has " + std::to_string(count) + " inputs, expected " +
                       (lo == hi ? std::to_string(lo)
                                 : std::to_string(lo) + " to " + std::to_string(hi)));
  }

  void add_identity(const onnx::NodeProto& n) {
    expect_inputs(n, 1, 1);
    const std::string& in = n.input(0);
    if (constants_.count(in)) {
      constants_[n.output(0)] = constants_[in];
      return;
    }
    const int p = producer(n, in);
    --uses_[p];  // an alias is not a reader
    values_[n.output(0)] = p;
    graph_.nodes[p].aliases.push_back(n.output(0));
  }

  void add_constant(const onnx::NodeProto& n) {
    const auto* a = attr(n, "value");
    if (!a || !a->has_t())
      refuse(n, "only Constant nodes with a 'value' tensor attribute are supported");
    constants_[n.output(0)] = &a->t();
  }

  Shape input_shape(int idx) const { return graph_.nodes[idx].shape; }

  // Checks pads (explicit or auto_pad) give 'same' output for an odd kernel k.
  void check_same_pads(const onnx::NodeProto& n, int k) {
    const auto* ap = attr(n, "auto_pad");
    const std::string auto_pad = ap ? ap->s() : "NOTSET";
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return;  // odd k: symmetric k/2
    if (auto_pad == "VALID") {
      if (k == 1) return;
      refuse(n, "auto_pad = VALID; only 'same' zero padding (pad = kernel / 2) is supported");
    }
    if (auto_pad != "NOTSET") refuse(n, "auto_pad = " + auto_pad + " is not understood");
    auto pads = ints_attr(n, "pads").value_or(std::vector<int64_t>(4, 0));
    if (pads.size() != 4) refuse(n, "pads = " + join_ints(pads) + " (expected 4 values)");
    for (int64_t p : pads)
      if (p != k / 2)
        refuse(n, "pads = " + join_ints(pads) + " with kernel " + std::to_string(k) +
                      "; only 'same' padding (pads = " + std::to_string(k / 2) +
                      " on every side) is supported");
  }

  /// The weight (input 1) of a convolution or transposed convolution: 4-D (else refused, with
  /// `not_4d_note` after "not 4-D"), and the node ungrouped (group = 1, the only one supported).
  const ConstTensor& conv_weight(const onnx::NodeProto& n, const std::string& not_4d_note) {
    const ConstTensor& w = constant(n, n.input(1), "weight");
    if (w.dims.size() != 4) refuse(n, "weight has shape " + join_ints(w.dims) + ", not 4-D" + not_4d_note);
    if (auto g = int_attr(n, "group"); g && *g != 1)
      refuse(n, "group = " + std::to_string(*g) + "; only group = 1 is supported");
    return w;
  }

  void add_conv(const onnx::NodeProto& n) {
    expect_inputs(n, 2, 3);
    refuse_unknown_attrs(n, {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"});
    const int x = producer(n, n.input(0));
    const Shape in = input_shape(x);
    const ConstTensor& w = conv_weight(n, " (2-D convolution)");
    const int64_t cout = w.dims[0], cin = w.dims[1], kh = w.dims[2], kw = w.dims[3];
    if (kh != kw || (kh != 1 && kh != 3))
      refuse(n, "kernel " + std::to_string(kh) + "x" + std::to_string(kw) +
                    "; only 1x1 and 3x3 kernels are supported");
    if (auto ks = ints_attr(n, "kernel_shape"); ks && (ks->size() != 2 || (*ks)[0] != kh || (*ks)[1] != kw))
      malformed(n, "kernel_shape = " + join_ints(*ks) + " disagrees with weight " + join_ints(w.dims));
    expect_all(n, "strides", 1, "only stride 1 is supported");
    expect_all(n, "dilations", 1, "only dilation 1 is supported");
    check_same_pads(n, static_cast<int>(kh));
    push_conv(n, OpKind::Conv2d, x, in, cin, w, static_cast<int>(kh), 1, static_cast<int>(kh / 2),
              {static_cast<int>(cout), in.height, in.width});
  }

  /// The node of a (transposed) convolution over producer `x` (shape `in`), once the weight's
  /// `cin` input channels are checked against `in`; the bias (input 2, zeros if absent) has one
  /// value per output channel.
  void push_conv(const onnx::NodeProto& n, OpKind kind, int x, const Shape& in, int64_t cin, const ConstTensor& w,
                 int kernel, int stride, int pad, Shape out) {
    if (cin != in.channels)
      refuse(n, "weight expects " + std::to_string(cin) + " input channels, its input has shape " +
                    shape_str(in));
    Node node;
    node.name = current_name_;
    node.kind = kind;
    node.inputs = {x};
    node.kernel = kernel;
    node.stride = stride;
    node.pad = pad;
    node.bias = read_bias(n, out.channels);
    node.shape = out;
    node.weight = w.values;
    push(std::move(node), n.output(0));
  }

  std::vector<double> read_bias(const onnx::NodeProto& n, int64_t cout) {
    if (n.input_size() < 3 || n.input(2).empty())
      return std::vector<double>(static_cast<std::size_t>(cout), 0.0);
    const ConstTensor& b = constant(n, n.input(2), "bias");
    if (b.values.size() != static_cast<std::size_t>(cout))
      malformed(n, "bias has " + std::to_string(b.values.size()) + " values for " +
                       std::to_string(cout) + " output channels");
    return b.values;
  }

  void add_conv_transpose(const onnx::NodeProto& n) {
    expect_inputs(n, 2, 3);
    refuse_unknown_attrs(n, {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad",
                             "output_padding", "output_shape"});
    const int x = producer(n, n.input(0));
    const Shape in = input_shape(x);
    const ConstTensor& w = conv_weight(n, "");
    const int64_t cin = w.dims[0], cout = w.dims[1], kh = w.dims[2], kw = w.dims[3];
    if (kh != 2 || kw != 2)
      refuse(n, "kernel " + std::to_string(kh) + "x" + std::to_string(kw) +
                    "; only 2x2 kernels with stride 2 are supported");
    auto strides = ints_attr(n, "strides").value_or(std::vector<int64_t>{1, 1});
    if (strides.size() != 2 || strides[0] != 2 || strides[1] != 2)
      refuse(n, "strides = " + join_ints(strides) + "; only stride 2 is supported");
    expect_all(n, "dilations", 1, "only dilation 1 is supported");
    expect_all(n, "pads", 0, "padding is not supported");
    expect_all(n, "output_padding", 0, "output_padding is not supported");
    if (const auto* ap = attr(n, "auto_pad"); ap && ap->s() != "NOTSET" && ap->s() != "VALID")
      refuse(n, "auto_pad = " + ap->s() + "; padding is not supported");
    if (auto os = ints_attr(n, "output_shape")) {
      const auto& v = *os;
      const bool ok = v.size() >= 2 && v[v.size() - 2] == 2 * in.height && v.back() == 2 * in.width;
      if (!ok) refuse(n, "output_shape = " + join_ints(v) + " is not twice the input size");
    }
    push_conv(n, OpKind::ConvTranspose2d, x, in, cin, w, 2, 2, 0,
              {static_cast<int>(cout), in.height * 2, in.width * 2});
  }

  void add_avg_pool(const onnx::NodeProto& n) {
    expect_inputs(n, 1, 1);
    refuse_unknown_attrs(n, {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode",
                             "count_include_pad"});
    const int x = producer(n, n.input(0));
    const Shape in = input_shape(x);
    auto ks = ints_attr(n, "kernel_shape").value_or(std::vector<int64_t>{});
    if (ks.size() != 2 || ks[0] != 2 || ks[1] != 2)
      refuse(n, "kernel_shape = " + join_ints(ks) + "; only 2x2 pooling is supported");
    auto strides = ints_attr(n, "strides").value_or(std::vector<int64_t>{1, 1});
    if (strides.size() != 2 || strides[0] != 2 || strides[1] != 2)
      refuse(n, "strides = " + join_ints(strides) + "; only stride 2 is supported");
    expect_all(n, "pads", 0, "padding is not supported");
    if (const auto* ap = attr(n, "auto_pad"); ap && ap->s() != "NOTSET" && ap->s() != "VALID")
      refuse(n, "auto_pad = " + ap->s() + "; padding is not supported");
    if (auto cm = int_attr(n, "ceil_mode"); cm && *cm != 0)
      refuse(n, "ceil_mode = 1 is not supported");
    if (in.height % 2 != 0 || in.width % 2 != 0)
      refuse(n, "its input " + shape_str(in) + " has an odd height or width");
    Node node;
    node.name = current_name_;
    node.kind = OpKind::AvgPool2d;
    node.inputs = {x};
    node.kernel = 2;
    node.stride = 2;
    node.shape = {in.channels, in.height / 2, in.width / 2};
    push(std::move(node), n.output(0));
  }

  void add_square(const onnx::NodeProto& n, int x) {
    Node node;
    node.name = current_name_;
    node.kind = OpKind::Square;
    node.inputs = {x};
    node.shape = input_shape(x);
    push(std::move(node), n.output(0));
  }

  void add_mul(const onnx::NodeProto& n) {
    expect_inputs(n, 2, 2);
    const int a = producer(n, n.input(0));
    const int b = producer(n, n.input(1));
    if (a != b)
      refuse(n, "Mul of two different tensors; only Mul(x, x) (a square) is supported");
    add_square(n, a);
  }

  void add_pow(const onnx::NodeProto& n) {
    expect_inputs(n, 2, 2);
    const int x = producer(n, n.input(0));
    const ConstTensor& e = constant(n, n.input(1), "exponent");
    if (e.values.size() != 1 || e.values[0] != 2.0)
      refuse(n, "exponent " + (e.values.size() == 1 ? std::to_string(e.values[0])
                                                    : "of " + std::to_string(e.values.size()) +
                                                          " values") +
                    "; only Pow(x, 2) is supported");
    add_square(n, x);
  }

  void add_concat(const onnx::NodeProto& n) {
    refuse_unknown_attrs(n, {"axis"});
    if (n.input_size() < 1) malformed(n, "it has no inputs");
    auto axis = int_attr(n, "axis");
    if (!axis) malformed(n, "attribute 'axis' is required");
    if (*axis != 1 && *axis != -3)
      refuse(n, "axis = " + std::to_string(*axis) + "; only concatenation along channels (axis 1)");
    Node node;
    node.name = current_name_;
    node.kind = OpKind::Concat;
    for (const auto& in : n.input()) {
      const int p = producer(n, in);
      const Shape s = input_shape(p);
      if (!node.inputs.empty() && (s.height != node.shape.height || s.width != node.shape.width))
        refuse(n, "input '" + in + "' is " + shape_str(s) + " but an earlier input is " +
                      shape_str(node.shape) + "; spatial sizes must agree");
      node.shape = {node.shape.channels + s.channels, s.height, s.width};
      node.inputs.push_back(p);
    }
    push(std::move(node), n.output(0));
  }

  void add_add(const onnx::NodeProto& n) {
    expect_inputs(n, 2, 2);
    refuse_unknown_attrs(n, {});
    const int a = producer(n, n.input(0));
    const int b = producer(n, n.input(1));
    if (!(input_shape(a) == input_shape(b)))
      refuse(n, "operands have shapes " + shape_str(input_shape(a)) + " and " +
                    shape_str(input_shape(b)) + "; broadcasting is not supported");
    Node node;
    node.name = current_name_;
    node.kind = OpKind::Add;
    node.inputs = {a, b};
    node.shape = input_shape(a);
    push(std::move(node), n.output(0));
  }

  void add_batch_norm(const onnx::NodeProto& n) {
    expect_inputs(n, 5, 5);
    refuse_unknown_attrs(n, {"epsilon", "momentum", "training_mode", "spatial"});
    if (auto tm = int_attr(n, "training_mode"); tm && *tm != 0)
      refuse(n, "training_mode = 1; export the model in eval mode");
    for (int i = 1; i < n.output_size(); ++i)
      if (!n.output(i).empty())
        refuse(n, "it has training outputs (running mean/var); export the model in eval mode");
    const int x = producer(n, n.input(0));
    Node& conv = graph_.nodes[x];
    if (conv.kind != OpKind::Conv2d && conv.kind != OpKind::ConvTranspose2d)
      refuse(n, "it follows a " + std::string(op_name(conv.kind)) + " node ('" + conv.name +
                    "'); BatchNormalization can only be folded into a preceding Conv or "
                    "ConvTranspose");
    if (uses_[x] > 1)  // this BN is one reader
      refuse(n, "the output of '" + conv.name + "' is also used by another node, so the "
                "BatchNormalization cannot be folded into it");
    const std::size_t c = static_cast<std::size_t>(conv.shape.channels);
    const ConstTensor& gamma = constant(n, n.input(1), "scale");
    const ConstTensor& beta = constant(n, n.input(2), "bias");
    const ConstTensor& mean = constant(n, n.input(3), "mean");
    const ConstTensor& var = constant(n, n.input(4), "variance");
    for (const ConstTensor* t : {&gamma, &beta, &mean, &var})
      if (t->values.size() != c)
        malformed(n, "a parameter has " + std::to_string(t->values.size()) + " values for " +
                         std::to_string(c) + " channels");
    double eps = 1e-5;
    if (const auto* a = attr(n, "epsilon")) eps = a->f();
    std::vector<double> s(c);
    for (std::size_t o = 0; o < c; ++o) {
      if (var.values[o] + eps <= 0)
        refuse(n, "variance + epsilon is not positive for channel " + std::to_string(o));
      s[o] = gamma.values[o] / std::sqrt(var.values[o] + eps);
    }
    // Conv weight[out][in][k][k]; ConvTranspose weight[in][out][2][2]: scale per output channel.
    if (conv.kind == OpKind::Conv2d) {
      const std::size_t per = conv.weight.size() / c;
      for (std::size_t o = 0; o < c; ++o)
        for (std::size_t j = 0; j < per; ++j) conv.weight[o * per + j] *= s[o];
    } else {
      const std::size_t cin = conv.weight.size() / (c * 4);
      for (std::size_t i = 0; i < cin; ++i)
        for (std::size_t o = 0; o < c; ++o)
          for (std::size_t j = 0; j < 4; ++j) conv.weight[(i * c + o) * 4 + j] *= s[o];
    }
    for (std::size_t o = 0; o < c; ++o)
      conv.bias[o] = (conv.bias[o] - mean.values[o]) * s[o] + beta.values[o];
    // The unfolded value no longer exists: any later reader of it is refused.
    for (auto& [name, idx] : values_)
      if (idx == x) idx = -1;
    // Most specific first: the BN's name describes the folded value, the Conv's output does not.
    conv.aliases.insert(conv.aliases.begin(), {current_name_, conv.output_name});
    conv.output_name = n.output(0);
    values_[n.output(0)] = x;
  }

  void set_output() {
    if (g_.output_size() != 1)
      throw Unsupported("onnx: the model has " + std::to_string(g_.output_size()) +
                        " outputs; exactly one (the logits) is supported");
    const std::string& name = g_.output(0).name();
    auto it = values_.find(name);
    if (it == values_.end() || it->second < 0)
      throw FormatError("onnx: the graph output '" + name +
                        "' is not produced by any node (or is a constant)");
    graph_.output = it->second;
  }

  const onnx::GraphProto& g_;
  Graph graph_;
  std::string current_name_;
  std::unordered_map<std::string, int> values_;  // tensor name → node index (-1: folded away)
  std::unordered_map<std::string, const onnx::TensorProto*> constants_;
  std::map<std::string, ConstTensor> cache_;
  std::unordered_map<int, int> uses_;  // node index → readers so far (for BN folding)
};

}  // namespace

Graph import_onnx(const onnx::ModelProto& model) {
  if (!model.has_graph()) throw FormatError("onnx: the model has no graph");
  return Importer(model).run();
}

Graph import_onnx_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("onnx: cannot open '" + path + "'");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in))
    throw FormatError("onnx: '" + path + "' is not a valid ONNX model (protobuf parse failed)");
  Graph g = import_onnx(model);
  g.name = std::filesystem::path(path).stem().string();
  return g;
}

}  // namespace cryptounet::nn
