// Backend-generic implementation of the encrypted executor (internal). The backend is any
// HeBackend (he/backends/backend.h: SimBackend, CkksBackend, TimedBackend); each node runs
// through its layer (he/layers/<op>.h, dispatched by run_layer) in a LayerEnv, whose
// CountingBackend is the one place operations are counted. Included only by the files that
// instantiate it (executor_sim.cpp, executor_ckks.cpp, executor_timed.cpp).
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cryptounet/common/error.h"
#include "cryptounet/common/stopwatch.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "he/layers/layers.h"

namespace cryptounet::nn::detail {

/// Throws InvalidArgument unless `plan` was made for `graph` (same nodes, layouts that fit).
void check_plan_fits(const Graph& graph, const Plan& plan);

template <HeBackend B>
class HeRunner {
 public:
  using Ct = typename B::Ct;
  using Tensor_ = HeTensor<Ct>;

  HeRunner(B& be, const Graph& graph, const Plan& plan) : env_(be, graph, plan) {}

  Tensor_ run(std::vector<Ct> input, ExecReport* report, const RunOptions& options) {
    const Graph& graph = env_.graph;
    const Plan& plan = env_.plan;
    check_plan_fits(graph, plan);
    if (env_.be.slots() != plan.grid.slots)
      throw InvalidArgument("run_encrypted: backend has " + std::to_string(env_.be.slots()) +
                            " slots, the plan " + std::to_string(plan.grid.slots));
    const int nn = static_cast<int>(graph.nodes.size());
    std::vector<std::optional<Tensor_>> values(nn);
    std::vector<int> uses(nn, 0);
    for (const Node& n : graph.nodes)
      for (int i : n.inputs) ++uses[i];
    ++uses[graph.output];
    const Stopwatch all;
    for (int n = 0; n < nn; ++n) {
      const Node& node = graph.nodes[n];
      const LayerPlan& lp = plan.layers[n];
      const OpCounts before = env_.be.counts();
      const Stopwatch clock;
      Tensor_ out;
      // Split runs: every node but Input and Concat (which compute nothing) is split.
      const bool split = options.computes && node.kind != OpKind::Input && node.kind != OpKind::Concat;
      env_.computes = split ? &options.computes : nullptr;
      if (node.kind == OpKind::Input) {
        out = input_tensor(std::move(input));
      } else {
        std::vector<const Tensor_*> ins;
        for (int i : node.inputs) ins.push_back(&*values[i]);
        out = run_layer(env_, n, ins);
      }
      if (split) gather(n, out.cts, options);
      out.layout = lp.layout;
      out.factor = lp.factor;
      for (const Ct& ct : out.cts)
        if (B::level(ct) != lp.level)
          throw InvalidArgument("run_encrypted: node '" + node.name + "' produced level " +
                                std::to_string(B::level(ct)) + ", plan says " + std::to_string(lp.level));
      values[n] = std::move(out);
      for (int i : node.inputs)
        if (--uses[i] == 0) values[i].reset();
      if (report) {
        LayerReport r;
        r.node = n;
        r.name = node.name;
        r.kind = node.kind;
        r.level = lp.level;
        r.seconds = clock.seconds();
        r.counts = env_.be.counts() - before;
        report->layers.push_back(r);
        report->total += r.counts;
      }
      if (options.progress) options.progress(n + 1, nn, node.name);
    }
    if (report) {
      report->seconds = all.seconds();
      report->steps_used = env_.be.steps_used();
    }
    return std::move(*values[graph.output]);
  }

 private:
  void gather(int n, std::vector<Ct>& cts, const RunOptions& options) {
    if constexpr (std::is_same_v<Ct, ckks::Ciphertext>) {
      if (!options.gather) throw InvalidArgument("run_encrypted: RunOptions::computes without gather");
      options.gather(n, cts);
    } else {
      throw Unsupported("run_encrypted: split runs (RunOptions::computes) need the CKKS backend");
    }
  }

  Tensor_ input_tensor(std::vector<Ct> input) {
    const Plan& plan = env_.plan;
    const LayerPlan& lp = plan.layers[0];
    if (static_cast<int>(input.size()) != lp.layout.team_size())
      throw InvalidArgument("run_encrypted: " + std::to_string(input.size()) +
                            " input ciphertexts, the plan's input layout needs " +
                            std::to_string(lp.layout.team_size()) + " (" + lp.layout.describe() + ")");
    for (const Ct& ct : input)
      if (B::level(ct) != plan.input_level)
        throw InvalidArgument("run_encrypted: input ciphertext at level " + std::to_string(B::level(ct)) +
                              ", the plan needs " + std::to_string(plan.input_level));
    Tensor_ t;
    t.cts = std::move(input);
    return t;
  }

  LayerEnv<B> env_;
};

}  // namespace cryptounet::nn::detail

namespace cryptounet::nn {

template <HeBackend Backend>
HeTensor<typename Backend::Ct> run_encrypted(Backend& backend, const Graph& graph,
                                             const Plan& plan,
                                             std::vector<typename Backend::Ct> input,
                                             ExecReport* report, const RunOptions& options) {
  detail::HeRunner<Backend> runner(backend, graph, plan);
  return runner.run(std::move(input), report, options);
}

}  // namespace cryptounet::nn
