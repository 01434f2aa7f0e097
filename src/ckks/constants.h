// Constants as integers: round(c * const_scale) as a signed 128-bit integer and its residue mod one
// prime. Shared by the products by constants (evaluator.cpp), constant linear combinations
// (evaluator_lincomb.cpp) and weighted hoisted rotations (evaluator_rotate.cpp). Internal to ckks/.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "cryptounet/common/error.h"
#include "cryptounet/math/modulus.h"

namespace cryptounet::ckks::detail {

/// round(c * const_scale); throws InvalidArgument (naming `op`) for a non-finite c, a scale that is
/// not finite and positive, or |c * const_scale| >= 2^126.
inline __int128 round_const(const char* op, double c, double const_scale) {
  if (!std::isfinite(c) || !std::isfinite(const_scale) || !(const_scale > 0))
    throw InvalidArgument(std::string(op) + ": constant " + std::to_string(c) + " or scale " +
                          std::to_string(const_scale) + " is not finite and positive");
  const long double v = std::round(static_cast<long double>(c) * const_scale);
  if (std::fabs(v) >= 0x1p126L) throw InvalidArgument(std::string(op) + ": c * const_scale reaches 2^126");
  return static_cast<__int128>(v);
}

/// x mod q in [0, q) for a signed 128-bit x.
inline std::uint64_t from_i128(__int128 x, const math::Modulus& q) {
  const bool neg = x < 0;
  const unsigned __int128 u = neg ? static_cast<unsigned __int128>(-(x + 1)) + 1 : static_cast<unsigned __int128>(x);
  const std::uint64_t r = q.reduce128(u);
  return (neg && r) ? q.value() - r : r;
}

}  // namespace cryptounet::ckks::detail
