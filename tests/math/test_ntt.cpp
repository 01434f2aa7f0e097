#include "cryptounet/math/ntt.h"

#include <gtest/gtest.h>

#include <random>

#include "cryptounet/common/error.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

std::vector<std::uint64_t> naive_negacyclic(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b,
                                            const Modulus& q) {
  const std::size_t n = a.size();
  std::vector<std::uint64_t> c(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t p = mul_mod(a[i], b[j], q);
      const std::size_t k = i + j;
      if (k < n) {
        c[k] = add_mod(c[k], p, q.value());
      } else {
        c[k - n] = sub_mod(c[k - n], p, q.value());
      }
    }
  return c;
}

class NttTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(NttTest, RoundTripAndProduct) {
  const auto [logn, bits] = GetParam();
  const std::size_t n = std::size_t{1} << logn;
  std::mt19937_64 rng(logn * 100 + bits);
  for (std::uint64_t qv : ntt_primes(bits, 2, 2 * n, true)) {
    const Modulus q(qv);
    const NttTables t(n, q);
    std::vector<std::uint64_t> a(n), b(n);
    for (auto& x : a) x = rng() % qv;
    for (auto& x : b) x = rng() % qv;
    auto fa = a, fb = b;
    ntt_forward(fa.data(), t);
    ntt_forward(fb.data(), t);
    for (auto x : fa) ASSERT_LT(x, qv);
    auto back = fa;
    ntt_inverse(back.data(), t);
    ASSERT_EQ(back, a) << "n=" << n << " q=" << qv;
    // The portable path (the only one in builds without AVX-512) gives the same canonical outputs.
    auto sa = a, sb = b;
    detail::ntt_forward_scalar(sa.data(), t, false);
    detail::ntt_forward_scalar(sb.data(), t, false);
    ASSERT_EQ(sa, fa) << "scalar forward, n=" << n << " q=" << qv;
    ASSERT_EQ(sb, fb) << "scalar forward, n=" << n << " q=" << qv;
    auto sback = sa;
    detail::ntt_inverse_scalar(sback.data(), t, false);
    ASSERT_EQ(sback, a) << "scalar inverse, n=" << n << " q=" << qv;
    if (n <= 256) {
      const auto want = naive_negacyclic(a, b, q);
      std::vector<std::uint64_t> fc(n);
      for (std::size_t i = 0; i < n; ++i) fc[i] = mul_mod(fa[i], fb[i], q);
      auto sc = fc;
      ntt_inverse(fc.data(), t);
      ASSERT_EQ(fc, want) << "n=" << n << " q=" << qv;
      detail::ntt_inverse_scalar(sc.data(), t, false);
      ASSERT_EQ(sc, want) << "scalar, n=" << n << " q=" << qv;
    }
    // Lazy forms: inputs in [0, 4q) (forward) and [0, 2q) (inverse) give congruent outputs.
    auto la = a;
    for (std::size_t i = 0; i < n; ++i) la[i] += (rng() % 4) * qv;
    ntt_forward_lazy(la.data(), t);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_LT(la[i], 4 * qv);
      ASSERT_EQ(la[i] % qv, fa[i]);
    }
    auto li = fa;
    for (std::size_t i = 0; i < n; ++i) li[i] += (rng() % 2) * qv;
    auto sl = la, si = li;
    ntt_inverse_lazy(li.data(), t);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_LT(li[i], 2 * qv);
      ASSERT_EQ(li[i] % qv, a[i]);
    }
    // Scalar lazy forms: sl holds lazy forward outputs (in [0, 4q)), si lazy inverse inputs.
    detail::ntt_inverse_scalar(si.data(), t, true);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_LT(si[i], 2 * qv);
      ASSERT_EQ(si[i] % qv, a[i]);
    }
    detail::ntt_forward_scalar(sl.data(), t, true);  // input in [0, 4q)
    auto vl = la;
    ntt_forward_lazy(vl.data(), t);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_LT(sl[i], 4 * qv);
      ASSERT_EQ(sl[i] % qv, vl[i] % qv);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, NttTest,
                         ::testing::Values(std::make_tuple(1, 30), std::make_tuple(2, 40), std::make_tuple(3, 60),
                                           std::make_tuple(5, 50), std::make_tuple(8, 60), std::make_tuple(8, 40),
                                           std::make_tuple(12, 60), std::make_tuple(16, 60), std::make_tuple(4, 49),
                                           std::make_tuple(12, 40), std::make_tuple(15, 50),
                                           std::make_tuple(6, 60), std::make_tuple(6, 40), std::make_tuple(7, 40),
                                           std::make_tuple(5, 60), std::make_tuple(15, 60), std::make_tuple(14, 40)));

TEST(NttTablesTest, RejectsBadInput) {
  EXPECT_THROW(NttTables(12, Modulus(97)), InvalidArgument);
  EXPECT_THROW(NttTables(16, Modulus(101)), InvalidArgument);  // 101 != 1 mod 32
}

}  // namespace
}  // namespace cryptounet::math
