#include "cryptounet/ckks/encoder.h"

#include <gtest/gtest.h>

#include "cryptounet/common/error.h"
#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {

class EncoderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EncoderTest, RoundTripComplexAndReal) {
  const auto& tc = test_context(GetParam());
  const auto v = random_complex(tc.slots(), 11);
  for (int level : {0, tc.max_level() / 2, tc.max_level()}) {
    const Plaintext pt = tc.encoder->encode(v, level, tc.scale());
    EXPECT_EQ(pt.level(), level);
    const auto st = precision_stats(v, tc.encoder->decode(pt));
    EXPECT_GE(st.min_bits, 28) << tc.name << " level " << level;
  }
  std::vector<double> r(tc.slots() / 3);
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = std::sin(static_cast<double>(i));
  const auto back = tc.encoder->decode_real(tc.encoder->encode(r, tc.max_level(), tc.scale()));
  ASSERT_EQ(back.size(), tc.slots());
  std::vector<double> padded(tc.slots(), 0.0);
  std::copy(r.begin(), r.end(), padded.begin());
  EXPECT_GE(precision_stats(padded, back).min_bits, 28);
}

TEST_P(EncoderTest, LargeScalesAndValues) {
  const auto& tc = test_context(GetParam());
  // Scale 2^80 with values up to 2^20: coefficients beyond 2^64 (128-bit path), and decoding
  // needs three or more limbs (multi-word CRT).
  const auto v = random_complex(tc.slots(), 12, 1 << 20);
  const Plaintext pt = tc.encoder->encode(v, tc.max_level(), std::ldexp(1.0, 80));
  const auto st = precision_stats(v, tc.encoder->decode(pt));
  EXPECT_GE(st.min_bits, 20) << tc.name;
}

TEST_P(EncoderTest, RejectsBadInput) {
  const auto& tc = test_context(GetParam());
  std::vector<double> too_many(tc.slots() + 1, 0.0);
  EXPECT_THROW((void)tc.encoder->encode(too_many, 0, tc.scale()), InvalidArgument);
  std::vector<double> ok(4, 1.0);
  EXPECT_THROW((void)tc.encoder->encode(ok, tc.max_level() + 1, tc.scale()), InvalidArgument);
  EXPECT_THROW((void)tc.encoder->encode(ok, -1, tc.scale()), InvalidArgument);
  EXPECT_THROW((void)tc.encoder->encode(ok, 0, 0.0), InvalidArgument);
  std::vector<double> nan = {std::nan("")};
  EXPECT_THROW((void)tc.encoder->encode(nan, 0, tc.scale()), InvalidArgument);
  EXPECT_THROW((void)tc.encoder->decode(Plaintext()), InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Sets, EncoderTest, ::testing::Values("logN10", "logN12"));

}  // namespace
}  // namespace cryptounet::ckks::test
