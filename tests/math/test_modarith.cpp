#include "cryptounet/math/modarith.h"

#include <gtest/gtest.h>

#include <random>

#include "cryptounet/common/error.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

using u128 = unsigned __int128;

std::vector<std::uint64_t> test_moduli() {
  return {3, 17, 65537, (1ull << 40) + 1 - (1ull << 14) * 0 - 0, 1152921504606584833ull /* 60-bit */,
          (1ull << 61) - 1, (1ull << 62) - 57};
}

TEST(ModulusTest, RejectsOutOfRange) {
  EXPECT_THROW(Modulus(1), InvalidArgument);
  EXPECT_THROW(Modulus(1ull << 62), InvalidArgument);
  EXPECT_EQ(Modulus(1ull << 40).bit_count(), 41);
}

TEST(ModulusTest, BarrettMatchesInt128) {
  std::mt19937_64 rng(1);
  for (std::uint64_t qv : test_moduli()) {
    const Modulus q(qv);
    for (int t = 0; t < 20000; ++t) {
      const std::uint64_t x = rng();
      ASSERT_EQ(q.reduce(x), x % qv) << "q=" << qv << " x=" << x;
      const u128 y = (static_cast<u128>(rng()) << 64) | rng();
      ASSERT_EQ(q.reduce128(y), static_cast<std::uint64_t>(y % qv)) << "q=" << qv;
    }
    // Edge values.
    const u128 max = ~static_cast<u128>(0);
    EXPECT_EQ(q.reduce128(max), static_cast<std::uint64_t>(max % qv));
    EXPECT_EQ(q.reduce(~0ull), ~0ull % qv);
    EXPECT_EQ(q.reduce128(static_cast<u128>(qv - 1) * (qv - 1)),
              static_cast<std::uint64_t>(static_cast<u128>(qv - 1) * (qv - 1) % qv));
  }
}

TEST(ModArithTest, ShoupMatchesInt128) {
  std::mt19937_64 rng(2);
  for (std::uint64_t qv : test_moduli()) {
    const Modulus q(qv);
    for (int t = 0; t < 2000; ++t) {
      const std::uint64_t w = rng() % qv;
      const ShoupOperand sw = make_shoup(w, q);
      for (int k = 0; k < 10; ++k) {
        const std::uint64_t x = rng();  // any 64-bit x
        const std::uint64_t expect = static_cast<std::uint64_t>(static_cast<u128>(x) * w % qv);
        const std::uint64_t lazy = mul_shoup_lazy(x, sw, qv);
        ASSERT_LT(lazy, 2 * qv);
        ASSERT_EQ(lazy % qv, expect);
        ASSERT_EQ(mul_shoup(x, sw, qv), expect);
      }
    }
  }
}

TEST(ModArithTest, AddSubNegPowInv) {
  std::mt19937_64 rng(3);
  const Modulus q(1152921504606584833ull);
  const std::uint64_t qv = q.value();
  for (int t = 0; t < 1000; ++t) {
    const std::uint64_t a = rng() % qv, b = rng() % qv;
    EXPECT_EQ(add_mod(a, b, qv), static_cast<std::uint64_t>((static_cast<u128>(a) + b) % qv));
    EXPECT_EQ(sub_mod(a, b, qv), static_cast<std::uint64_t>((static_cast<u128>(a) + qv - b) % qv));
    EXPECT_EQ(add_mod(neg_mod(a, qv), a, qv), 0u);
    if (a) {
      EXPECT_EQ(mul_mod(inv_mod(a, q), a, q), 1u);
    }
  }
  EXPECT_EQ(pow_mod(3, qv - 1, q), 1u);  // Fermat
  EXPECT_THROW((void)inv_mod(0, q), InvalidArgument);
  EXPECT_EQ(from_signed(-1, q), qv - 1);
  EXPECT_EQ(from_signed(-static_cast<std::int64_t>(qv), q), 0u);
  EXPECT_EQ(from_signed(INT64_MIN, q), static_cast<std::uint64_t>((static_cast<__int128>(INT64_MIN) % qv + qv) % qv));
  EXPECT_EQ(from_signed(5, q), 5u);
}

// The branch-free from_signed (issue 9) against exact arithmetic, at every prime width and at the
// edges (0, +-1, +-q, +-(q +- 1), INT64_MIN/MAX) plus random values.
TEST(ModArith, FromSignedMatchesExactArithmetic) {
  std::mt19937_64 rng(9);
  for (int bits : {20, 30, 40, 50, 59, 60}) {
    const std::uint64_t qv = ntt_primes(bits, 1, 2048, true, {})[0];
    const Modulus q(qv);
    const auto want = [qv](std::int64_t x) {
      return static_cast<std::uint64_t>(((static_cast<__int128>(x) % qv) + qv) % qv);
    };
    const auto sq = static_cast<std::int64_t>(qv);
    std::vector<std::int64_t> xs = {0, 1, -1, 2, -2, sq, -sq, sq - 1, -(sq - 1), sq + 1, -(sq + 1), 2 * sq, -2 * sq,
                                    INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1};
    for (int i = 0; i < 2000; ++i) xs.push_back(static_cast<std::int64_t>(rng()) >> (rng() % 64));
    for (std::int64_t x : xs) ASSERT_EQ(from_signed(x, q), want(x)) << bits << " x=" << x;
    for (std::uint64_t y : {std::uint64_t{0}, qv - 1, qv, qv + 1, 2 * qv - 1})
      ASSERT_EQ(reduce_once_ct(y, qv), y % qv) << y;
  }
  // Moduli up to 2^62 (Modulus accepts them; the masks need q < 2^63).
  for (std::uint64_t qv : test_moduli()) {
    const Modulus q(qv);
    for (std::int64_t x : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, INT64_MIN, INT64_MAX,
                           -static_cast<std::int64_t>(qv), static_cast<std::int64_t>(qv) - 1})
      ASSERT_EQ(from_signed(x, q), static_cast<std::uint64_t>(((static_cast<__int128>(x) % qv) + qv) % qv))
          << qv << " x=" << x;
  }
}

}  // namespace
}  // namespace cryptounet::math
