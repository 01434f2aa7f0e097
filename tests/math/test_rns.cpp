#include "cryptounet/math/rns.h"

#include <gmpxx.h>
#include <gtest/gtest.h>

#include <random>

#include "cryptounet/common/error.h"
#include "cryptounet/math/parallel.h"
#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

mpz_class to_mpz(std::uint64_t v) {
  mpz_class z;
  mpz_import(z.get_mpz_t(), 1, 1, sizeof(v), 0, 0, &v);
  return z;
}
std::uint64_t mod_u64(const mpz_class& x, std::uint64_t m) {
  mpz_class r;
  mpz_fdiv_r(r.get_mpz_t(), x.get_mpz_t(), to_mpz(m).get_mpz_t());
  return mpz_get_ui(r.get_mpz_t());
}

/// The product of the moduli, exactly.
mpz_class product_of(const std::vector<std::uint64_t>& qs) {
  mpz_class Q = 1;
  for (auto q : qs) Q *= to_mpz(q);
  return Q;
}

/// r mod Q for r made of `words` 64-bit draws of `rng` (uniform enough when Q has about that many bits).
mpz_class random_below(std::mt19937_64& rng, const mpz_class& Q, std::size_t words) {
  mpz_class r = 0;
  for (std::size_t w = 0; w < words; ++w) r = (r << 64) + to_mpz(rng());
  return r % Q;
}

std::vector<Modulus> as_moduli(const std::vector<std::uint64_t>& v) { return {v.begin(), v.end()}; }

TEST(RnsTest, BasisConstantsMatchGmp) {
  const auto qs = ntt_primes(50, 4, 2048, true);
  const RnsBasis basis(as_moduli(qs));
  const mpz_class Q = product_of(qs);
  mpz_class prod;
  mpz_import(prod.get_mpz_t(), basis.product().size(), -1, 8, 0, 0, basis.product().data());
  EXPECT_EQ(prod, Q);
  for (std::size_t i = 0; i < qs.size(); ++i) {
    mpz_class punct;
    mpz_import(punct.get_mpz_t(), basis.size(), -1, 8, 0, 0, basis.punctured(i).data());
    EXPECT_EQ(punct, Q / to_mpz(qs[i]));
    EXPECT_EQ(mul_mod(mod_u64(punct, qs[i]), basis.inv_punctured(i).value, basis[i]), 1u);
  }
  EXPECT_THROW(RnsBasis(as_moduli({qs[0], qs[0]})), InvalidArgument);
  EXPECT_THROW(RnsBasis(std::vector<Modulus>{}), InvalidArgument);
}

TEST(RnsTest, ComposeCenteredMatchesGmp) {
  std::mt19937_64 rng(5);
  for (std::size_t k : {1, 2, 3, 5}) {
    const auto qs = ntt_primes(60, k, 2048, true);
    const RnsBasis basis(as_moduli(qs));
    const mpz_class Q = product_of(qs);
    for (int t = 0; t < 300; ++t) {
      mpz_class x;
      // Mix of tiny and full-size values, both signs.
      if (t % 3 == 0) {
        x = to_mpz(rng() >> 20);
      } else {
        x = random_below(rng, Q, k);
        if (x > Q / 2) x -= Q;
      }
      if (t % 2) x = -x;
      std::vector<std::uint64_t> res(k);
      for (std::size_t i = 0; i < k; ++i) res[i] = mod_u64(x, qs[i]);
      const double got = basis.compose_centered(res);
      const double expect = x.get_d();
      ASSERT_NEAR(got, expect, std::abs(expect) * 1e-15 + 1e-9) << "k=" << k;
    }
  }
}

