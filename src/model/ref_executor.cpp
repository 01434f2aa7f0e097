#include "cryptounet/model/ref_executor.h"

#include "cryptounet/common/error.h"

#include <string>

namespace cryptounet::nn {
namespace {

std::string shape_str(const Shape& s) {
  return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width);
}

void expect_size(const Tensor& t, const char* op) {
  if (t.data.size() != t.shape.size())
    throw InvalidArgument(std::string(op) + ": tensor of shape " + shape_str(t.shape) + " holds " +
                          std::to_string(t.data.size()) + " values");
}

}  // namespace

Tensor conv2d(const Node& node, const Tensor& x) {
  expect_size(x, "conv2d");
  const int k = node.kernel, pad = node.pad;
  const int cin = x.shape.channels, h = x.shape.height, w = x.shape.width;
  const int cout = node.shape.channels;
  if (node.weight.size() != static_cast<std::size_t>(cout) * cin * k * k ||
      node.bias.size() != static_cast<std::size_t>(cout))
    throw InvalidArgument("conv2d: node '" + node.name + "' has " +
                          std::to_string(node.weight.size()) + " weights for input " +
                          shape_str(x.shape) + " and " + std::to_string(cout) + " outputs");
  Tensor y(Shape{cout, h, w});
  for (int o = 0; o < cout; ++o) {
    for (int i = 0; i < cin; ++i) {
      const double* wk = &node.weight[(static_cast<std::size_t>(o) * cin + i) * k * k];
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
          const double wv = wk[ky * k + kx];
          for (int yy = 0; yy < h; ++yy) {
            const int sy = yy + ky - pad;
            if (sy < 0 || sy >= h) continue;
            for (int xx = 0; xx < w; ++xx) {
              const int sx = xx + kx - pad;
              if (sx < 0 || sx >= w) continue;
              y.at(o, yy, xx) += wv * x.at(i, sy, sx);
            }
          }
        }
    }
    for (int yy = 0; yy < h; ++yy)
      for (int xx = 0; xx < w; ++xx) y.at(o, yy, xx) += node.bias[o];
  }
  return y;
}

