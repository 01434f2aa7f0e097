// Test helpers for the encrypted executor: a small graph builder with seeded random weights,
// and a run of a planned graph on the slot simulator from plain images to plain logits.
#pragma once

#include <cmath>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cryptounet/he/backends/sim_backend.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/common/compare.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/model/ref_executor.h"

namespace cryptounet::nn::testing {

class GraphBuilder {
 public:
  explicit GraphBuilder(unsigned seed) : rng_(seed) {}

  int input(int c, int h, int w) {
    Node n;
    n.name = "input";
    n.kind = OpKind::Input;
    n.shape = {c, h, w};
    return push(std::move(n));
  }
  int conv(int in, int cout, int k, double wscale = 0.0) {
    const Shape s = g_.nodes[in].shape;
    Node n = base("conv", OpKind::Conv2d, {in}, {cout, s.height, s.width});
    n.kernel = k;
    n.stride = 1;
    n.pad = k / 2;
    double ws = wscale > 0 ? wscale : 1.0 / std::sqrt(static_cast<double>(s.channels * k * k));
    n.weight = random(static_cast<std::size_t>(cout) * s.channels * k * k, ws);
    n.bias = random(cout, 0.3);
    return push(std::move(n));
  }
  int conv_t(int in, int cout) {
    const Shape s = g_.nodes[in].shape;
    Node n = base("convT", OpKind::ConvTranspose2d, {in}, {cout, 2 * s.height, 2 * s.width});
    n.kernel = 2;
    n.stride = 2;
    n.weight = random(static_cast<std::size_t>(s.channels) * cout * 4,
                      1.0 / std::sqrt(static_cast<double>(s.channels)));
    n.bias = random(cout, 0.3);
    return push(std::move(n));
  }
  int pool(int in) {
    const Shape s = g_.nodes[in].shape;
    Node n = base("pool", OpKind::AvgPool2d, {in}, {s.channels, s.height / 2, s.width / 2});
    n.kernel = 2;
    n.stride = 2;
    return push(std::move(n));
  }
  int square(int in) { return push(base("sq", OpKind::Square, {in}, g_.nodes[in].shape)); }
  int concat(int a, int b) {
    Shape s = g_.nodes[a].shape;
    s.channels += g_.nodes[b].shape.channels;
    return push(base("cat", OpKind::Concat, {a, b}, s));
  }
  int add(int a, int b) { return push(base("add", OpKind::Add, {a, b}, g_.nodes[a].shape)); }

  Graph finish(int output) {
    g_.output = output;
    g_.name = "test";
    return g_;
  }
  Tensor random_input(const Shape& s) {
    Tensor t(s);
    for (double& v : t.data) v = uni_(rng_);
    return t;
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  Node base(const std::string& name, OpKind k, std::vector<int> ins, Shape s) {
    Node n;
    n.name = name + std::to_string(g_.nodes.size());
    n.kind = k;
    n.inputs = std::move(ins);
    n.shape = s;
    return n;
  }
  int push(Node n) {
    g_.nodes.push_back(std::move(n));
    return static_cast<int>(g_.nodes.size()) - 1;
  }
  std::vector<double> random(std::size_t n, double scale) {
    std::vector<double> v(n);
    for (double& x : v) x = scale * uni_(rng_);
    return v;
  }

  Graph g_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> uni_{-1.0, 1.0};
};

/// Input(cin, height x width) -> average-pooled down to `stride` -> one layer under test:
/// "conv3", "conv1", "convT", "pool", "square", "concat" (of a squared conv and the input) or
/// "add" (of a 1x1 and a 3x3 conv). Shared by the per-layer and the band tests.
inline Graph single_layer_graph(const std::string& layer, int cin, int cout, int height, int width, int stride,
                                unsigned seed) {
  GraphBuilder b(seed);
  int x = b.input(cin, height, width);
  for (int s = 1; s < stride; s *= 2) x = b.pool(x);
  int y = -1;
  if (layer == "conv3") y = b.conv(x, cout, 3);
  else if (layer == "conv1") y = b.conv(x, cout, 1);
  else if (layer == "convT") y = b.conv_t(x, cout);
  else if (layer == "pool") y = b.pool(x);
  else if (layer == "square") y = b.square(x);
  else if (layer == "concat") y = b.concat(b.square(b.conv(x, cout, 3)), x);
  else if (layer == "add") y = b.add(b.conv(x, cin, 1), b.conv(x, cin, 3));
  else throw std::invalid_argument("single_layer_graph: unknown layer '" + layer + "'");
  return b.finish(y);
}

// The bundled brain model's architecture (depth 13): c, 2c, 4c channels, two poolings, two skips.
inline Graph brain_unet(unsigned seed, int size = 64, int c = 8) {
  GraphBuilder b(seed);
  int x = b.input(1, size, size);
  int e1 = b.square(b.conv(x, c, 3));
  int e2 = b.square(b.conv(b.pool(e1), 2 * c, 3));
  int bott = b.square(b.conv(b.pool(e2), 4 * c, 3));
  int u2 = b.conv_t(bott, 2 * c);
  int d2 = b.square(b.conv(b.concat(u2, e2), 2 * c, 3));
  int u1 = b.conv_t(d2, c);
  int d1 = b.square(b.conv(b.concat(u1, e1), c, 3));
  return b.finish(b.conv(d1, 1, 1));
}

struct SimRun {
  std::vector<Tensor> outputs;
  ExecReport report;
  std::set<int> steps_used;
};

/// Plan-driven run on the simulator with the plan's parameter sizes.
/// With `garbage_seed` != 0, slots that hold no input value get random junk instead of zeros:
/// the layers must never let such slots reach a valid output.
inline SimRun run_sim(const Graph& g, const Plan& plan, const std::vector<Tensor>& images,
                      unsigned garbage_seed = 0) {
  SimBackend be = SimBackend::from_bits(plan.grid.slots, plan.log_q, plan.log_scale);
  std::vector<SimBackend::Ct> cts;
  auto slots = input_slots(plan, images);
  if (garbage_seed != 0) {
    std::mt19937_64 rng(garbage_seed);
    std::uniform_real_distribution<double> u(-3.0, 3.0);
    for (std::size_t t = 0; t < slots.size(); ++t)
      for (int s = 0; s < plan.grid.slots; ++s)
        if (!plan.input().layout.value_at({static_cast<int>(t), s})) slots[t][s] = u(rng);
  }
  for (const auto& s : slots) cts.push_back(be.encrypt(s, plan.input_level, be.default_scale()));
  SimRun r;
  auto out = run_encrypted(be, g, plan, std::move(cts), &r.report);
  std::vector<std::vector<double>> out_slots;
  for (const auto& ct : out.cts) out_slots.push_back(be.decrypt(ct));
  r.outputs = output_tensors(plan, out_slots);
  r.steps_used = r.report.steps_used;
  return r;
}

/// max |a - b| / max(1, max |b|) (common/compare.h). Throws if the shapes differ.
inline double rel_error(const Tensor& a, const Tensor& b) {
  if (!(a.shape == b.shape))
    throw std::invalid_argument("rel_error: tensors of different shapes (" + std::to_string(a.data.size()) +
                                " vs " + std::to_string(b.data.size()) + " values)");
  return cryptounet::rel_error(a.data, b.data);
}

}  // namespace cryptounet::nn::testing
