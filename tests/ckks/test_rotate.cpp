#include <gtest/gtest.h>

#include <optional>

#include "cryptounet/common/error.h"
#include "cryptounet/math/automorphism.h"
#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {
using CVec = std::vector<std::complex<double>>;

class RotateTest : public ::testing::TestWithParam<std::string> {
 protected:
  const TestContext& tc = test_context(GetParam());
};

TEST_P(RotateTest, EveryKeyedStepAndConjugation) {
  const auto a = random_complex(tc.slots(), 51);
  for (int level : {tc.max_level(), 1}) {
    const Ciphertext ca = tc.encrypt(a, level);
    for (int step : tc.steps) {
      const auto st = precision_stats(rotate_left(a, step), tc.decrypt(tc.eval->rotate(ca, step)));
      EXPECT_GE(st.min_bits, 20) << tc.name << " step " << step << " level " << level;
    }
    CVec conj(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) conj[i] = std::conj(a[i]);
    EXPECT_GE(precision_stats(conj, tc.decrypt(tc.eval->conjugate(ca))).min_bits, 20) << tc.name << " conjugate";
  }
  // Step 0 and step = slots are the identity and need no key.
  const Ciphertext ca = tc.encrypt(a);
  EXPECT_GE(precision_stats(a, tc.decrypt(tc.eval->rotate(ca, 0))).min_bits, 21);
  EXPECT_GE(precision_stats(a, tc.decrypt(tc.eval->rotate(ca, static_cast<int>(tc.slots())))).min_bits, 21);
}

TEST_P(RotateTest, ComposedRotations) {
  const auto a = random_complex(tc.slots(), 52);
  Ciphertext c = tc.encrypt(a);
  // 1 + 2 + 4 + 8 = 15 slots, then back by 16 via -16 = net -1.
  for (int s : {1, 2, 4, 8}) tc.eval->rotate_inplace(c, s);
  c = tc.eval->rotate(c, -16);
  EXPECT_GE(precision_stats(rotate_left(a, -1), tc.decrypt(c)).min_bits, 18) << tc.name;
}

TEST_P(RotateTest, HoistedEqualsOneByOne) {
  const auto a = random_complex(tc.slots(), 53);
  const Ciphertext ca = tc.encrypt(a);
  std::vector<int> steps = {1, 2, 3, 0, -1, 5, 8, 13};
  const auto hoisted = tc.eval->rotate_hoisted(ca, steps);
  ASSERT_EQ(hoisted.size(), steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto h = tc.decrypt(hoisted[i]);
    const auto o = tc.decrypt(tc.eval->rotate(ca, steps[i]));
    EXPECT_GE(precision_stats(rotate_left(a, steps[i]), h).min_bits, 20) << tc.name << " step " << steps[i];
    // Same rotation, independent key-switch noise: agree to the noise level.
    EXPECT_GE(precision_stats(o, h).min_bits, 20) << tc.name << " step " << steps[i];
  }
  // At a lower level too.
  const Ciphertext low = tc.eval->drop_level(ca, 1);
  const auto hl = tc.eval->rotate_hoisted(low, steps);
  for (std::size_t i = 0; i < steps.size(); ++i)
    EXPECT_GE(precision_stats(rotate_left(a, steps[i]), tc.decrypt(hl[i])).min_bits, 20) << "level 1 step " << steps[i];
}

// Double hoisting: the plain and the weighted sum of rotations (one ModDown for all steps)
// against the sum in the clear; the identity step included; errors before any work.
TEST_P(RotateTest, HoistedSumEqualsSumOfRotations) {
  const auto a = random_complex(tc.slots(), 56);
  const std::vector<int> steps = {1, 2, 3, 0, -1, 5, 8, 13};
  const std::vector<double> c = {0.5, -1.25, 0.75, 0.3, -0.6, 1.0, 0.125, -0.9};
  for (int level : {tc.max_level(), 1}) {
    const Ciphertext ca = tc.encrypt(a, level);
    CVec plain(a.size(), 0.0), weighted(a.size(), 0.0);
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const auto r = rotate_left(a, steps[s]);
      for (std::size_t i = 0; i < a.size(); ++i) {
        plain[i] += r[i];
        weighted[i] += c[s] * r[i];
      }
    }
    const Ciphertext sum = tc.eval->rotate_hoisted_sum(ca, steps);
    EXPECT_DOUBLE_EQ(sum.scale(), ca.scale());
    EXPECT_GE(precision_stats(plain, tc.decrypt(sum)).min_bits, 18) << tc.name << " level " << level;
    const double q_last = static_cast<double>(tc.ctx->params().q().at(level));
    Ciphertext ws = tc.eval->rotate_hoisted_sum(ca, steps, c, q_last);
    ws = tc.eval->rescale(ws);
    EXPECT_GE(precision_stats(weighted, tc.decrypt(ws)).min_bits, 17) << tc.name << " weighted, level " << level;
  }
  const Ciphertext ca = tc.encrypt(a);
  const std::vector<int> no_key = {1, 7777};
  EXPECT_THROW((void)tc.eval->rotate_hoisted_sum(ca, no_key), InvalidArgument);
  const std::vector<double> short_c = {1.0};
  EXPECT_THROW((void)tc.eval->rotate_hoisted_sum(ca, steps, short_c, 1.0), InvalidArgument);
  EXPECT_THROW((void)tc.eval->rotate_hoisted_sum(ca, {}), InvalidArgument);
}

