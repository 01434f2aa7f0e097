// The planner: from a model graph, the input size and the packing mode, everything an encrypted
// run needs decided up front: the DVR layout, level and value factor of every tensor, the CKKS
// parameters (smallest ring that fits the depth at 128 bits), the exact rotation steps (the
// client makes Galois keys for these and nothing more) and the predicted operation counts per
// layer. The Plan is a plain struct (no weights, nothing secret) meant to be serialised and
// published to clients.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cryptounet/he/op_counts.h"
#include "cryptounet/he/plan/linear.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/packing/dvr_layout.h"

namespace cryptounet::nn {

enum class StrategyChoice { automatic, diagonal, masked_scalar };
enum class TapChoice { automatic, taps_in, taps_out };

struct PlanOptions {
  packing::PackingMode mode = packing::PackingMode::latency;
  int batch = 1;              // throughput mode: images per ciphertext set (0 = all it holds)
  int mux = 1;                // throughput mode: up to mux x mux images share a row's stride cells
                              // after pooling (1 = off; dvr_layout.h "multiplexed")
  int log_n = 0;              // 0: the smallest N that is 128-bit secure and fits a plane
                              // (with insecure_for_tests: the smallest N >= 2^10 that fits one)
  bool insecure_for_tests = false;  // allow log_n < 14 / over-budget moduli (tests only)
  int log_scale = 40;         // scale primes and default scale 2^log_scale
  int log_q0 = 60;            // first prime: headroom of the final values is 2^(log_q0-log_scale)
  int log_special = 50;       // special (key-switching) primes: below 2^50, so the NTTs and base
                              // conversions of the P limbs run on the 52-bit (IFMA) kernels
  int mask_bits = 0;          // masked_scalar: masks encoded at 2^mask_bits (0 = log_scale/2 + 3)
  StrategyChoice strategy = StrategyChoice::automatic;
  TapChoice taps = TapChoice::automatic;  // where convolutions rotate (see TapSide)
  bool replicate_input = true;  // latency: the client copies a 1..R channel input into all rows
  double default_max_abs = 16.0;  // activation bound assumed where Node::max_abs is 0
  double margin = 100.0;          // new subjects may exceed training ranges by this factor
};

/// One node's decisions and predicted cost.
struct LayerPlan {
  int node = 0;
  std::string name;
  OpKind kind = OpKind::Input;
  packing::DvrLayout layout;      // of the node's output
  int level = 0;                  // of the output ciphertexts
  std::vector<double> factor;     // per output ciphertext: stored value = factor * true value
  LinearStrategy strategy = LinearStrategy::diagonal;  // linear nodes only
  TapSide taps = TapSide::taps_in;                     // Conv2d only
  OpCounts predicted;
};

struct Plan {
  // CKKS parameters, literally (ckks::ParamsLiteral fields).
  int log_n = 0;
  std::vector<int> log_q;      // q0 first
  std::vector<int> log_p;
  int log_scale = 40;
  int dnum = 0;
  bool insecure_for_tests = false;
  int mask_bits = 0;

  packing::PackingMode mode = packing::PackingMode::latency;
  int batch = 1;
  packing::Grid grid;
  int depth = 0;               // multiplicative depth of the graph
  int input_level = 0;         // = max level
  int output_node = -1;
  int output_level = 0;        // the executor drops the result to this level
  std::vector<LayerPlan> layers;  // one per graph node, same order
  std::vector<int> rotation_steps;  // normalised left-rotation steps, sorted, no 0
  OpCounts total;

  [[nodiscard]] const LayerPlan& input() const { return layers.front(); }
  [[nodiscard]] const LayerPlan& output() const { return layers.at(output_node); }
  [[nodiscard]] double log_qp() const;  // nominal, from the bit sizes
};

/// Images per stride-cell side at the deepest stride a throughput plan multiplexes: the largest
/// power of two <= options.mux and <= the graph's largest pooling stride (1 in latency mode or on
/// planes cut into bands), lowered while half of it still holds `batch` images (0: no limit). Its
/// square is the number of ciphertexts per channel at full resolution.
[[nodiscard]] int multiplex_side(const Graph& graph, const PlanOptions& options, const packing::Grid& grid,
                                 int batch);

/// Sizes implied by a plan, in bytes (full form; a seeded key or fresh ciphertext stores its
/// uniform half as a 32-byte seed, about halving these).
struct PlanSizes {
  int galois_keys = 0;             // one per rotation step
  double eval_key_bytes = 0;       // relinearisation + Galois keys
  double input_bytes = 0;          // the input ciphertexts of one run
  double output_bytes = 0;         // the output ciphertexts
  double encoded_bytes = 0;        // at most: the plaintexts one run encodes (masks, weights,
                                   // biases), which an EncodeCache keeps across runs
};
[[nodiscard]] PlanSizes plan_sizes(const Plan& plan);

/// HE-standard bound on log2(Q*P) for ternary secrets at 128 bits (0 if N is not tabulated).
[[nodiscard]] double max_log_qp_128(int log_n);

/// Plans `graph` (see the file comment). Throws Unsupported naming the node and the depth
/// overrun if no 128-bit parameters fit, InvalidArgument on bad options or an ill-formed graph.
[[nodiscard]] Plan make_plan(const Graph& graph, const PlanOptions& options);

/// Rebuilds node `n`'s linear op from the graph and plan (planner and executor share this).
[[nodiscard]] LinearOp linear_op_for(const Graph& graph, const Plan& plan, int n);

/// The planner's cost model: operation counts weighted by their measured relative times
/// (milliseconds at N=2^15, level 8, 2 threads on the project's machine; only ratios matter).
[[nodiscard]] double cost_units(const OpCounts& counts);
/// Predicted cost of one image under `plan` (its total over its batch): compares a latency plan
/// with a throughput plan for the same model.
[[nodiscard]] double predicted_cost_per_image(const Plan& plan);

/// A per-layer cost table: kind, layout, level, rotations, products, encodings.
void print_cost_table(const Plan& plan, std::ostream& os);

}  // namespace cryptounet::nn
