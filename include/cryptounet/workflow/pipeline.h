// The whole client/server chain in one process, for `cryptounet segment` and `cryptounet
// evaluate`: keys made once for the plan, then per input tensor encrypt -> infer -> decrypt,
// each phase timed. The server half sees only the evaluation keys and ciphertexts, exactly as
// over the wire; the split is kept so the timings mean what they say.
#pragma once

#include <memory>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/he/backends/encode_cache.h"
#include "cryptounet/he/exec/executor.h"
#include "cryptounet/he/plan/planner.h"
#include "cryptounet/math/parallel.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/workflow/evaluate.h"

namespace cryptounet::nn {

struct PipelineTimes {
  double keygen = 0;   // secret + relinearisation + Galois keys (once)
  double encrypt = 0;  // last run: packing, encoding, encryption
  double infer = 0;    // last run: the server's work
  double decrypt = 0;  // last run: decryption, decoding, unpacking
};

class EncryptedPipeline {
 public:
  /// Builds the CKKS context for `plan` and makes the keys. Throws what plan_params throws.
  /// Latency plans (batch 1) unless `allow_batch`: run() is the per-image method.
  EncryptedPipeline(const Graph& graph, Plan plan, const ExecOptions& exec = {}, bool allow_batch = false);
  ~EncryptedPipeline();
  EncryptedPipeline(const EncryptedPipeline&) = delete;
  EncryptedPipeline& operator=(const EncryptedPipeline&) = delete;

  /// Logits of one input (latency plans) through the encrypted chain.
  [[nodiscard]] Tensor run(const Tensor& input, ExecReport* report = nullptr,
                           const RunOptions& options = {});
  /// Logits of 1..plan.batch inputs in one encrypted run (throughput plans put one image per
  /// row; a short batch is padded with zero images whose results are dropped).
  /// @throws InvalidArgument on an empty or too large batch.
  [[nodiscard]] std::vector<Tensor> run_batch(const std::vector<Tensor>& inputs, ExecReport* report = nullptr,
                                              const RunOptions& options = {});

  /// run_batch's client halves, for callers that infer elsewhere (the MPI volume mode: rank 0
  /// encrypts and decrypts, any rank infers with context() and evaluation_keys()).
  /// run_batch(in) == decrypt_batch(infer_encrypted(..., encrypt_batch(in)), in.size()).
  /// encrypt_batch pads a short batch with zero images; decrypt_batch keeps the first `count`.
  [[nodiscard]] std::vector<ckks::Ciphertext> encrypt_batch(const std::vector<Tensor>& inputs);
  [[nodiscard]] std::vector<Tensor> decrypt_batch(const std::vector<ckks::Ciphertext>& outputs, std::size_t count);

  [[nodiscard]] const PipelineTimes& times() const { return times_; }
  [[nodiscard]] const Plan& plan() const { return plan_; }
  [[nodiscard]] std::shared_ptr<const ckks::Context> context() const { return ctx_; }
  [[nodiscard]] const ckks::EvaluationKeys& evaluation_keys() const { return eval_; }
  /// The input ciphertexts of the last run (for size reports).
  [[nodiscard]] const std::vector<ckks::Ciphertext>& last_inputs() const { return last_in_; }
  [[nodiscard]] const std::vector<ckks::Ciphertext>& last_outputs() const { return last_out_; }

  /// The plaintexts (masks, weights) encoded once for all runs of this pipeline; run_batch uses
  /// it unless RunOptions::encodings names another. Callers that infer elsewhere pass it too.
  [[nodiscard]] EncodeCache& encodings() { return encodings_; }

  /// This pipeline as an evaluation method named "encrypted" (it must outlive the method).
  [[nodiscard]] EvalMethod method();

 private:
  const Graph& graph_;
  Plan plan_;
  std::shared_ptr<const ckks::Context> ctx_;
  std::unique_ptr<ckks::SecretKey> sk_;
  ckks::EvaluationKeys eval_;
  PipelineTimes times_;
  std::vector<ckks::Ciphertext> last_in_, last_out_;
  EncodeCache encodings_;
};

}  // namespace cryptounet::nn
