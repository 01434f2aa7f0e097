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

TEST(ThreadsTest, EncodeAndKeySwitchAreBitIdenticalAcrossThreadCounts) {
  // N = 2^13 (4096 slots): the encoder's FFT splits over the pool (slots >= 4096), mod_up and
  // mod_down split the centred overflow over coefficient ranges and pair the two halves.
  // Insecure test parameters.
  ParamsLiteral lit = literal_for("logN12");
  lit.log_n = 13;
  lit.dnum = 3;
  lit.log_p = {60, 60, 60};
  const Params params = Params::from_literal(lit);
  const auto ctx1 = Context::create(params, ExecOptions{1});
  const auto ctx3 = Context::create(params, ExecOptions{3});
  KeyGenerator kg(ctx1);
  const SecretKey sk = kg.secret_key();
  EvaluationKeys evk;
  evk.galois = kg.galois_keys(sk, std::vector<int>{1, 5, -7});
  const Encoder e1(ctx1), e3(ctx3);
  const auto v = random_complex(e1.slots(), 91);
  const Plaintext p1 = e1.encode(v, ctx1->max_level(), std::pow(2.0, 40));
  const Plaintext p3 = e3.encode(v, ctx1->max_level(), std::pow(2.0, 40));
  const auto same = [](const math::RnsPoly& a, const math::RnsPoly& b) {
    return a.limbs() == b.limbs() && std::equal(a.data(), a.data() + a.n() * a.limbs(), b.data());
  };
  EXPECT_TRUE(same(p1.poly(), p3.poly()));
  const Encryptor enc(ctx1, sk);
  const Ciphertext ct = enc.encrypt(p1);
  const Evaluator ev1(ctx1, &evk), ev3(ctx3, &evk);
  const std::vector<int> steps{1, 5, -7};
  const auto h1 = ev1.rotate_hoisted(ct, steps), h3 = ev3.rotate_hoisted(ct, steps);
  for (std::size_t s = 0; s < steps.size(); ++s)
    for (std::size_t p = 0; p < 2; ++p) EXPECT_TRUE(same(h1[s].part(p), h3[s].part(p))) << s << " " << p;
  const Ciphertext r1 = ev1.rotate(ct, 5), r3 = ev3.rotate(ct, 5);
  for (std::size_t p = 0; p < 2; ++p) EXPECT_TRUE(same(r1.part(p), r3.part(p)));
  // And still right: decrypts to the rotated values.
  const Decryptor dec(ctx1, sk);
  EXPECT_GE(precision_stats(rotate_left(v, 5), e1.decode(dec.decrypt(r3))).min_bits, 20);
}

}  // namespace
}  // namespace cryptounet::ckks::test
