// Builds small ONNX models in C++ for importer and executor tests (no Python needed).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cryptounet::test {

/// Deterministic values in [-1, 1) for weights and inputs (a 64-bit LCG; tests only).
inline std::vector<double> pseudo_random(std::size_t n, uint64_t seed) {
  std::vector<double> v(n);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<double>(s >> 11) / static_cast<double>(1ULL << 53) * 2.0 - 1.0;
  }
  return v;
}

class OnnxBuilder {
 public:
  /// A graph with one float input `name` of shape 1×c×h×w (h < 0: symbolic "H").
  OnnxBuilder(int c, int h, int w, const std::string& name = "input", int batch = 1) {
    model_.set_ir_version(7);
    model_.add_opset_import()->set_version(13);
    g_ = model_.mutable_graph();
    g_->set_name("test");
    add_input(name, {batch, c, h, w});
  }

  void add_input(const std::string& name, const std::vector<int64_t>& dims) {
    auto* in = g_->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = shape->add_dim();
      if (d < 0)
        dim->set_dim_param("dyn");
      else
        dim->set_dim_value(d);
    }
  }

  /// Adds a float initializer (float_data, or raw_data if `raw`).
  std::string init(const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<double>& values, bool raw = false) {
    fill(*g_->add_initializer(), name, dims, values, raw);
    return name;
  }

  static void fill(onnx::TensorProto& t, const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<double>& values, bool raw = false) {
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    if (raw) {
      std::string bytes;
      for (double v : values) {
        float f = static_cast<float>(v);
        bytes.append(reinterpret_cast<const char*>(&f), sizeof f);
      }
      t.set_raw_data(bytes);
    } else {
      for (double v : values) t.add_float_data(static_cast<float>(v));
    }
  }

  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::string& output, const std::string& name = "") {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return *n;
  }

  static void ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void integer(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void real(onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }

  /// Conv with random weights (k×k, 'same' pads, bias) named `name`, output `out`.
  onnx::NodeProto& conv(const std::string& in, const std::string& out, int cin, int cout, int k,
                        const std::string& name, uint64_t seed, bool bias = true) {
    std::vector<std::string> ins{in, init(name + ".weight", {cout, cin, k, k},
                                          pseudo_random(std::size_t(cout) * cin * k * k, seed))};
    if (bias) ins.push_back(init(name + ".bias", {cout}, pseudo_random(cout, seed + 1)));
    auto& n = node("Conv", ins, out, name);
    ints(n, "kernel_shape", {k, k});
    ints(n, "pads", {k / 2, k / 2, k / 2, k / 2});
    ints(n, "strides", {1, 1});
    ints(n, "dilations", {1, 1});
    integer(n, "group", 1);
    return n;
  }

  onnx::NodeProto& conv_transpose(const std::string& in, const std::string& out, int cin,
                                  int cout, const std::string& name, uint64_t seed) {
    auto& n = node("ConvTranspose",
                   {in, init(name + ".weight", {cin, cout, 2, 2},
                             pseudo_random(std::size_t(cin) * cout * 4, seed)),
                    init(name + ".bias", {cout}, pseudo_random(cout, seed + 1))},
                   out, name);
    ints(n, "kernel_shape", {2, 2});
    ints(n, "strides", {2, 2});
    return n;
  }

  onnx::NodeProto& avg_pool(const std::string& in, const std::string& out,
                            const std::string& name) {
    auto& n = node("AveragePool", {in}, out, name);
    ints(n, "kernel_shape", {2, 2});
    ints(n, "strides", {2, 2});
    return n;
  }

  void output(const std::string& name) { g_->add_output()->set_name(name); }

  onnx::ModelProto& model() { return model_; }

 private:
  onnx::ModelProto model_;
  onnx::GraphProto* g_;
};

}  // namespace cryptounet::test
