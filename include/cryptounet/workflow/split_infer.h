// Latency mode across MPI ranks: one encrypted input, every layer split across the ranks as
// he/exec/split_plan.h says (linear layers with at least R input ciphertexts by input, with a
// reduce-scatter of partial sums; the others by output ciphertext), the ciphertexts moved with
// World::alltoall. Every rank ends with the whole output: the same ciphertexts, bit for bit, as a
// one-process run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/distributed/world.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

/// One layer's split and exchange, as this rank saw it.
struct LayerExchange {
  int node = 0;
  std::string mode;       // split_mode_name: "none", "outputs", "inputs"
  int outputs = 0;        // output ciphertexts of the layer
  int computed_here = 0;  // of which this rank holds (computed, or held by every rank)
  int inputs_here = -1;   // split by input: the input ciphertexts this rank hoisted; else -1
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  double exchange_seconds = 0;  // waiting for and moving ciphertexts (partial sums, allgathers)
  double exchange_cpu_seconds = 0;  // CPU time of this rank's thread meanwhile (serialising, polling)
};

/// Latency mode for a stream of inputs: one split (plan_split) and one pair of exchange buffers for
/// every run, so that a rank faults in the buffers' pages once and a server that keeps it computes
/// image after image on memory it already holds. Collective: every rank makes one with the same
/// model, plan and keys, and calls run() with the same inputs in the same order. Pass
/// RunOptions::encodings (the same cache on every run of this rank) to encode each rank's weight
/// plaintexts and masks once: a rank keeps only those of its share of the layers.
class SplitInference {
 public:
  SplitInference(distributed::World& world, std::shared_ptr<const ckks::Context> ctx, const Graph& graph,
                 const Plan& plan, const ckks::EvaluationKeys& keys);
  ~SplitInference();
  SplitInference(const SplitInference&) = delete;
  SplitInference& operator=(const SplitInference&) = delete;

  /// infer_encrypted (same checks) with each layer split across the ranks of `world` (see above).
  /// `exchange` (optional) gets one entry per node for this run. In a one-rank world it is
  /// infer_encrypted.
  [[nodiscard]] std::vector<ckks::Ciphertext> run(std::vector<ckks::Ciphertext> inputs, ExecReport* report = nullptr,
                                                  std::vector<LayerExchange>* exchange = nullptr,
                                                  const RunOptions& options = {});

 private:
  struct Buffers;
  distributed::World& world_;
  std::shared_ptr<const ckks::Context> ctx_;
  const Graph& graph_;
  const Plan& plan_;
  const ckks::EvaluationKeys& keys_;
  std::unique_ptr<Buffers> buffers_;
};

/// One input: SplitInference(...).run(...). Collective: every rank calls it with the same model,
/// plan, keys and input. `exchange` (optional) gets one entry per node.
[[nodiscard]] std::vector<ckks::Ciphertext> infer_encrypted_split(
    distributed::World& world, std::shared_ptr<const ckks::Context> ctx, const Graph& graph, const Plan& plan,
    const ckks::EvaluationKeys& keys, std::vector<ckks::Ciphertext> inputs, ExecReport* report = nullptr,
    std::vector<LayerExchange>* exchange = nullptr, const RunOptions& options = {});

}  // namespace cryptounet::nn
