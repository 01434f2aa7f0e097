// The server side of an encrypted run: the model in plaintext, the plan, the client's public
// evaluation keys and its input ciphertexts in; output ciphertexts out. No secret key anywhere.
#pragma once

#include <memory>
#include <vector>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

/// Checks that `keys` can run `plan`: a relinearisation key if the plan squares, and a Galois
/// key for every rotation step of the plan. Throws InvalidArgument naming the first missing
/// step and how many are missing.
void check_evaluation_keys(const ckks::Context& ctx, const Plan& plan, const ckks::EvaluationKeys& keys);

/// Checks the keys against the plan (check_evaluation_keys), the inputs against the plan (count,
/// level, size 2, parameters), then runs the graph on the CKKS engine. `report` (optional) gets
/// per-layer wall time and the operation counts done. Throws InvalidArgument on any mismatch.
[[nodiscard]] std::vector<ckks::Ciphertext> infer_encrypted(std::shared_ptr<const ckks::Context> ctx,
                                                            const Graph& graph, const Plan& plan,
                                                            const ckks::EvaluationKeys& keys,
                                                            std::vector<ckks::Ciphertext> inputs,
                                                            ExecReport* report = nullptr,
                                                            const RunOptions& options = {});

}  // namespace cryptounet::nn
