// Latency mode across processes: which process holds and computes which ciphertext of each layer
// (a pure function of the graph, the plan and the number of processes, so every process derives
// the same split and a report can predict the exchange).
//
// Ownership is per ciphertext: every output ciphertext of a layer has one owner (or is held by
// every process, -1). A linear layer (Conv2d / ConvTranspose2d) with at least twice as many input
// ciphertexts as processes is split by INPUT: each process hoists the rotations of the inputs it
// owns only and multiplies them into partial sums for every output; the partial sums are then
// sent to each output's owner (a reduce-scatter), who adds them (exact modular additions of fully
// reduced residues, so in any order the same words as one process) and does the giant-step
// rotations, rescale and bias. A linear layer with fewer inputs (the first layer of a
// one-ciphertext input; at 2 processes also one of two or three inputs, where a split by input
// leaves every process encoding every mask of the layer) is split by ROTATION STEP: its input is
// first made whole on every process (an allgather), each input rotation step of its terms
// (LinearTerm::in_step) is given to one process (balanced by estimated cost: assign_steps), which
// rotates every input by its steps only (one hoisted decomposition per input on every process,
// the key switches divided) and multiplies them (so the masks of a step are encoded by its
// process only) into partial sums for every output, reduced as in the split by input; output j is
// owned by process j mod R. (SplitMode::outputs for a linear layer: one process.) Square and
// AvgPool follow their input's ownership; Add follows it when both inputs agree (otherwise both
// are made whole first); Concat joins its inputs' ownership. The graph's output is made whole on
// every process at the end.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cryptounet/he/plan/linear.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

enum class SplitMode {
  none,     // nothing split (Input; Concat, which computes nothing but level drops)
  outputs,  // each output ciphertext computed by its owner alone
  inputs,   // linear layer: each input ciphertext processed by its owner, partial sums reduced
  steps,    // linear layer: each input rotation step processed by its owner, partial sums reduced
};

[[nodiscard]] const char* split_mode_name(SplitMode m);

struct SplitLayer {
  SplitMode mode = SplitMode::none;
  /// Per output ciphertext: the process that holds it, or -1 for every process.
  std::vector<int> owner;
  /// SplitMode::inputs: per input ciphertext, the process that hoists and multiplies it.
  std::vector<int> input_owner;
  /// SplitMode::steps: per input rotation step of the layer's terms, the process that rotates every
  /// input by it and forms its products.
  std::map<int, int> step_owner;
  /// Nodes whose ciphertexts are made whole on every process (allgathered) before this layer runs.
  std::vector<int> whole_first;
};

struct SplitPlan {
  int ranks = 1;
  std::vector<SplitLayer> layers;  // one per graph node
  /// The owners of the graph output's ciphertexts after the last layer (made whole at the end).
  std::vector<int> output_owner;
};

/// SplitMode::steps: gives each input rotation step of `op` to one of `ranks` processes, the
/// costliest first, each to the process with the least estimated work so far (every process
/// starting with the giant-step rotations of the outputs `owner` gives it). A step's estimated
/// cost: one key switch per input it rotates (none for step 0), a mask encoding and a product per
/// distinct mask it multiplies, a const product per row. Deterministic (every process derives it).
[[nodiscard]] std::map<int, int> assign_steps(const LinearOp& op, const std::vector<int>& owner, int ranks);

/// The split of `graph` as planned by `plan` across `ranks` (>= 1) processes.
[[nodiscard]] SplitPlan plan_split(const Graph& graph, const Plan& plan, int ranks);

}  // namespace cryptounet::nn
