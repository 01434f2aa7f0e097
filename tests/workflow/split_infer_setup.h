// Shared set-up of the split-inference tests (test_split_infer.cpp, test_split_infer_keys.cpp): a U-Net
// of the bundled brain model's shape planned at INSECURE N = 2^10, its context (one thread), a fresh
// key set and one encrypted random input.
#pragma once

#include <memory>
#include <vector>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "he/he_test_util.h"

namespace cryptounet::nn::testing {

struct SplitInferSetup {
  Graph g = brain_unet(7, 16, 4);
  Plan plan;
  std::shared_ptr<const ckks::Context> ctx;
  std::unique_ptr<ckks::EvaluationKeys> evk;
  std::vector<ckks::Ciphertext> in;
  /// input_seed: GraphBuilder's seed for the random input image.
  explicit SplitInferSetup(int input_seed) {
    PlanOptions o;
    o.log_n = 10;
    o.insecure_for_tests = true;
    plan = make_plan(g, o);
    ctx = ckks::Context::create(plan_params(plan), ExecOptions{.threads = 1});
    ckks::KeyGenerator kg(ctx);
    const ckks::SecretKey sk = kg.secret_key();
    evk = std::make_unique<ckks::EvaluationKeys>(make_evaluation_keys(ctx, sk, plan));
    GraphBuilder b(input_seed);
    in = encrypt_inputs(ctx, sk, plan, {b.random_input(g.input_shape())});
  }
};

}  // namespace cryptounet::nn::testing
