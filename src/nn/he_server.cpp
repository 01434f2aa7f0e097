#include "cryptounet/nn/he_server.h"

#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/nn/he_ckks_backend.h"

namespace cryptounet::nn {

std::vector<ckks::Ciphertext> infer_encrypted(std::shared_ptr<const ckks::Context> ctx, const Graph& graph,
                                              const Plan& plan, const ckks::EvaluationKeys& keys,
                                              std::vector<ckks::Ciphertext> inputs, ExecReport* report,
                                              const RunOptions& options) {
  if (static_cast<int>(ctx->n()) != (1 << plan.log_n))
    throw InvalidArgument("infer: context N=" + std::to_string(ctx->n()) + ", the plan N=2^" +
                          std::to_string(plan.log_n));
  check_evaluation_keys(*ctx, plan, keys);
  const int team = plan.input().layout.team_size();
  if (static_cast<int>(inputs.size()) != team)
    throw InvalidArgument("infer: " + std::to_string(inputs.size()) + " input ciphertexts, the plan needs " +
                          std::to_string(team));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const ckks::Ciphertext& ct = inputs[i];
    if (ct.fingerprint() != ctx->fingerprint())
      throw InvalidArgument("infer: input ciphertext " + std::to_string(i) + " belongs to other CKKS parameters");
    if (ct.size() != 2 || ct.level() != plan.input_level)
      throw InvalidArgument("infer: input ciphertext " + std::to_string(i) + " has " + std::to_string(ct.size()) +
                            " parts at level " + std::to_string(ct.level()) + ", the plan needs 2 at level " +
                            std::to_string(plan.input_level));
  }
  CkksBackend backend(ctx, &keys);
  HeTensor<ckks::Ciphertext> out = run_encrypted(backend, graph, plan, std::move(inputs), report, options);
  return std::move(out.cts);
}

}  // namespace cryptounet::nn
