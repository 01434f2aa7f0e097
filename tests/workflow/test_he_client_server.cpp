// Client (workflow/client.h) and server (workflow/server_infer.h) halves on the real CKKS engine (small insecure N): the committed PyTorch
// fixture and a random U-Net-like graph agree with the float64 reference within 1e-3 of the
// largest |logit|, the operation counts done equal the plan's, and the server side refuses keys
// that lack a rotation the plan needs.
#include <gtest/gtest.h>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/common/compare.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/pipeline.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;

namespace {

double max_abs(const Tensor& t) { return cryptounet::max_abs(t.data); }
double max_diff(const Tensor& a, const Tensor& b) { return max_abs_diff(a.data, b.data); }

void expect_counts_match(const Plan& plan, const ExecReport& rep) {
  EXPECT_EQ(rep.total, plan.total);
  ASSERT_EQ(rep.layers.size(), plan.layers.size());
  for (std::size_t i = 0; i < plan.layers.size(); ++i)
    EXPECT_EQ(rep.layers[i].counts, plan.layers[i].predicted) << plan.layers[i].name;
}

}  // namespace

TEST(HeClientServer, PytorchFixtureMatchesReference) {
  const Graph g = load_model(std::string(CU_SOURCE_DIR) + "/tests/fixtures/random_ops.onnx");
  PlanOptions o;
  o.log_n = 11;
  o.insecure_for_tests = true;
  const Plan plan = make_plan(g, o);
  EncryptedPipeline pipe(g, plan, ExecOptions{.threads = 2});
  GraphBuilder rnd(3);
  const Tensor in = rnd.random_input(g.input_shape());
  ExecReport rep;
  const Tensor got = pipe.run(in, &rep);
  const Tensor want = run_reference(g, in);
  ASSERT_EQ(got.shape, want.shape);
  EXPECT_LE(max_diff(got, want), 1e-3 * max_abs(want));
  expect_counts_match(plan, rep);
}

TEST(HeClientServer, RandomUnetBothModes) {
  GraphBuilder b(11);
  int x = b.input(1, 8, 8);
  int e = b.square(b.conv(x, 3, 3));
  int p = b.pool(e);
  int m = b.square(b.conv(p, 4, 3));
  int u = b.conv_t(m, 3);
  int c = b.concat(e, u);
  int y = b.conv(c, 2, 1);
  const Graph g = b.finish(y);
  for (auto mode : {packing::PackingMode::latency, packing::PackingMode::throughput}) {
    PlanOptions o;
    o.mode = mode;
    o.batch = 2;
    o.log_n = 10;
    o.insecure_for_tests = true;
    const Plan plan = make_plan(g, o);
    auto ctx = ckks::Context::create(plan_params(plan), ExecOptions{.threads = 1});
    ckks::KeyGenerator kg(ctx);
    const ckks::SecretKey sk = kg.secret_key();
    const ckks::EvaluationKeys evk = make_evaluation_keys(ctx, sk, plan);
    std::vector<Tensor> ins;
    for (int i = 0; i < plan.batch; ++i) ins.push_back(b.random_input(g.input_shape()));
    ExecReport rep;
    auto out = infer_encrypted(ctx, g, plan, evk, encrypt_inputs(ctx, sk, plan, ins), &rep);
    const auto logits = decrypt_outputs(ctx, sk, plan, out);
    ASSERT_EQ(logits.size(), ins.size());
    for (std::size_t i = 0; i < ins.size(); ++i) {
      const Tensor want = run_reference(g, ins[i]);
      EXPECT_LE(max_diff(logits[i], want), 1e-3 * max_abs(want)) << packing::mode_name(mode) << " image " << i;
    }
    expect_counts_match(plan, rep);
  }
}

TEST(HeClientServer, KeysMissingARotationAreRefused) {
  GraphBuilder b(5);
  int x = b.input(1, 8, 8);
  const Graph g = b.finish(b.conv(b.square(b.conv(x, 2, 3)), 2, 3));
  PlanOptions o;
  o.log_n = 10;
  o.insecure_for_tests = true;
  Plan plan = make_plan(g, o);
  ASSERT_GE(plan.rotation_steps.size(), 2u);
  auto ctx = ckks::Context::create(plan_params(plan), ExecOptions{.threads = 1});
  ckks::KeyGenerator kg(ctx);
  const ckks::SecretKey sk = kg.secret_key();
  Plan fewer = plan;
  fewer.rotation_steps.pop_back();
  const ckks::EvaluationKeys evk = make_evaluation_keys(ctx, sk, fewer);
  const auto in = encrypt_inputs(ctx, sk, plan, {b.random_input(g.input_shape())});
  try {
    (void)infer_encrypted(ctx, g, plan, evk, in);
    FAIL() << "keys without a rotation were accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("rotation step " + std::to_string(plan.rotation_steps.back())),
              std::string::npos)
        << e.what();
  }
  // Wrong number of inputs, and inputs at the wrong level.
  EXPECT_THROW((void)infer_encrypted(ctx, g, plan, make_evaluation_keys(ctx, sk, plan), {}), InvalidArgument);
}
