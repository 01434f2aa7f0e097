#include "cryptounet/math/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "cryptounet/math/csprng.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

TEST(CsprngTest, SeedsDifferAndStreamsAreDeterministic) {
  const Seed a = random_seed(), b = random_seed();
  EXPECT_NE(a, b);
  Prng p1(a, 3), p2(a, 3), p3(a, 4), p4(b, 3);
  std::vector<std::uint8_t> x(10000), y(10000), z(10000), w(10000);
  p1.fill(x.data(), x.size());
  // Same bytes when read in odd-sized pieces.
  for (std::size_t off = 0; off < y.size();) {
    const std::size_t len = std::min<std::size_t>(y.size() - off, 1 + off % 777);
    p2.fill(y.data() + off, len);
    off += len;
  }
  p3.fill(z.data(), z.size());
  p4.fill(w.data(), w.size());
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
  EXPECT_NE(x, w);
}

TEST(CsprngTest, StreamIsShake256OfSeedDomainCounter) {
  // The stream is defined block by block as SHAKE-256(seed || domain || counter) (4096 bytes each);
  // the batched (eight-way on AVX-512) expansion must reproduce OpenSSL's output exactly, across
  // batch boundaries.
  const std::size_t block = 4096, blocks = 19;
  for (std::uint64_t domain : {std::uint64_t{0}, std::uint64_t{0x123456789abcdefULL}, ~std::uint64_t{0}}) {
    const Seed seed = random_seed();
    Prng prng(seed, domain);
    std::vector<std::uint8_t> got(block * blocks), want(block * blocks);
    prng.fill(got.data(), 5);
    prng.fill(got.data() + 5, got.size() - 5);
    for (std::size_t b = 0; b < blocks; ++b) detail::shake_reference_block(seed, domain, b, want.data() + b * block, block);
    ASSERT_EQ(got, want) << "domain " << domain;
  }
}

TEST(SamplerTest, UniformIsInRangeAndBalanced) {
  Prng prng(random_seed());
  for (int bits : {30, 40, 60}) {
    const Modulus q(ntt_primes(bits, 1, 2048, true)[0]);
    const std::size_t n = 1 << 16;
    std::vector<std::uint64_t> v(n);
    sample_uniform(prng, q, v.data(), n);
    double mean = 0;
    for (auto x : v) {
      ASSERT_LT(x, q.value());
      mean += static_cast<double>(x) / static_cast<double>(q.value());
    }
    mean /= n;
    // Mean of U[0,1) over 65536 draws: sd 0.0011; 10 sd cannot flake.
    EXPECT_NEAR(mean, 0.5, 0.012);
  }
}

TEST(SamplerTest, TernaryDistribution) {
  Prng prng(random_seed());
  const std::size_t n = 1 << 16;
  std::vector<std::int64_t> v(n);
  sample_ternary(prng, v.data(), n);
  std::size_t counts[3] = {0, 0, 0};
  for (auto x : v) {
    ASSERT_GE(x, -1);
    ASSERT_LE(x, 1);
    ++counts[x + 1];
  }
  for (auto c : counts) EXPECT_NEAR(static_cast<double>(c) / n, 1.0 / 3, 0.02);
}

TEST(SamplerTest, GaussianMomentsAndBound) {
  Prng prng(random_seed());
  const std::size_t n = 1 << 17;
  std::vector<std::int64_t> v(n);
  sample_gaussian(prng, v.data(), n);
  double mean = 0, var = 0;
  std::set<std::int64_t> seen;
  for (auto x : v) {
    ASSERT_LE(std::abs(x), kGaussianBound);
    mean += static_cast<double>(x);
    var += static_cast<double>(x * x);
    seen.insert(x);
  }
  mean /= n;
  var /= n;
  // sd of the mean is 3.2/sqrt(n) = 0.009; of the variance about 0.04.
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(std::sqrt(var), kGaussianSigma, 0.1);
  EXPECT_GE(seen.size(), 19u);  // covers at least [-9, 9]
}

}  // namespace
}  // namespace cryptounet::math
