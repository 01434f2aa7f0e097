// The encrypted executor: runs a planned graph on DVR-packed ciphertexts, layer by layer, with
// any HE backend (the slot simulator for tests and counts, the CKKS engine for real). It does
// exactly what the plan predicts: per-layer operation counts are reported and equal the plan's.
// Client-side helpers turn images into the input slot vectors and output slot vectors back
// into logits (undoing the value factors the planner folded in).
//
// The chain, with the CKKS backend (he/backends/ckks_backend.h):
//   Plan plan = make_plan(graph, PlanOptions{});                  // both sides; publishable
//   auto ctx = ckks::Context::create(ckks::Params::from_literal(params_literal(plan)), exec);
//   client: sk = KeyGenerator(ctx).secret_key(); relin key + galois_keys(sk, plan.rotation_steps)
//           cts = encrypt_inputs(ctx, sk, plan, images)        (workflow/client.h)
//   server: CkksBackend be(ctx, &eval_keys);
//           HeTensor out = run_encrypted(be, graph, plan, std::move(cts), &report);
//   client: logits = decrypt_outputs(ctx, sk, plan, out.cts)   (workflow/client.h)
// The same run on SimBackend (he/backends/sim_backend.h) uses input_slots/output_tensors directly.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/he/backends/backend.h"
#include "cryptounet/he/op_counts.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/packing/dvr_layout.h"

namespace cryptounet::nn {

class SimBackend;
class EncodeCache;

/// A tensor in flight: its layout, one ciphertext per team member, and per member the factor
/// by which stored values exceed true values.
template <class Ct>
struct HeTensor {
  packing::DvrLayout layout;
  std::vector<Ct> cts;
  std::vector<double> factor;
};

struct LayerReport {
  int node = 0;
  std::string name;
  OpKind kind = OpKind::Input;
  int level = 0;
  double seconds = 0.0;
  double cpu_seconds = 0.0;  // CPU time of the whole process (all its threads) during the layer
  double sys_seconds = 0.0;  // of which in the kernel (page faults of fresh memory, MPI copies, sleeps)
  OpCounts counts;
};

struct ExecReport {
  std::vector<LayerReport> layers;
  OpCounts total;
  double seconds = 0.0;
  std::set<int> steps_used;  // normalised rotation steps the run used (its Galois keys)
};

/// A ciphertext on its way between processes in a split run. `index`, `step`, `order` name it
/// within the node: an output ciphertext is (index, 0, 0); a linear layer's partial sum is
/// (output, output step, first input index that went into it).
struct CtParcel {
  int peer = 0;  // the destination when sent, the sender when received
  int index = 0, step = 0, order = 0;
  ckks::Ciphertext ct;
};

struct RunOptions {
  /// Called after each node with (nodes done, nodes total, node name); may print progress.
  std::function<void(int, int, const std::string&)> progress;
  /// Latency mode across processes (workflow/split_infer.h), CKKS backend only: this process is
  /// `rank` of `ranks`; ranks > 1 splits the layers as he/exec/split_plan.h says. Every process
  /// ends with the whole output, the same ciphertexts, bit for bit, as an unsplit run.
  int rank = 0, ranks = 1;
  /// Required when ranks > 1. Collective (every process calls it at the same points, for node
  /// `node`): sends each parcel to its `peer`, returns the parcels the others sent to this one.
  std::function<std::vector<CtParcel>(int node, std::vector<CtParcel> outgoing)> exchange;
  /// Encode once (he/backends/encode_cache.h): plaintexts kept across runs of this graph and
  /// plan; null: every run encodes its own. Callers that run one plan many times keep one.
  EncodeCache* encodings = nullptr;
};

/// Runs `graph` as planned on `input` (one ciphertext per member of plan.input().layout, at
/// plan.input_level). Throws InvalidArgument if the input does not match the plan, and what
/// the backend throws (missing Galois key, level/scale mismatch).
template <HeBackend Backend>
HeTensor<typename Backend::Ct> run_encrypted(Backend& backend, const Graph& graph,
                                             const Plan& plan,
                                             std::vector<typename Backend::Ct> input,
                                             ExecReport* report = nullptr,
                                             const RunOptions& options = {});

/// Client side: the slot vectors to encrypt for `images` (plan.batch images of the input
/// shape; values times the input factors), one per input team member.
[[nodiscard]] std::vector<std::vector<double>> input_slots(const Plan& plan,
                                                           const std::vector<Tensor>& images);
/// Client side: the logits of each image from the decrypted output slot vectors.
[[nodiscard]] std::vector<Tensor> output_tensors(const Plan& plan,
                                                 const std::vector<std::vector<double>>& slots);

}  // namespace cryptounet::nn
