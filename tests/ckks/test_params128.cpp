// The 128-bit set P1 (N = 2^14), with few operations so the suite stays fast.
#include <gtest/gtest.h>

#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {

TEST(Params128Test, P1ProductRotationHoisting) {
  const auto& tc = test_context("P1");
  EXPECT_EQ(tc.ctx->params().security(), Security::bits128);
  const auto a = random_complex(tc.slots(), 71), b = random_complex(tc.slots(), 72);
  // Client-side (secret-key) encryption, as the client does: fresh noise ~30 bits, so the bounds
  // below test the evaluator's noise with a wide margin.
  const Ciphertext ca = tc.enc_sk->encrypt(tc.encoder->encode(a, tc.max_level(), tc.scale()));
  const Ciphertext cb = tc.enc_sk->encrypt(tc.encoder->encode(b, tc.max_level(), tc.scale()));
  // Public-key encryption at N=2^14 keeps about 22 bits in the worst slot.
  EXPECT_GE(precision_stats(a, tc.decrypt(tc.encrypt(a))).min_bits, 20);
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
  EXPECT_GE(precision_stats(a, tc.decrypt(ca)).min_bits, 26);
}

}  // namespace
}  // namespace cryptounet::ckks::test
