// The evaluator from several threads at once (the pool then runs the second caller inline) and
// with a single-threaded context: results must not depend on scheduling.
#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {

TEST(ThreadsTest, ConcurrentCallersGetCorrectResults) {
  const auto& tc = test_context("logN11");
  const auto a = random_complex(tc.slots(), 81), b = random_complex(tc.slots(), 82);
  const Ciphertext ca = tc.encrypt(a), cb = tc.encrypt(b);
  std::vector<std::complex<double>> ab(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) ab[i] = a[i] * b[i];
  std::vector<Ciphertext> rot(4), prod(4);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      rot[static_cast<std::size_t>(k)] = tc.eval->rotate(ca, 1 << k);
      prod[static_cast<std::size_t>(k)] = tc.eval->rescale(tc.eval->mul_relin(ca, cb));
    });
  }
  for (auto& t : threads) t.join();
  for (int k = 0; k < 4; ++k) {
    EXPECT_GE(precision_stats(rotate_left(a, 1 << k), tc.decrypt(rot[static_cast<std::size_t>(k)])).min_bits, 20) << k;
    EXPECT_GE(precision_stats(ab, tc.decrypt(prod[static_cast<std::size_t>(k)])).min_bits, 20) << k;
  }
}

TEST(ThreadsTest, SingleThreadContextMatches) {
  const auto& tc = test_context("logN11");
  // Same parameters, one thread: keys and ciphertexts are interchangeable (same fingerprint).
  const auto ctx1 = Context::create(tc.ctx->params(), ExecOptions{1});
  EXPECT_EQ(ctx1->pool().size(), 1);
  EXPECT_EQ(ctx1->fingerprint(), tc.ctx->fingerprint());
  const Evaluator ev1(ctx1, &tc.evk);
  const auto a = random_complex(tc.slots(), 83);
  const Ciphertext ca = tc.encrypt(a);
  const Ciphertext r1 = ev1.rotate(ca, 3), r2 = tc.eval->rotate(ca, 3);
  // Key switching is deterministic: bit-identical results whatever the thread count.
  for (std::size_t p = 0; p < 2; ++p)
    EXPECT_TRUE(std::equal(r1.part(p).data(), r1.part(p).data() + r1.part(p).n() * r1.part(p).limbs(), r2.part(p).data()));
  const auto h1 = ev1.rotate_hoisted(ca, std::vector<int>{1, 2, 5});
  const auto h2 = tc.eval->rotate_hoisted(ca, std::vector<int>{1, 2, 5});
  for (std::size_t s = 0; s < 3; ++s)
    EXPECT_TRUE(std::equal(h1[s].part(1).data(), h1[s].part(1).data() + h1[s].part(1).n() * h1[s].part(1).limbs(),
                           h2[s].part(1).data()));
}

}  // namespace
}  // namespace cryptounet::ckks::test
