#include "cryptounet/math/modulus.h"

#include <bit>
#include <string>

#include "cryptounet/common/error.h"

namespace cryptounet::math {

Modulus::Modulus(std::uint64_t q) : q_(q) {
  if (q < 2 || q >= (std::uint64_t{1} << 62))
    throw InvalidArgument("Modulus: q=" + std::to_string(q) + " is outside [2, 2^62)");
  // floor(2^128 / q) = floor((2^128 - 1) / q) because q is not a power of two dividing 2^128,
  // or q = 2^k, in which case (2^128 - 1)/q = 2^(128-k) - 1: the one-correction Barrett still holds.
  const unsigned __int128 r = (~static_cast<unsigned __int128>(0)) / q;
  r1_ = static_cast<std::uint64_t>(r >> 64);
  r0_ = static_cast<std::uint64_t>(r);
  bits_ = 64 - std::countl_zero(q);
}

}  // namespace cryptounet::math
