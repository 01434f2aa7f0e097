// The multi-output lazy multiply-accumulate against plain __int128 arithmetic, for primes on both
// sides of 2^50 (the 52-bit IFMA path, the three-column IFMA path for 50..62-bit primes and the
// 128-bit path), term counts around every path's reduction interval, and coefficient ranges that are not multiples of the vector width (the tail path).
#include "cryptounet/math/lazy_mac.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "cryptounet/math/primes.h"

namespace cryptounet::math {
namespace {

using u128 = unsigned __int128;

TEST(LazyMacTest, MatchesInt128ForManyOutputsAndTerms) {
  std::mt19937_64 rng(11);
  const std::size_t n = 128, inputs = 9;
  for (int bits : {30, 40, 49, 50, 51, 59, 60, 61, 62}) {
    // Above 60 bits (no NTT primes generated there): the primes 2^61 - 1 and 2^62 - 57.
    const Modulus q(bits == 61   ? (std::uint64_t{1} << 61) - 1
                    : bits == 62 ? (std::uint64_t{1} << 62) - 57
                                 : ntt_primes(bits, 1, 128, true)[0]);
    const std::uint64_t qv = q.value();
    std::vector<std::vector<std::uint64_t>> in(inputs, std::vector<std::uint64_t>(n));
    for (auto& v : in)
      for (auto& x : v) x = rng() % qv;
    for (std::size_t i = 0; i < n; ++i) in[i % inputs][i] = qv - 1;  // extremes in every input
    // Outputs with 0, 1, 14, 15, 16, 31 and 47 terms, and around the three-column path's reduction
    // windows (8 at 62 bits, 32 at 61, 128 at 60, 256 below) up to 600; inputs repeat; weights up to q - 1.
    const std::vector<std::uint32_t> counts = {0, 1, 7, 8, 9, 14, 15, 16, 31, 32, 33, 47, 127, 128, 129, 256, 257, 600};
    std::vector<std::uint32_t> begin = {0}, idx;
    std::vector<std::uint64_t> w;
    for (std::uint32_t c : counts) {
      for (std::uint32_t m = 0; m < c; ++m) {
        idx.push_back(static_cast<std::uint32_t>(rng() % inputs));
        w.push_back(m % 5 == 0 ? qv - 1 : rng() % qv);
      }
      begin.push_back(static_cast<std::uint32_t>(idx.size()));
    }
    const std::size_t outputs = counts.size();
    for (bool acc_on : {false, true}) {
      std::vector<std::vector<std::uint64_t>> out(outputs, std::vector<std::uint64_t>(n));
      for (auto& v : out)
        for (auto& x : v) x = rng() % qv;
      const auto before = out;
      std::vector<std::uint8_t> acc(outputs, acc_on ? 1 : 0);
      std::vector<const std::uint64_t*> ip;
      for (auto& v : in) ip.push_back(v.data());
      std::vector<std::uint64_t*> op;
      for (auto& v : out) op.push_back(v.data());
      const kernels::MacTerms terms{begin.data(), idx.data(), w.data(), outputs};
      // Two ranges: a vector-aligned block and an odd one that ends in the scalar tail.
      kernels::mac_many(ip.data(), op.data(), acc.data(), terms, 0, 64, q);
      kernels::mac_many(ip.data(), op.data(), acc.data(), terms, 64, 101, q);
      for (std::size_t a = 0; a < outputs; ++a)
        for (std::size_t i = 0; i < n; ++i) {
          if (begin[a] == begin[a + 1] || i >= 101) {
            ASSERT_EQ(out[a][i], before[a][i]) << bits << " output " << a << " untouched at " << i;
            continue;
          }
          u128 s = acc_on ? before[a][i] : 0;
          for (std::uint32_t m = begin[a]; m < begin[a + 1]; ++m) s = (s + static_cast<u128>(in[idx[m]][i]) * w[m]) % qv;
          ASSERT_EQ(out[a][i], static_cast<std::uint64_t>(s)) << bits << " output " << a << " coefficient " << i;
        }
      // The portable 128-bit path (what AVX2 and scalar builds run) gives the same words.
      std::vector<std::vector<std::uint64_t>> ref = before;
      std::vector<std::uint64_t*> rp;
      for (auto& v : ref) rp.push_back(v.data());
      kernels::detail::mac_many_portable(ip.data(), rp.data(), acc.data(), terms, 0, 101, q);
      ASSERT_EQ(ref, out) << bits << " bits: portable path differs";
    }
  }
}

}  // namespace
}  // namespace cryptounet::math
