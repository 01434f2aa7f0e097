#include "cryptounet/math/primes.h"

#include <algorithm>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/modarith.h"

namespace cryptounet::math {
namespace {

std::uint64_t mulmod_u128(std::uint64_t a, std::uint64_t b, std::uint64_t m) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(a) * b) % m);
}

std::uint64_t powmod_u128(std::uint64_t b, std::uint64_t e, std::uint64_t m) {
  std::uint64_t r = 1 % m;
  b %= m;
  while (e) {
    if (e & 1) r = mulmod_u128(r, b, m);
    b = mulmod_u128(b, b, m);
    e >>= 1;
  }
  return r;
}

}  // namespace

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  static constexpr std::uint64_t kBases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  for (std::uint64_t p : kBases) {
    if (n % p == 0) return n == p;
  }
  std::uint64_t d = n - 1;
  int s = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    ++s;
  }
  // These 12 bases make Miller-Rabin exact below 3.3e24 > 2^64 (Sorenson and Webster, 2015).
  for (std::uint64_t a : kBases) {
    std::uint64_t x = powmod_u128(a, d, n);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int r = 1; r < s; ++r) {
      x = mulmod_u128(x, x, n);
      if (x == n - 1) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

std::vector<std::uint64_t> ntt_primes(int bits, std::size_t count, std::uint64_t two_n, bool below,
                                      std::span<const std::uint64_t> exclude) {
  if (bits < 20 || bits > 60)
    throw InvalidArgument("ntt_primes: bit size " + std::to_string(bits) + " outside [20, 60]");
  if (two_n < 2 || (two_n & (two_n - 1)))
    throw InvalidArgument("ntt_primes: 2N=" + std::to_string(two_n) + " is not a power of two");
  const std::uint64_t target = std::uint64_t{1} << bits;
  if (two_n >= target / 4) throw InvalidArgument("ntt_primes: 2N too large for " + std::to_string(bits) + "-bit primes");
  auto excluded = [&](std::uint64_t q) { return std::find(exclude.begin(), exclude.end(), q) != exclude.end(); };
  std::vector<std::uint64_t> out;
  // Candidates 1 + k*2N: just below 2^bits (k_down decreasing) and just above (k_up increasing).
  std::uint64_t down = target + 1 - two_n;  // largest 1 mod 2N below 2^bits
  std::uint64_t up = target + 1;            // smallest 1 mod 2N above 2^bits
  const std::uint64_t lo = target >> 1;
  const std::uint64_t hi = std::min<std::uint64_t>(target << 1, std::uint64_t{1} << 61);
  bool take_up = false;
  while (out.size() < count) {
    bool progressed = false;
    if (!below && take_up && up < hi) {
      while (up < hi && (!is_prime(up) || excluded(up))) up += two_n;
      if (up < hi) {
        out.push_back(up);
        up += two_n;
        progressed = true;
      }
    } else if (down > lo) {
      while (down > lo && (!is_prime(down) || excluded(down))) down -= two_n;
      if (down > lo) {
        out.push_back(down);
        down -= two_n;
        progressed = true;
      }
    }
    if (!below) take_up = !take_up;
    if (!progressed && (below || (down <= lo && up >= hi)))
      throw InvalidArgument("ntt_primes: not enough " + std::to_string(bits) + "-bit primes = 1 mod " +
                            std::to_string(two_n));
  }
  return out;
}

std::uint64_t minimal_primitive_root(std::uint64_t two_n, std::uint64_t q) {
  if (two_n < 2 || (two_n & (two_n - 1)) || (q - 1) % two_n != 0)
    throw InvalidArgument("minimal_primitive_root: q=" + std::to_string(q) + " is not 1 mod " + std::to_string(two_n));
  const Modulus mod(q);
  // psi is a primitive 2N-th root iff psi^N = -1. Take x^((q-1)/2N) for x = 2, 3, ... until one is.
  std::uint64_t psi = 0;
  for (std::uint64_t x = 2; x < q; ++x) {
    const std::uint64_t c = pow_mod(x, (q - 1) / two_n, mod);
    if (pow_mod(c, two_n / 2, mod) == q - 1) {
      psi = c;
      break;
    }
  }
  if (psi == 0) throw InvalidArgument("minimal_primitive_root: none found mod " + std::to_string(q));
  // All primitive roots are psi^k, k odd; take the smallest so that NTT forms are canonical.
  const std::uint64_t sq = mul_mod(psi, psi, mod);
  std::uint64_t cur = psi, best = psi;
  for (std::uint64_t k = 1; k < two_n; k += 2) {
    best = std::min(best, cur);
    cur = mul_mod(cur, sq, mod);
  }
  return best;
}

}  // namespace cryptounet::math
