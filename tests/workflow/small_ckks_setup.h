// Shared set-up of the workflow tests that run a small model on the real CKKS engine (the split-inference
// tests, the encode cache's): a plan at INSECURE N = 2^10 (tests only), its context (one thread), a
// fresh key set and encrypted random inputs.
#pragma once

#include <memory>
#include <vector>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "he/he_test_util.h"

namespace cryptounet::nn::testing {

struct SmallCkksSetup {
  Graph g;
  Plan plan;
  std::shared_ptr<const ckks::Context> ctx;
  std::unique_ptr<ckks::EvaluationKeys> evk;
  std::vector<std::vector<ckks::Ciphertext>> inputs;  // one ciphertext set per image

  /// `o` with log_n 10 and insecure_for_tests; `images` random inputs from GraphBuilder(input_seed).
  SmallCkksSetup(Graph graph, PlanOptions o, int input_seed, int images) : g(std::move(graph)) {
    o.log_n = 10;
    o.insecure_for_tests = true;
    plan = make_plan(g, o);
    ctx = ckks::Context::create(plan_params(plan), ExecOptions{.threads = 1});
    ckks::KeyGenerator kg(ctx);
    const ckks::SecretKey sk = kg.secret_key();
    evk = std::make_unique<ckks::EvaluationKeys>(make_evaluation_keys(ctx, sk, plan));
    GraphBuilder b(input_seed);
    for (int k = 0; k < images; ++k) inputs.push_back(encrypt_inputs(ctx, sk, plan, {b.random_input(g.input_shape())}));
  }
};

/// The split-inference tests: a U-Net of the bundled brain model's shape and one encrypted input, `in`.
struct SplitInferSetup : SmallCkksSetup {
  std::vector<ckks::Ciphertext>& in;
  explicit SplitInferSetup(int input_seed)
      : SmallCkksSetup(brain_unet(7, 16, 4), PlanOptions{}, input_seed, 1), in(inputs.front()) {}
};

}  // namespace cryptounet::nn::testing
