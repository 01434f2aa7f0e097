#include "cryptounet/math/ntt.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

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

// One direction of the transform on constant inputs: q - 1 (full range; `exact` must equal the
// portable `scalar`), then lazy_bound * q - 1 (the lazy variant's input bound; `lazy` stays below
// lazy_bound * q and agrees with the portable lazy path mod q).
template <class Exact, class Lazy, class Scalar>
void expect_extreme_inputs_match(const NttTables& t, std::uint64_t lazy_bound, Exact exact, Lazy lazy,
                                 Scalar scalar, const std::string& what) {
  const std::size_t n = t.n();
  const std::uint64_t qv = t.modulus().value();
  for (std::uint64_t top : {qv - 1, lazy_bound * qv - 1}) {
    std::vector<std::uint64_t> a(n, top), s(n, top);
    if (top < qv) {
      exact(a.data());
      scalar(s.data(), false);
      ASSERT_EQ(a, s) << what;
    } else {
      lazy(a.data());
      scalar(s.data(), true);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_LT(a[i], lazy_bound * qv);
        ASSERT_EQ(a[i] % qv, s[i] % qv) << "lazy " << what;
      }
    }
  }
}

// Extreme inputs (every value at the top of its allowed range) for the largest primes of each
// vector path (just below 2^50, 2^60; 2^61 and 2^62 take the portable path): the vector kernels keep
// values in [0, 8q) (64-bit Shoup) or [0, 4q) (IFMA), and an overflow would show here first.
TEST(NttTest, ExtremeInputsMatchPortablePath) {
  for (int bits : {40, 49, 50, 59, 60, 61, 62}) {
    for (std::size_t n : {std::size_t{32}, std::size_t{64}, std::size_t{1} << 11}) {
      // ntt_primes stops at 60 bits; the largest 61- and 62-bit primes = 1 mod 2^12 (Miller-Rabin).
      const std::uint64_t qv = bits == 61   ? 2305843009213616129ULL
                               : bits == 62 ? 4611686018427322369ULL
                                            : ntt_primes(bits, 1, 2 * n, true)[0];
      const NttTables t(n, Modulus(qv));
      const std::string where = "bits=" + std::to_string(bits) + " n=" + std::to_string(n);
      expect_extreme_inputs_match(
          t, 4, [&](std::uint64_t* a) { ntt_forward(a, t); }, [&](std::uint64_t* a) { ntt_forward_lazy(a, t); },
          [&](std::uint64_t* a, bool lazy) { detail::ntt_forward_scalar(a, t, lazy); }, "forward, " + where);
      expect_extreme_inputs_match(
          t, 2, [&](std::uint64_t* a) { ntt_inverse(a, t); }, [&](std::uint64_t* a) { ntt_inverse_lazy(a, t); },
          [&](std::uint64_t* a, bool lazy) { detail::ntt_inverse_scalar(a, t, lazy); }, "inverse, " + where);
    }
  }
}

TEST(NttTablesTest, RejectsBadInput) {
  EXPECT_THROW(NttTables(12, Modulus(97)), InvalidArgument);
  EXPECT_THROW(NttTables(16, Modulus(101)), InvalidArgument);  // 101 != 1 mod 32
}

}  // namespace
}  // namespace cryptounet::math
