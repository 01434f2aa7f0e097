// The 128-bit set P1 (N = 2^14), with few operations so the suite stays fast.
#include <gtest/gtest.h>

#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {

TEST(Params128Test, P1ProductRotationHoisting) {
  const auto& tc = test_context("P1");
  EXPECT_EQ(tc.ctx->params().security(), Security::bits128);
  const auto a = random_complex(tc.slots(), 71), b = random_complex(tc.slots(), 72);
  const Ciphertext ca = tc.encrypt(a), cb = tc.encrypt(b);
  std::vector<std::complex<double>> ab(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) ab[i] = a[i] * b[i];
  const Ciphertext p = tc.eval->rescale(tc.eval->mul_relin(ca, cb));
  const auto st = precision_stats(ab, tc.decrypt(p));
  EXPECT_GE(st.min_bits, 20) << "min " << st.min_bits << " median " << st.median_bits;
  EXPECT_GE(precision_stats(rotate_left(ab, 1), tc.decrypt(tc.eval->rotate(p, 1))).min_bits, 20);
  const std::vector<int> steps = {1, 2, 3, 5};
  const auto h = tc.eval->rotate_hoisted(ca, steps);
  for (std::size_t i = 0; i < steps.size(); ++i)
    EXPECT_GE(precision_stats(rotate_left(a, steps[i]), tc.decrypt(h[i])).min_bits, 20) << "step " << steps[i];
  const auto sk_ct = tc.enc_sk->encrypt(tc.encoder->encode(a, tc.max_level(), tc.scale()));
  EXPECT_GE(precision_stats(a, tc.decrypt(sk_ct)).min_bits, 24);
}

}  // namespace
}  // namespace cryptounet::ckks::test
