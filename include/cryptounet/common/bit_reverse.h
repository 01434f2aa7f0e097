// Bit reversal of an index: the order of the NTT's butterflies, of the CKKS encoder's slots and
// of the Galois automorphism's permutation.
#pragma once

#include <cstddef>

namespace cryptounet {

/// The low `bits` bits of `x` in reverse order (bits above `bits` are dropped). 0 <= bits <= 63.
[[nodiscard]] constexpr std::size_t bit_reverse(std::size_t x, int bits) {
  std::size_t r = 0;
  for (int i = 0; i < bits; ++i) {
    r = (r << 1) | (x & 1);
    x >>= 1;
  }
  return r;
}

}  // namespace cryptounet
