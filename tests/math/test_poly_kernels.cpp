// The kernels against plain __int128 arithmetic, for primes on both sides of 2^50 (where the
// AVX-512 IFMA paths take over when the build has them).
#include "cryptounet/math/poly_kernels.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <random>
#include <utility>
#include <vector>

#include "cryptounet/math/modarith.h"
#include "cryptounet/math/primes.h"
#include "cryptounet/math/rns.h"

namespace cryptounet::math {
namespace {

using u128 = unsigned __int128;

/// One NTT prime (= 1 mod 128) of each of `widths` bits, with its width; the default widths cross
/// 2^50, where the IFMA paths (up to 49 bits) hand over to the 64-bit ones.
std::vector<std::pair<int, Modulus>> test_primes(std::initializer_list<int> widths = {30, 40, 49, 50, 60}) {
  std::vector<std::pair<int, Modulus>> out;
  for (int bits : widths) out.emplace_back(bits, Modulus(ntt_primes(bits, 1, 128, true)[0]));
  return out;
}

TEST(PolyKernelsTest, ProductsAndDotMatchInt128) {
  std::mt19937_64 rng(9);
  const std::size_t n = 64;
  for (const auto& [bits, q] : test_primes()) {
    const std::uint64_t qv = q.value();
    auto rand_vec = [&] {
      std::vector<std::uint64_t> v(n);
      for (auto& x : v) x = rng() % qv;
      v[0] = qv - 1;
      return v;
    };
    const auto a = rand_vec(), b = rand_vec();
    std::vector<std::uint64_t> out(n), acc = rand_vec(), acc0 = acc;
    kernels::mul(a.data(), b.data(), out.data(), n, q);
    kernels::mul_add(a.data(), b.data(), acc.data(), n, q);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[i], static_cast<std::uint64_t>(static_cast<u128>(a[i]) * b[i] % qv)) << bits;
      ASSERT_EQ(acc[i], static_cast<std::uint64_t>((static_cast<u128>(a[i]) * b[i] + acc0[i]) % qv)) << bits;
    }
    // dot2 over up to 12 terms, with and without a permutation.
    for (std::size_t count : {1, 3, 12}) {
      std::vector<std::vector<std::uint64_t>> as, b0s, b1s;
      std::vector<const std::uint64_t*> ap, b0p, b1p;
      for (std::size_t j = 0; j < count; ++j) {
        as.push_back(rand_vec());
        b0s.push_back(rand_vec());
        b1s.push_back(rand_vec());
      }
      for (std::size_t j = 0; j < count; ++j) {
        ap.push_back(as[j].data());
        b0p.push_back(b0s[j].data());
        b1p.push_back(b1s[j].data());
      }
      std::vector<std::uint32_t> perm(n);
      for (std::size_t i = 0; i < n; ++i) perm[i] = static_cast<std::uint32_t>((i * 37 + 5) % n);
      const std::uint32_t* none = nullptr;
      const std::uint32_t* some = perm.data();
      for (const std::uint32_t* pp : {none, some}) {
        std::vector<std::uint64_t> o0(n), o1(n);
        kernels::dot2(ap.data(), b0p.data(), b1p.data(), count, pp, o0.data(), o1.data(), n, q);
        for (std::size_t i = 0; i < n; ++i) {
          u128 s0 = 0, s1 = 0;
          for (std::size_t j = 0; j < count; ++j) {
            const std::uint64_t x = as[j][pp ? pp[i] : i];
            s0 = (s0 + static_cast<u128>(x) * b0s[j][i]) % qv;
            s1 = (s1 + static_cast<u128>(x) * b1s[j][i]) % qv;
          }
          ASSERT_EQ(o0[i], static_cast<std::uint64_t>(s0)) << bits << " count " << count;
          ASSERT_EQ(o1[i], static_cast<std::uint64_t>(s1)) << bits << " count " << count;
        }
      }
    }
  }
}

TEST(PolyKernelsTest, ScalarProductsMatchInt128) {
  // Shoup products by a constant (vector paths: IFMA below 2^50, 64-bit above), with n not a
  // multiple of 8 so that the scalar tail runs too; the rescale step takes a lazy b in [0, 4q).
  std::mt19937_64 rng(12);
  const std::size_t n = 67;
  for (const auto& [bits, q] : test_primes()) {
    const std::uint64_t qv = q.value();
    std::vector<std::uint64_t> a(n), b(n), acc(n), out(n);
    for (auto& x : a) x = rng() % qv;
    for (auto& x : b) x = rng() % (4 * qv);
    for (auto& x : acc) x = rng() % qv;
    a[0] = qv - 1;
    b[0] = 4 * qv - 1;
    b[1] = 0;
    for (std::uint64_t wv : {std::uint64_t{0}, std::uint64_t{1}, qv - 1, rng() % qv}) {
      const ShoupOperand w = make_shoup(wv, q);
      const std::uint64_t c = rng() % qv;
      kernels::mul_scalar(a.data(), w, out.data(), n, q);
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_EQ(out[i], static_cast<std::uint64_t>(static_cast<u128>(a[i]) * wv % qv)) << bits;
      auto acc1 = acc;
      kernels::mul_scalar_add(a.data(), w, acc1.data(), n, q);
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_EQ(acc1[i], static_cast<std::uint64_t>((static_cast<u128>(a[i]) * wv + acc[i]) % qv)) << bits;
      kernels::sub_lazy_add_mul_scalar(a.data(), b.data(), c, w, out.data(), n, q);
      for (std::size_t i = 0; i < n; ++i) {
        const u128 x = (static_cast<u128>(a[i]) + c + 4 * static_cast<u128>(qv) - b[i]) % qv;
        ASSERT_EQ(out[i], static_cast<std::uint64_t>(x * wv % qv)) << bits << " i=" << i;
      }
      auto inplace = b;  // out may alias b
      kernels::sub_lazy_add_mul_scalar(a.data(), inplace.data(), c, w, inplace.data(), n, q);
      ASSERT_EQ(inplace, out) << bits;
    }
  }
}

