// Encode once: with an EncodeCache (RunOptions::encodings) the first run of a plan encodes what
// the plan predicts and fills the cache; every later run (another image) encodes nothing and
// gives the same output ciphertexts, byte for byte, as a run without the cache. Small insecure
// N=2^10 (tests only); both linear strategies (diagonal weight plaintexts, masks), plaintext
// biases, a budget too small for anything, and a cache offered to another plan.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/he/backends/encode_cache.h"
#include "cryptounet/workflow/client.h"
#include "cryptounet/workflow/pipeline.h"
#include "cryptounet/workflow/plan_io.h"
#include "cryptounet/workflow/server_infer.h"
#include "he/he_test_util.h"
#include "workflow/small_ckks_setup.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;

namespace {

using Bytes = std::vector<std::uint8_t>;

PlanOptions with_strategy(StrategyChoice st) {
  PlanOptions o;
  o.strategy = st;
  return o;
}

struct CacheSetup : SmallCkksSetup {
  explicit CacheSetup(StrategyChoice st) : SmallCkksSetup(brain_unet(11, 16, 2), with_strategy(st), 5, 2) {}
  std::vector<Bytes> run(int image, EncodeCache* cache, ExecReport* report) const {
    RunOptions o;
    o.encodings = cache;
    std::vector<Bytes> out;
    for (const auto& ct : infer_encrypted(ctx, g, plan, *evk, inputs[image], report, o)) out.push_back(ckks::save(ct, *ctx));
    return out;
  }
};

OpCounts without_encodings(OpCounts c) {
  c.encodings = 0;
  return c;
}

}  // namespace

TEST(EncodeCache, SecondImageEncodesNothingAndGivesTheSameCiphertexts) {
  for (StrategyChoice st : {StrategyChoice::diagonal, StrategyChoice::masked_scalar}) {
    SCOPED_TRACE(st == StrategyChoice::diagonal ? "diagonal" : "masked_scalar");
    const CacheSetup s(st);
    ASSERT_GT(s.plan.total.encodings, 0);
    EncodeCache cache;
    for (int image = 0; image < 2; ++image) {
      SCOPED_TRACE("image " + std::to_string(image));
      ExecReport fresh_report, first, second;
      const std::vector<Bytes> fresh = s.run(image, nullptr, &fresh_report);
      EXPECT_EQ(fresh_report.total, s.plan.total);
      // Image 0 fills the cache (counts as planned), image 1 finds it full: the cache is on
      // its first use for image 0 only.
      const std::vector<Bytes> cached = s.run(image, &cache, &first);
      if (image == 0) {
        EXPECT_EQ(first.total, s.plan.total);
        EXPECT_GT(cache.size(), 0u);
        EXPECT_GT(cache.bytes(), 0.0);
        EXPECT_LE(cache.bytes(), plan_sizes(s.plan).encoded_bytes);
      } else {
        EXPECT_EQ(first.total.encodings, 0);
        EXPECT_EQ(without_encodings(first.total), without_encodings(s.plan.total));
      }
      EXPECT_EQ(cached, fresh);
      const std::vector<Bytes> again = s.run(image, &cache, &second);
      EXPECT_EQ(second.total.encodings, 0);
      EXPECT_EQ(again, fresh);
    }
  }
}

TEST(EncodeCache, ABudgetTooSmallKeepsNothingAndChangesNothing) {
  const CacheSetup s(StrategyChoice::masked_scalar);
  EncodeCache cache(1000.0);  // below one plaintext
  ExecReport fresh_report, r1, r2;
  const std::vector<Bytes> fresh = s.run(0, nullptr, &fresh_report);
  EXPECT_EQ(s.run(0, &cache, &r1), fresh);
  EXPECT_EQ(s.run(0, &cache, &r2), fresh);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(r1.total, s.plan.total);
  EXPECT_EQ(r2.total, s.plan.total);
}

TEST(EncodeCache, AnotherPlanIsRefused) {
  const CacheSetup a(StrategyChoice::masked_scalar);
  const CacheSetup b(StrategyChoice::diagonal);
  EncodeCache cache;
  (void)a.run(0, &cache, nullptr);
  EXPECT_THAT([&] { (void)b.run(0, &cache, nullptr); },
              ::testing::ThrowsMessage<InvalidArgument>(::testing::HasSubstr("another model, plan or context")));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  ExecReport r;
  (void)b.run(0, &cache, &r);
  EXPECT_EQ(r.total, b.plan.total);
}

TEST(EncodeCache, PipelineKeepsItsPlaintextsAcrossImages) {
  const Graph g = brain_unet(11, 16, 2);
  PlanOptions o;
  o.log_n = 10;
  o.insecure_for_tests = true;
  EncryptedPipeline pipe(g, make_plan(g, o), ExecOptions{.threads = 1});
  GraphBuilder b(9);
  ExecReport r1, r2;
  const Tensor x = b.random_input(g.input_shape());
  const Tensor y1 = pipe.run(x, &r1);
  const Tensor y2 = pipe.run(b.random_input(g.input_shape()), &r2);
  EXPECT_EQ(r1.total, pipe.plan().total);
  EXPECT_EQ(r2.total.encodings, 0);
  EXPECT_GT(pipe.encodings().size(), 0u);
  // Still right: against the float64 reference (bound as in test_he_ckks.cpp).
  EXPECT_LE(rel_error(y1, run_reference_all(g, x)[g.output]), 1e-3);
}
