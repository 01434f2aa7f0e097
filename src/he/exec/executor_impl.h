// Backend-generic implementation of the encrypted executor (internal). The backend is any
// HeBackend (he/backends/backend.h: SimBackend, CkksBackend, TimedBackend); each node runs
// through its layer (he/layers/<op>.h, dispatched by run_layer) in a LayerEnv, whose
// CountingBackend is the one place operations are counted. Included only by the files that
// instantiate it (executor_sim.cpp, executor_ckks.cpp, executor_timed.cpp).
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cryptounet/common/error.h"
#include "cryptounet/common/stopwatch.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/exec/split_plan.h"
#include "cryptounet/he/plan/planner.h"
#include "he/layers/layers.h"

namespace cryptounet::nn::detail {

/// CPU seconds of the whole process so far (every thread): per layer, comparable under load.
inline double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// System CPU seconds of the whole process so far (the kernel's share of process_cpu_seconds).
inline double process_sys_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_stime.tv_usec);
}

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
    env_.cache = options.encodings;
    if (env_.cache) env_.cache->bind(&graph, &plan, env_.be.slots(), env_.be.default_scale());
    const int nn = static_cast<int>(graph.nodes.size());
    std::vector<std::optional<Tensor_>> values(nn);
    std::vector<int> uses(nn, 0);
    for (const Node& n : graph.nodes)
      for (int i : n.inputs) ++uses[i];
    ++uses[graph.output];
    const Stopwatch all;
    // Split runs (RunOptions::ranks > 1): who holds which ciphertext, per he/exec/split_plan.h.
    SplitPlan split;
    std::vector<std::vector<int>> own(nn);  // current owners of each node's ciphertexts (-1: all)
    const bool splitting = options.ranks > 1;
    if (splitting) {
      if constexpr (!std::is_same_v<Ct, ckks::Ciphertext>)
        throw Unsupported("run_encrypted: split runs (RunOptions::ranks > 1) need the CKKS backend");
      if (!options.exchange) throw InvalidArgument("run_encrypted: RunOptions::ranks > 1 without exchange");
      if (options.rank < 0 || options.rank >= options.ranks)
        throw InvalidArgument("run_encrypted: rank " + std::to_string(options.rank) + " of " +
                              std::to_string(options.ranks));
      split = plan_split(graph, plan, options.ranks);
      env_.rank = options.rank;
      env_.reduce = [&](int n, std::map<std::pair<int, int>, Ct>& acc, const std::map<std::pair<int, int>, int>& first) {
        reduce(n, split.layers[n], acc, first, options);
      };
    }
    for (int n = 0; n < nn; ++n) {
      const Node& node = graph.nodes[n];
      const LayerPlan& lp = plan.layers[n];
      const OpCounts before = env_.be.counts();
      const Stopwatch clock;
      const double cpu0 = report ? process_cpu_seconds() : 0.0;
      const double sys0 = report ? process_sys_seconds() : 0.0;
      Tensor_ out;
      if (splitting) {
        for (int m : split.layers[n].whole_first) make_whole(n, values[m]->cts, own[m], options);
        env_.split = &split.layers[n];
      }
      if (node.kind == OpKind::Input) {
        out = input_tensor(std::move(input));
      } else {
        std::vector<const Tensor_*> ins;
        for (int i : node.inputs) ins.push_back(&*values[i]);
        out = run_layer(env_, n, ins);
      }
      env_.split = nullptr;
      if (splitting) own[n] = split.layers[n].owner;
      if (splitting && n == graph.output) make_whole(n, out.cts, own[n], options);
      out.layout = lp.layout;
      out.factor = lp.factor;
      for (std::size_t k = 0; k < out.cts.size(); ++k)
        if (held(own[n], k, options) && B::level(out.cts[k]) != lp.level)
          throw InvalidArgument("run_encrypted: node '" + node.name + "' produced level " +
                                std::to_string(B::level(out.cts[k])) + ", plan says " + std::to_string(lp.level));
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
        r.cpu_seconds = process_cpu_seconds() - cpu0;
        r.sys_seconds = process_sys_seconds() - sys0;
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
  static bool held(const std::vector<int>& owners, std::size_t k, const RunOptions& options) {
    return k >= owners.size() || owners[k] < 0 || owners[k] == options.rank;
  }

  // Split runs: every ciphertext of `cts` (owners `owners`) onto every process; owners become -1.
  void make_whole(int n, std::vector<Ct>& cts, std::vector<int>& owners, const RunOptions& options) {
    if constexpr (std::is_same_v<Ct, ckks::Ciphertext>) {
      std::vector<CtParcel> out;
      for (std::size_t k = 0; k < owners.size(); ++k)
        if (owners[k] == options.rank)
          for (int r = 0; r < options.ranks; ++r)
            if (r != options.rank) out.push_back(CtParcel{r, static_cast<int>(k), 0, 0, cts[k]});
      for (CtParcel& p : options.exchange(n, std::move(out))) {
        if (p.index < 0 || static_cast<std::size_t>(p.index) >= owners.size() || owners[p.index] != p.peer)
          throw FormatError("run_encrypted: node " + std::to_string(n) + ": process " + std::to_string(p.peer) +
                            " sent ciphertext " + std::to_string(p.index) + ", which is not its own");
        cts[p.index] = std::move(p.ct);
      }
      std::fill(owners.begin(), owners.end(), -1);
    }
  }

  // Split by input: sends this process's partial sums of other processes' outputs to their owners
  // and adds the ones it receives into its own. The sums are fully reduced residues, so the
  // additions give the one-process words in any order; the sum keeps the scale of the partial
  // with the first input (as the one-process accumulator does).
  void reduce(int n, const SplitLayer& layer, std::map<std::pair<int, int>, Ct>& acc,
              const std::map<std::pair<int, int>, int>& first, const RunOptions& options) {
    if constexpr (std::is_same_v<Ct, ckks::Ciphertext>) {
      std::vector<CtParcel> out;
      std::map<std::pair<int, int>, std::vector<std::pair<int, Ct>>> parts;
      for (auto& [key, ct] : acc) {
        const int owner = layer.owner.at(static_cast<std::size_t>(key.first));
        const int order = first.at(key);
        if (owner == options.rank)
          parts[key].emplace_back(order, std::move(ct));
        else
          out.push_back(CtParcel{owner, key.first, key.second, order, std::move(ct)});
      }
      acc.clear();
      for (CtParcel& p : options.exchange(n, std::move(out))) {
        if (p.index < 0 || static_cast<std::size_t>(p.index) >= layer.owner.size() ||
            layer.owner[p.index] != options.rank)
          throw FormatError("run_encrypted: node " + std::to_string(n) + ": process " + std::to_string(p.peer) +
                            " sent a partial sum of output " + std::to_string(p.index) + ", not this process's");
        parts[{p.index, p.step}].emplace_back(p.order, std::move(p.ct));
      }
      for (auto& [key, list] : parts) {
        std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        Ct sum = std::move(list[0].second);
        for (std::size_t k = 1; k < list.size(); ++k) env_.add(sum, list[k].second);
        acc.emplace(key, std::move(sum));
      }
    } else {
      (void)n, (void)layer, (void)acc, (void)first, (void)options;
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
