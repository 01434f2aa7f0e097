#include "cryptounet/math/primes.h"

#include <gmpxx.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "cryptounet/common/error.h"
#include "cryptounet/math/modarith.h"

namespace cryptounet::math {
namespace {

TEST(PrimesTest, IsPrimeMatchesGmp) {
  std::mt19937_64 rng(4);
  for (int t = 0; t < 3000; ++t) {
    const std::uint64_t n = (t < 1000) ? static_cast<std::uint64_t>(t) : (rng() >> (rng() % 40));
    mpz_class z;
    mpz_import(z.get_mpz_t(), 1, 1, sizeof(n), 0, 0, &n);
    ASSERT_EQ(is_prime(n), mpz_probab_prime_p(z.get_mpz_t(), 40) != 0) << n;
  }
  EXPECT_FALSE(is_prime(3215031751ull));          // strong pseudoprime to bases 2,3,5,7
  EXPECT_FALSE(is_prime(3825123056546413051ull));  // strong pseudoprime to bases up to 23
  EXPECT_TRUE(is_prime((1ull << 61) - 1));
}

TEST(PrimesTest, NttPrimesAreNttFriendlyAndDistinct) {
  for (int logn : {4, 10, 14, 16}) {
    const std::uint64_t two_n = 2ull << logn;
    for (int bits : {30, 40, 50, 60}) {
      for (bool below : {true, false}) {
        const auto ps = ntt_primes(bits, 5, two_n, below);
        std::set<std::uint64_t> seen(ps.begin(), ps.end());
        EXPECT_EQ(seen.size(), ps.size());
        for (std::uint64_t q : ps) {
          EXPECT_TRUE(is_prime(q));
          EXPECT_EQ(q % two_n, 1u);
          EXPECT_LT(q, 1ull << 61);
          EXPECT_NEAR(std::log2(static_cast<double>(q)), bits, 0.05) << q;
          if (below) {
            EXPECT_LT(q, 1ull << bits);
          }
        }
        const auto more = ntt_primes(bits, 2, two_n, below, ps);
        for (std::uint64_t q : more) EXPECT_EQ(seen.count(q), 0u);
      }
    }
  }
  EXPECT_THROW((void)ntt_primes(61, 1, 1024, true), InvalidArgument);
  EXPECT_THROW((void)ntt_primes(40, 1, 1000, true), InvalidArgument);
}

TEST(PrimesTest, MinimalPrimitiveRoot) {
  const std::uint64_t two_n = 1 << 11;
  for (std::uint64_t q : ntt_primes(50, 3, two_n, true)) {
    const Modulus m(q);
    const std::uint64_t psi = minimal_primitive_root(two_n, q);
    EXPECT_EQ(pow_mod(psi, two_n / 2, m), q - 1);
    // No smaller primitive root (check a few odd powers are >= psi).
    std::uint64_t cur = psi;
    for (int k = 0; k < 64; ++k) {
      EXPECT_GE(cur, psi);
      cur = mul_mod(cur, mul_mod(psi, psi, m), m);
    }
  }
  EXPECT_THROW((void)minimal_primitive_root(1024, 1031), InvalidArgument);
}

}  // namespace
}  // namespace cryptounet::math