TEST(RnsTest, FastBaseConversionMatchesGmp) {
  std::mt19937_64 rng(6);
  ThreadPool pool(2);
  const std::size_t n = 64;
  for (std::size_t k_in : {1, 3, 10}) {
    const auto qs = ntt_primes(40, k_in, 2048, false);
    const auto ps = ntt_primes(60, 4, 2048, true);
    const BaseConverter conv(RnsBasis(as_moduli(qs)), as_moduli(ps));
    const mpz_class Q = product_of(qs);
    std::vector<std::vector<std::uint64_t>> in(k_in, std::vector<std::uint64_t>(n));
    std::vector<mpz_class> x(n);
    for (std::size_t c = 0; c < n; ++c) {
      x[c] = random_below(rng, Q, k_in);
      for (std::size_t i = 0; i < k_in; ++i) in[i][c] = mod_u64(x[c], qs[i]);
    }
    std::vector<const std::uint64_t*> inp;
    for (auto& v : in) inp.push_back(v.data());
    std::vector<std::size_t> idx = {3, 0, 2};  // a subset, in any order
    std::vector<std::vector<std::uint64_t>> out(idx.size(), std::vector<std::uint64_t>(n));
    std::vector<std::uint64_t*> outp;
    for (auto& v : out) outp.push_back(v.data());
    std::vector<std::uint64_t> scratch(k_in * n);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      conv.convert(inp.data(), outp.data(), idx, n, scratch.data(), p);
      for (std::size_t o = 0; o < idx.size(); ++o) {
        const std::uint64_t pj = ps[idx[o]];
        for (std::size_t c = 0; c < n; ++c) {
          // conv = x + u Q (mod p) for some 0 <= u < k_in.
          bool ok = false;
          for (std::size_t u = 0; u < k_in && !ok; ++u) ok = (mod_u64(x[c] + u * Q, pj) == out[o][c]);
          ASSERT_TRUE(ok) << "k_in=" << k_in << " out=" << idx[o] << " c=" << c;
        }
      }
    }
  }
}

TEST(RnsTest, CentredExactConversionMatchesGmp) {
  std::mt19937_64 rng(8);
  const std::size_t n = 200;
  // 50-bit and 60-bit inputs ("big" for the IFMA path: split in two halves) into 40-bit outputs;
  // 8 x 50 and 5 x 60 bits (ModDown's special primes) pass the IFMA path's bound, so its running
  // sum is reduced part way (rns.cpp, reduce_before_).
  for (auto [bits, k_in] : {std::pair{50, std::size_t{1}}, {50, 3}, {50, 8}, {60, 5}}) {
    const auto qs = ntt_primes(bits, k_in, 2048, true);
    const auto ps = ntt_primes(40, 3, 2048, false);
    const BaseConverter conv(RnsBasis(as_moduli(qs)), as_moduli(ps));
    const mpz_class Q = product_of(qs);
    std::vector<std::uint64_t> scratch(k_in * n);
    std::vector<mpz_class> centred(n);
    for (std::size_t c = 0; c < n; ++c) {
      mpz_class x = random_below(rng, Q, k_in);
      if (c == 0) x = 0;
      if (c == 1) x = Q - 1;
      if (c == 2) x = Q / 2;
      centred[c] = (2 * x >= Q) ? x - Q : x;
      for (std::size_t i = 0; i < k_in; ++i) scratch[i * n + c] = mod_u64(x, qs[i]);
    }
    for (std::size_t i = 0; i < k_in; ++i) conv.prepare_limb(i, scratch.data() + i * n, scratch.data(), n);
    std::vector<std::uint64_t> u(n), out(n);
    conv.centred_overflow(scratch.data(), u.data(), n);
    for (std::size_t j = 0; j < ps.size(); ++j) {
      conv.convert_one_centred(scratch.data(), u.data(), j, out.data(), n);
      for (std::size_t c = 0; c < n; ++c) {
        if (c == 2) {  // x = (Q-1)/2 sits on the rounding boundary: either representative is fine
          const bool either = out[c] == mod_u64(centred[c], ps[j]) || out[c] == mod_u64(centred[c] - Q, ps[j]);
          ASSERT_TRUE(either) << "k_in=" << k_in;
          continue;
        }
        ASSERT_EQ(out[c], mod_u64(centred[c], ps[j])) << "k_in=" << k_in << " c=" << c;
      }
    }
  }
}

}  // namespace
}  // namespace cryptounet::math