TEST(PolyKernelsTest, AddSubMulLazyMatchesInt128) {
  std::mt19937_64 rng(13);
  const std::size_t n = 67;
  for (const auto& [bits, q] : test_primes()) {
    const std::uint64_t qv = q.value();
    std::vector<std::uint64_t> b(n), c(n), x(n), y(n), out(n);
    for (auto& v : b) v = rng() % (4 * qv);
    for (auto* vec : {&c, &x, &y})
      for (auto& v : *vec) v = rng() % qv;
    b[0] = 4 * qv - 1;
    c[0] = x[0] = y[0] = qv - 1;
    b[1] = c[1] = 0;
    x[1] = y[1] = qv - 1;
    kernels::add_sub_mul_lazy(b.data(), c.data(), x.data(), y.data(), out.data(), n, q);
    for (std::size_t i = 0; i < n; ++i) {
      const u128 p = static_cast<u128>(x[i]) * y[i] % qv;
      const u128 want = (static_cast<u128>(b[i]) + c[i] + qv - p) % qv;
      ASSERT_EQ(out[i], static_cast<std::uint64_t>(want)) << bits << " i=" << i;
    }
    kernels::add_sub_mul_lazy(b.data(), c.data(), x.data(), y.data(), b.data(), n, q);  // in place
    ASSERT_EQ(b, out) << bits;
  }
}

TEST(PolyKernelsTest, ReduceSigned52) {
  std::mt19937_64 rng(11);
  for (const auto& [bits, q] : test_primes({30, 40, 50, 60})) {
    const std::int64_t lim = (std::int64_t{1} << 52) - 1;
    std::vector<std::int64_t> x = {0, 1, -1, lim, -lim, static_cast<std::int64_t>(q.value()), -static_cast<std::int64_t>(q.value())};
    for (int i = 0; i < 2000; ++i) x.push_back(static_cast<std::int64_t>(rng() % (2 * static_cast<std::uint64_t>(lim))) - lim);
    std::vector<std::uint64_t> out(x.size());
    kernels::reduce_signed52(x.data(), out.data(), x.size(), q);
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(out[i], from_signed(x[i], q)) << bits << " x=" << x[i];
  }
}

TEST(PolyKernelsTest, ConversionWithAWideInputPrime) {
  // A 60-bit input prime among 40-bit ones, to 40/49-bit outputs: the IFMA path splits it.
  std::mt19937_64 rng(10);
  std::vector<Modulus> in = {Modulus(ntt_primes(60, 1, 2048, true)[0])};
  for (auto p : ntt_primes(40, 9, 2048, false)) in.emplace_back(p);
  std::vector<Modulus> out;
  for (auto p : ntt_primes(49, 3, 2048, true)) out.emplace_back(p);
  out.emplace_back(ntt_primes(38, 1, 2048, true)[0]);
  const RnsBasis basis(in);
  const BaseConverter conv(basis, out);
  const std::size_t n = 64, k = in.size();
  std::vector<std::uint64_t> scratch(k * n);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t c = 0; c < n; ++c) scratch[i * n + c] = rng() % in[i].value();
  for (std::size_t i = 0; i < k; ++i) conv.prepare_limb(i, scratch.data() + i * n, scratch.data(), n);
  std::vector<std::uint64_t> u(n), o(n), oc(n);
  conv.centred_overflow(scratch.data(), u.data(), n);
  for (std::size_t j = 0; j < out.size(); ++j) {
    conv.convert_one(scratch.data(), j, o.data(), n);
    conv.convert_one_centred(scratch.data(), u.data(), j, oc.data(), n);
    const std::uint64_t pv = out[j].value();
    for (std::size_t c = 0; c < n; ++c) {
      // Reference: sum_i y_i * (Q/q_i mod p) mod p, then minus u * (Q mod p).
      u128 s = 0, qmod = 1;
      for (std::size_t i = 0; i < k; ++i) {
        u128 punct = 1;
        for (std::size_t l = 0; l < k; ++l)
          if (l != i) punct = punct * (in[l].value() % pv) % pv;
        s = (s + static_cast<u128>(scratch[i * n + c]) % pv * punct) % pv;
        qmod = qmod * (in[i].value() % pv) % pv;
      }
      ASSERT_EQ(o[c], static_cast<std::uint64_t>(s)) << "out " << j << " c " << c;
      const u128 centred = (s + pv - static_cast<u128>(u[c]) * qmod % pv) % pv;
      ASSERT_EQ(oc[c], static_cast<std::uint64_t>(centred)) << "out " << j << " c " << c;
    }
  }
}

}  // namespace
}  // namespace cryptounet::math