// The output side of double hoisting: rotations of DIFFERENT ciphertexts summed with one ModDown
// (rotate_add / finish_sum) against the sum in the clear and against rotating one by one; the
// step-0 term first, in the middle, or absent; errors before any work.
TEST_P(RotateTest, RotationSumOfDifferentCiphertexts) {
  const std::vector<int> steps = {1, 0, 3, -1, 8, 13};
  for (int level : {tc.max_level(), 1}) {
    for (std::size_t zero_at : {std::size_t{0}, std::size_t{1}, steps.size()}) {
      std::vector<int> st = steps;
      if (zero_at == 0) std::swap(st[0], st[1]);
      if (zero_at == steps.size()) st[1] = 2;
      CVec plain(tc.slots(), 0.0);
      RotationSum sum;
      std::optional<Ciphertext> one_by_one;
      for (std::size_t s = 0; s < st.size(); ++s) {
        const auto a = random_complex(tc.slots(), 60 + static_cast<int>(s));
        const Ciphertext ca = tc.encrypt(a, level);
        const auto r = rotate_left(a, st[s]);
        for (std::size_t i = 0; i < r.size(); ++i) plain[i] += r[i];
        tc.eval->rotate_add(sum, ca, st[s]);
        const Ciphertext rs = tc.eval->rotate(ca, st[s]);
        if (one_by_one) tc.eval->add_inplace(*one_by_one, rs); else one_by_one = rs;
      }
      const Ciphertext got = tc.eval->finish_sum(sum);
      EXPECT_EQ(got.level(), level);
      EXPECT_EQ(sum.level, -1);  // left empty
      EXPECT_GE(precision_stats(plain, tc.decrypt(got)).min_bits, 18) << tc.name << " level " << level;
      EXPECT_GE(precision_stats(tc.decrypt(*one_by_one), tc.decrypt(got)).min_bits, 18) << tc.name << " level " << level;
    }
  }
  const Ciphertext top = tc.encrypt(random_complex(tc.slots(), 70));
  RotationSum sum;
  EXPECT_THROW(tc.eval->rotate_add(sum, top, 7777), InvalidArgument);  // no key
  EXPECT_THROW((void)tc.eval->finish_sum(sum), InvalidArgument);        // nothing added
  tc.eval->rotate_add(sum, top, 1);
  EXPECT_THROW(tc.eval->rotate_add(sum, tc.eval->drop_level(top, 1), 2), InvalidArgument);  // level
  Ciphertext scaled = top;
  scaled.set_scale(top.scale() * 2);
  EXPECT_THROW(tc.eval->rotate_add(sum, scaled, 2), InvalidArgument);  // scale
}

TEST_P(RotateTest, RotateAfterProductAndRescale) {
  const auto a = random_complex(tc.slots(), 54), b = random_complex(tc.slots(), 55);
  const Ciphertext p = tc.eval->rescale(tc.eval->mul_relin(tc.encrypt(a), tc.encrypt(b)));
  CVec ab(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) ab[i] = a[i] * b[i];
  EXPECT_GE(precision_stats(rotate_left(ab, 3), tc.decrypt(tc.eval->rotate(p, 3))).min_bits, 19) << tc.name;
}

INSTANTIATE_TEST_SUITE_P(Sets, RotateTest, ::testing::Values("logN10", "logN11", "logN12"));

}  // namespace
}  // namespace cryptounet::ckks::test