Tensor conv_transpose2d(const Node& node, const Tensor& x) {
  expect_size(x, "conv_transpose2d");
  const int cin = x.shape.channels, h = x.shape.height, w = x.shape.width;
  const int cout = node.shape.channels;
  if (node.weight.size() != static_cast<std::size_t>(cin) * cout * 4 ||
      node.bias.size() != static_cast<std::size_t>(cout))
    throw InvalidArgument("conv_transpose2d: node '" + node.name + "' has " +
                          std::to_string(node.weight.size()) + " weights for input " +
                          shape_str(x.shape) + " and " + std::to_string(cout) + " outputs");
  // Kernel 2, stride 2: output pixel (2y + a, 2x + b) = Σ_i x[i][y][x] · w[i][o][a][b] + bias.
  Tensor y(Shape{cout, 2 * h, 2 * w});
  for (int o = 0; o < cout; ++o) {
    for (int i = 0; i < cin; ++i) {
      const double* wk = &node.weight[(static_cast<std::size_t>(i) * cout + o) * 4];
      for (int yy = 0; yy < h; ++yy)
        for (int xx = 0; xx < w; ++xx) {
          const double v = x.at(i, yy, xx);
          for (int a = 0; a < 2; ++a)
            for (int b = 0; b < 2; ++b) y.at(o, 2 * yy + a, 2 * xx + b) += v * wk[a * 2 + b];
        }
    }
    for (int yy = 0; yy < 2 * h; ++yy)
      for (int xx = 0; xx < 2 * w; ++xx) y.at(o, yy, xx) += node.bias[o];
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x) {
  expect_size(x, "avg_pool2d");
  if (x.shape.height % 2 || x.shape.width % 2)
    throw InvalidArgument("avg_pool2d: input " + shape_str(x.shape) + " has an odd side");
  Tensor y(Shape{x.shape.channels, x.shape.height / 2, x.shape.width / 2});
  for (int c = 0; c < y.shape.channels; ++c)
    for (int yy = 0; yy < y.shape.height; ++yy)
      for (int xx = 0; xx < y.shape.width; ++xx)
        y.at(c, yy, xx) = 0.25 * (x.at(c, 2 * yy, 2 * xx) + x.at(c, 2 * yy, 2 * xx + 1) +
                                  x.at(c, 2 * yy + 1, 2 * xx) + x.at(c, 2 * yy + 1, 2 * xx + 1));
  return y;
}

Tensor square(const Tensor& x) {
  expect_size(x, "square");
  Tensor y = x;
  for (double& v : y.data) v *= v;
  return y;
}

Tensor concat(const std::vector<const Tensor*>& xs) {
  if (xs.empty()) throw InvalidArgument("concat: no inputs");
  Shape s{0, xs.front()->shape.height, xs.front()->shape.width};
  for (const Tensor* t : xs) {
    expect_size(*t, "concat");
    if (t->shape.height != s.height || t->shape.width != s.width)
      throw InvalidArgument("concat: input " + shape_str(t->shape) + " does not match " +
                            shape_str(xs.front()->shape) + " spatially");
    s.channels += t->shape.channels;
  }
  Tensor y;
  y.shape = s;
  y.data.reserve(s.size());
  for (const Tensor* t : xs) y.data.insert(y.data.end(), t->data.begin(), t->data.end());
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  expect_size(a, "add");
  expect_size(b, "add");
  if (!(a.shape == b.shape))
    throw InvalidArgument("add: shapes " + shape_str(a.shape) + " and " + shape_str(b.shape) +
                          " differ");
  Tensor y = a;
  for (std::size_t i = 0; i < y.data.size(); ++i) y.data[i] += b.data[i];
  return y;
}

Tensor run_node(const Node& node, const std::vector<const Tensor*>& in) {
  auto need = [&](std::size_t n) {
    if (in.size() != n)
      throw InvalidArgument("run_node: node '" + node.name + "' (" + op_name(node.kind) +
                            ") takes " + std::to_string(n) + " inputs, got " +
                            std::to_string(in.size()));
  };
  switch (node.kind) {
    case OpKind::Input: need(1); return *in[0];
    case OpKind::Conv2d: need(1); return conv2d(node, *in[0]);
    case OpKind::ConvTranspose2d: need(1); return conv_transpose2d(node, *in[0]);
    case OpKind::AvgPool2d: need(1); return avg_pool2d(*in[0]);
    case OpKind::Square: need(1); return square(*in[0]);
    case OpKind::Concat: return concat(in);
    case OpKind::Add: need(2); return add(*in[0], *in[1]);
  }
  throw InvalidArgument("run_node: unknown op kind");
}

std::vector<Tensor> run_reference_all(const Graph& graph, const Tensor& input) {
  if (graph.nodes.empty() || graph.output < 0)
    throw InvalidArgument("run_reference: the graph is empty");
  if (!(input.shape == graph.input_shape()) || input.data.size() != input.shape.size())
    throw InvalidArgument("run_reference: input has shape " + shape_str(input.shape) + " (" +
                          std::to_string(input.data.size()) + " values), the model expects " +
                          shape_str(graph.input_shape()));
  std::vector<Tensor> out(graph.nodes.size());
  out[0] = input;
  for (std::size_t i = 1; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    std::vector<const Tensor*> ins;
    for (int j : node.inputs) {
      if (j < 0 || static_cast<std::size_t>(j) >= i)
        throw InvalidArgument("run_reference: node '" + node.name + "' reads node " +
                              std::to_string(j) + ", not an earlier one");
      ins.push_back(&out[j]);
    }
    out[i] = run_node(node, ins);
    if (!(out[i].shape == node.shape))
      throw InvalidArgument("run_reference: node '" + node.name + "' produced " +
                            shape_str(out[i].shape) + ", the graph says " + shape_str(node.shape));
  }
  return out;
}

Tensor run_reference(const Graph& graph, const Tensor& input) {
  auto all = run_reference_all(graph, input);
  return std::move(all.at(graph.output));
}

}  // namespace cryptounet::nn
