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

std::vector<ckks::Ciphertext> EncryptedPipeline::encrypt_batch(const std::vector<Tensor>& inputs) {
  if (inputs.empty() || inputs.size() > static_cast<std::size_t>(plan_.batch))
    throw InvalidArgument("encrypted pipeline: " + std::to_string(inputs.size()) + " inputs for a plan of " +
                          std::to_string(plan_.batch) + " per run");
  std::vector<Tensor> batch = inputs;
  while (batch.size() < static_cast<std::size_t>(plan_.batch)) batch.emplace_back(inputs.front().shape);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<ckks::Ciphertext> cts = encrypt_inputs(ctx_, *sk_, plan_, batch);
  times_.encrypt = seconds_since(t0);
  return cts;
}

std::vector<Tensor> EncryptedPipeline::decrypt_batch(const std::vector<ckks::Ciphertext>& outputs,
                                                     std::size_t count) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Tensor> logits = decrypt_outputs(ctx_, *sk_, plan_, outputs);
  times_.decrypt = seconds_since(t0);
  if (count > logits.size())
    throw InvalidArgument("encrypted pipeline: " + std::to_string(count) + " results asked of a run of " +
                          std::to_string(logits.size()));
  logits.resize(count);
  return logits;
}

std::vector<Tensor> EncryptedPipeline::run_batch(const std::vector<Tensor>& inputs, ExecReport* report,
                                                 const RunOptions& options) {
  last_in_ = encrypt_batch(inputs);
  const auto t0 = std::chrono::steady_clock::now();
  RunOptions o = options;
  if (!o.encodings) o.encodings = &encodings_;
  last_out_ = infer_encrypted(ctx_, graph_, plan_, eval_, last_in_, report, o);
  times_.infer = seconds_since(t0);
  return decrypt_batch(last_out_, inputs.size());
}

EvalMethod EncryptedPipeline::method() {
  return EvalMethod{"encrypted", [this](const Tensor& input) { return run(input); }};
}

}  // namespace cryptounet::nn
