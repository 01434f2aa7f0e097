// A minimal float64 reference of the graph ops, local to these tests until nn/ref_executor.h
// is on main (then the tests switch to run_reference_all).
#pragma once

#include <vector>

#include "cryptounet/nn/graph.h"

namespace cryptounet::nn::testing {

inline std::vector<Tensor> reference_all(const Graph& g, const Tensor& input) {
  std::vector<Tensor> v(g.nodes.size());
  for (std::size_t n = 0; n < g.nodes.size(); ++n) {
    const Node& node = g.nodes[n];
    Tensor out(node.shape);
    const Shape& os = node.shape;
    switch (node.kind) {
      case OpKind::Input: out = input; break;
      case OpKind::Conv2d: {
        const Tensor& x = v[node.inputs[0]];
        const int K = node.kernel, p = node.pad, ci_n = x.shape.channels;
        for (int co = 0; co < os.channels; ++co)
          for (int y = 0; y < os.height; ++y)
            for (int xx = 0; xx < os.width; ++xx) {
              double s = node.bias.empty() ? 0.0 : node.bias[co];
              for (int ci = 0; ci < ci_n; ++ci)
                for (int ky = 0; ky < K; ++ky)
                  for (int kx = 0; kx < K; ++kx) {
                    int iy = y + ky - p, ix = xx + kx - p;
                    if (iy < 0 || ix < 0 || iy >= x.shape.height || ix >= x.shape.width) continue;
                    s += node.weight[((co * ci_n + ci) * K + ky) * K + kx] * x.at(ci, iy, ix);
                  }
              out.at(co, y, xx) = s;
            }
        break;
      }
      case OpKind::ConvTranspose2d: {
        const Tensor& x = v[node.inputs[0]];
        const int ci_n = x.shape.channels;
        for (int co = 0; co < os.channels; ++co)
          for (int y = 0; y < os.height; ++y)
            for (int xx = 0; xx < os.width; ++xx) {
              double s = node.bias.empty() ? 0.0 : node.bias[co];
              int a = y % 2, b = xx % 2;
              for (int ci = 0; ci < ci_n; ++ci)
                s += node.weight[((ci * os.channels + co) * 2 + a) * 2 + b] * x.at(ci, y / 2, xx / 2);
              out.at(co, y, xx) = s;
            }
        break;
      }
      case OpKind::AvgPool2d: {
        const Tensor& x = v[node.inputs[0]];
        for (int c = 0; c < os.channels; ++c)
          for (int y = 0; y < os.height; ++y)
            for (int xx = 0; xx < os.width; ++xx)
              out.at(c, y, xx) = 0.25 * (x.at(c, 2 * y, 2 * xx) + x.at(c, 2 * y + 1, 2 * xx) +
                                         x.at(c, 2 * y, 2 * xx + 1) + x.at(c, 2 * y + 1, 2 * xx + 1));
        break;
      }
      case OpKind::Square: {
        out = v[node.inputs[0]];
        for (double& d : out.data) d *= d;
        break;
      }
      case OpKind::Concat: {
        out.data.clear();
        for (int i : node.inputs)
          out.data.insert(out.data.end(), v[i].data.begin(), v[i].data.end());
        break;
      }
      case OpKind::Add: {
        out = v[node.inputs[0]];
        for (std::size_t k = 0; k < out.data.size(); ++k) out.data[k] += v[node.inputs[1]].data[k];
        break;
      }
    }
    v[n] = std::move(out);
  }
  return v;
}

}  // namespace cryptounet::nn::testing
