#include "cryptounet/math/automorphism.h"

#include <gtest/gtest.h>

#include <random>

#include "cryptounet/common/error.h"
#include "cryptounet/math/ntt.h"
#include "cryptounet/math/poly_kernels.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

TEST(AutomorphismTest, NttPermutationMatchesCoefficientDefinition) {
  std::mt19937_64 rng(7);
  for (int logn : {3, 6, 10}) {
    const std::size_t n = std::size_t{1} << logn;
    const std::uint64_t qv = ntt_primes(50, 1, 2 * n, true)[0];
    const Modulus q(qv);
    const NttTables t(n, q);
    std::vector<std::uint64_t> a(n);
    for (auto& x : a) x = rng() % qv;
    std::vector<std::uint64_t> gs = {2 * n - 1, 3, 5, 25};
    for (int s : {1, 2, 3, -1, 7}) gs.push_back(galois_element_for_step(n, s));
    for (std::uint64_t g : gs) {
      std::vector<std::uint64_t> coeff(n), via_ntt(n), fa = a;
      automorphism_coeff(a.data(), coeff.data(), n, g, qv);
      ntt_forward(fa.data(), t);
      const auto perm = automorphism_ntt_permutation(n, g);
      kernels::permute(fa.data(), perm.data(), via_ntt.data(), n);
      ntt_inverse(via_ntt.data(), t);
      ASSERT_EQ(via_ntt, coeff) << "n=" << n << " g=" << g;
    }
  }
  EXPECT_THROW((void)automorphism_ntt_permutation(8, 4), InvalidArgument);
}

TEST(AutomorphismTest, GaloisElements) {
  const std::size_t n = 1024;
  EXPECT_EQ(galois_element_for_step(n, 0), 1u);
  EXPECT_EQ(galois_element_for_step(n, 1), 5u);
  EXPECT_EQ(galois_element_for_step(n, 2), 25u);
  // Rotating right by 1 = left by slots-1; 5 has order N/2 mod 2N.
  const std::uint64_t g = galois_element_for_step(n, -1);
  EXPECT_EQ((g * 5) % (2 * n), 1u);
  EXPECT_EQ(galois_element_for_step(n, static_cast<int>(n / 2)), 1u);
}

}  // namespace
}  // namespace cryptounet::math
