// Latency mode across MPI ranks: one encrypted input, every layer's output ciphertexts shared out
// among the ranks (output j on rank j mod R) and allgathered after the layer, so each rank enters
// the next layer with all of them. Every rank ends with the whole output: the same ciphertexts, bit
// for bit, as a one-process run. The ranks repeat what every output needs (the hoisted rotations of
// a layer's inputs); the products, encodings and the rotations of each output are divided.
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

/// One layer's exchange, as this rank saw it.
struct LayerExchange {
  int node = 0;
  int outputs = 0;        // output ciphertexts of the layer
  int computed_here = 0;  // of which this rank computed
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  double gather_seconds = 0;  // waiting for and moving the other ranks' outputs
};

/// infer_encrypted (same checks) with each layer split across the ranks of `world` (see above).
/// Collective: every rank calls it with the same model, plan, keys and input. `exchange` (optional)
/// gets one entry per split layer. In a one-rank world it is infer_encrypted.
[[nodiscard]] std::vector<ckks::Ciphertext> infer_encrypted_split(
    distributed::World& world, std::shared_ptr<const ckks::Context> ctx, const Graph& graph, const Plan& plan,
    const ckks::EvaluationKeys& keys, std::vector<ckks::Ciphertext> inputs, ExecReport* report = nullptr,
    std::vector<LayerExchange>* exchange = nullptr, const RunOptions& options = {});

}  // namespace cryptounet::nn
