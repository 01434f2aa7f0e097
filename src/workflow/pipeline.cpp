#include "cryptounet/workflow/pipeline.h"

#include <chrono>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/common/error.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"

namespace cryptounet::nn {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

EncryptedPipeline::EncryptedPipeline(const Graph& graph, Plan plan, const ExecOptions& exec)
    : graph_(graph), plan_(std::move(plan)) {
  if (plan_.batch != 1)
    throw InvalidArgument("encrypted pipeline: the plan takes " + std::to_string(plan_.batch) +
                          " images per run; segment and evaluate run one image (latency plans)");
  ctx_ = ckks::Context::create(plan_params(plan_), exec);
  const auto t0 = std::chrono::steady_clock::now();
  ckks::KeyGenerator kg(ctx_);
  sk_ = std::make_unique<ckks::SecretKey>(kg.secret_key());
  eval_ = make_evaluation_keys(ctx_, *sk_, plan_);
  times_.keygen = since(t0);
}

EncryptedPipeline::~EncryptedPipeline() = default;

Tensor EncryptedPipeline::run(const Tensor& input, ExecReport* report, const RunOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  last_in_ = encrypt_inputs(ctx_, *sk_, plan_, {input});
  times_.encrypt = since(t0);
  t0 = std::chrono::steady_clock::now();
  last_out_ = infer_encrypted(ctx_, graph_, plan_, eval_, last_in_, report, options);
  times_.infer = since(t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<Tensor> logits = decrypt_outputs(ctx_, *sk_, plan_, last_out_);
  times_.decrypt = since(t0);
  return std::move(logits.at(0));
}

EvalMethod EncryptedPipeline::method() {
  return EvalMethod{"encrypted", [this](const Tensor& input) { return run(input); }};
}

}  // namespace cryptounet::nn
