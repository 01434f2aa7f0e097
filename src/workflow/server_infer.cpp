#include "cryptounet/workflow/server_infer.h"

#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/math/automorphism.h"

namespace cryptounet::nn {

void check_evaluation_keys(const ckks::Context& ctx, const Plan& plan, const ckks::EvaluationKeys& keys) {
  if (plan.total.relins > 0 && keys.relin.empty())
    throw InvalidArgument("evaluation keys: no relinearisation key, and the plan squares " +
                          std::to_string(plan.total.relins) + " times");
  int missing = 0;
  int first = 0;
  for (int step : plan.rotation_steps) {
    if (keys.galois.find(math::galois_element_for_step(ctx.n(), step)) == nullptr) {
      if (missing++ == 0) first = step;
    }
  }
  if (missing > 0)
    throw InvalidArgument("evaluation keys: no Galois key for rotation step " + std::to_string(first) +
                          (missing > 1 ? " (and " + std::to_string(missing - 1) + " more)" : "") + " of the " +
                          std::to_string(plan.rotation_steps.size()) +
                          " steps the plan needs; make the keys with `cryptounet keygen` for this plan");
}

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
