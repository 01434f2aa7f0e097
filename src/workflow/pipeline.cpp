#include "cryptounet/workflow/pipeline.h"

#include <chrono>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/common/error.h"
#include "cryptounet/common/stopwatch.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"

namespace cryptounet::nn {

EncryptedPipeline::EncryptedPipeline(const Graph& graph, Plan plan, const ExecOptions& exec, bool allow_batch)
    : graph_(graph), plan_(std::move(plan)) {
  if (plan_.batch != 1 && !allow_batch)
    throw InvalidArgument("encrypted pipeline: the plan takes " + std::to_string(plan_.batch) +
                          " images per run; segment and evaluate run one image (latency plans)");
  ctx_ = ckks::Context::create(plan_params(plan_), exec);
  const auto t0 = std::chrono::steady_clock::now();
  ckks::KeyGenerator kg(ctx_);
  sk_ = std::make_unique<ckks::SecretKey>(kg.secret_key());
  eval_ = make_evaluation_keys(ctx_, *sk_, plan_);
  times_.keygen = seconds_since(t0);
}

EncryptedPipeline::~EncryptedPipeline() = default;

Tensor EncryptedPipeline::run(const Tensor& input, ExecReport* report, const RunOptions& options) {
  return std::move(run_batch({input}, report, options).at(0));
}

std::vector<Tensor> EncryptedPipeline::run_batch(const std::vector<Tensor>& inputs, ExecReport* report,
                                                 const RunOptions& options) {
  if (inputs.empty() || inputs.size() > static_cast<std::size_t>(plan_.batch))
    throw InvalidArgument("encrypted pipeline: " + std::to_string(inputs.size()) + " inputs for a plan of " +
                          std::to_string(plan_.batch) + " per run");
  std::vector<Tensor> batch = inputs;
  while (batch.size() < static_cast<std::size_t>(plan_.batch)) batch.emplace_back(inputs.front().shape);
  auto t0 = std::chrono::steady_clock::now();
  last_in_ = encrypt_inputs(ctx_, *sk_, plan_, batch);
  times_.encrypt = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  last_out_ = infer_encrypted(ctx_, graph_, plan_, eval_, last_in_, report, options);
  times_.infer = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<Tensor> logits = decrypt_outputs(ctx_, *sk_, plan_, last_out_);
  times_.decrypt = seconds_since(t0);
  logits.resize(inputs.size());
  return logits;
}

EvalMethod EncryptedPipeline::method() {
  return EvalMethod{"encrypted", [this](const Tensor& input) { return run(input); }};
}

}  // namespace cryptounet::nn
