// Latency mode across processes: which process holds and computes which ciphertext of each layer
// (a pure function of the graph, the plan and the number of processes, so every process derives
// the same split and a report can predict the exchange).
//
// Ownership is per ciphertext: every output ciphertext of a layer has one owner (or is held by
// every process, -1). A linear layer (Conv2d / ConvTranspose2d) with at least as many input
// ciphertexts as processes is split by INPUT: each process hoists the rotations of the inputs it
// owns only and multiplies them into partial sums for every output; the partial sums are then
// sent to each output's owner (a reduce-scatter), who adds them (exact modular additions of fully
// reduced residues, so in any order the same words as one process) and does the giant-step
// rotations, rescale and bias. A linear layer with fewer inputs than processes (the first layer
// of a one-ciphertext input) is split by OUTPUT: its input is first made whole on every process
// (an allgather), and output j is computed by process j mod R. Square and AvgPool follow their
// input's ownership; Add follows it when both inputs agree (otherwise both are made whole first);
// Concat joins its inputs' ownership. The graph's output is made whole on every process at the end.
#pragma once

#include <string>
#include <vector>

#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

enum class SplitMode {
  none,     // nothing split (Input; Concat, which computes nothing but level drops)
  outputs,  // each output ciphertext computed by its owner alone
  inputs,   // linear layer: each input ciphertext processed by its owner, partial sums reduced
};

[[nodiscard]] const char* split_mode_name(SplitMode m);

struct SplitLayer {
  SplitMode mode = SplitMode::none;
  /// Per output ciphertext: the process that holds it, or -1 for every process.
  std::vector<int> owner;
  /// SplitMode::inputs: per input ciphertext, the process that hoists and multiplies it.
  std::vector<int> input_owner;
  /// Nodes whose ciphertexts are made whole on every process (allgathered) before this layer runs.
  std::vector<int> whole_first;
};

struct SplitPlan {
  int ranks = 1;
  std::vector<SplitLayer> layers;  // one per graph node
  /// The owners of the graph output's ciphertexts after the last layer (made whole at the end).
  std::vector<int> output_owner;
};

/// The split of `graph` as planned by `plan` across `ranks` (>= 1) processes.
[[nodiscard]] SplitPlan plan_split(const Graph& graph, const Plan& plan, int ranks);

}  // namespace cryptounet::nn
