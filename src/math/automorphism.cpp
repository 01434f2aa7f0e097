#include "cryptounet/math/automorphism.h"

#include <bit>
#include <string>

#include "cryptounet/common/bit_reverse.h"
#include "cryptounet/common/error.h"

namespace cryptounet::math {

void automorphism_coeff(const std::uint64_t* a, std::uint64_t* out, std::size_t n, std::uint64_t g, std::uint64_t q) {
  const std::uint64_t mask = 2 * n - 1;
  for (std::size_t i = 0; i < n; ++i) {
    // X^i -> X^(i*g mod 2N); X^N = -1.
    const std::uint64_t e = (static_cast<std::uint64_t>(i) * g) & mask;
    if (e < n) {
      out[e] = a[i];
    } else {
      out[e - n] = a[i] ? q - a[i] : 0;
    }
  }
}

std::vector<std::uint32_t> automorphism_ntt_permutation(std::size_t n, std::uint64_t g) {
  if (n < 2 || (n & (n - 1)) || (g & 1) == 0)
    throw InvalidArgument("automorphism_ntt_permutation: need n a power of two and g odd (n=" + std::to_string(n) +
                          ", g=" + std::to_string(g) + ")");
  const int logn = std::countr_zero(n);
  const std::uint64_t mask = 2 * n - 1;
  std::vector<std::uint32_t> perm(n);
  // Slot i of the NTT holds a(psi^(2 br(i) + 1)); sigma_g(a) there is a(psi^((2 br(i) + 1) g)).
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t e = ((2 * bit_reverse(i, logn) + 1) * g) & mask;
    perm[i] = static_cast<std::uint32_t>(bit_reverse((e - 1) >> 1, logn));
  }
  return perm;
}

std::uint64_t galois_element_for_step(std::size_t n, int step) {
  const std::size_t slots = n / 2;
  const std::uint64_t two_n = 2 * n;
  long long s = step % static_cast<long long>(slots);
  if (s < 0) s += static_cast<long long>(slots);
  std::uint64_t g = 1;
  for (long long i = 0; i < s; ++i) g = (g * 5) & (two_n - 1);
  return g;
}

}  // namespace cryptounet::math
