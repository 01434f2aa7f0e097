// Modular arithmetic on words for a prime q < 2^62: add/sub/neg, Barrett products, and Shoup
// products for a fixed multiplicand w (precompute floor(w * 2^64 / q) once, then each product
// costs two multiplications and no 128-bit reduction). All inline: these are the inner loops.
#pragma once

#include <cstdint>

#include "cryptounet/math/modulus.h"

namespace cryptounet::math {

[[nodiscard]] inline std::uint64_t mul_hi(std::uint64_t a, std::uint64_t b) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}

/// (a + b) mod q for a, b < q.
[[nodiscard]] inline std::uint64_t add_mod(std::uint64_t a, std::uint64_t b, std::uint64_t q) {
  const std::uint64_t s = a + b;
  return s >= q ? s - q : s;
}
/// (a - b) mod q for a, b < q.
[[nodiscard]] inline std::uint64_t sub_mod(std::uint64_t a, std::uint64_t b, std::uint64_t q) {
  return a >= b ? a - b : a + q - b;
}
/// -a mod q for a < q.
[[nodiscard]] inline std::uint64_t neg_mod(std::uint64_t a, std::uint64_t q) { return a ? q - a : 0; }

/// a * b mod q for any a, b < 2^64 with a*b < 2^128 (Barrett on the 128-bit product).
[[nodiscard]] inline std::uint64_t mul_mod(std::uint64_t a, std::uint64_t b, const Modulus& q) {
  return q.reduce128(static_cast<unsigned __int128>(a) * b);
}

/// A fixed multiplicand w < q with its Shoup quotient floor(w * 2^64 / q).
struct ShoupOperand {
  std::uint64_t value = 0;
  std::uint64_t quotient = 0;
};

/// Precondition: w < q.
[[nodiscard]] inline ShoupOperand make_shoup(std::uint64_t w, const Modulus& q) {
  return {w, static_cast<std::uint64_t>((static_cast<unsigned __int128>(w) << 64) / q.value())};
}

/// x * w mod q, result in [0, 2q), for any 64-bit x (Shoup / Harvey lazy product).
[[nodiscard]] inline std::uint64_t mul_shoup_lazy(std::uint64_t x, const ShoupOperand& w, std::uint64_t q) {
  return x * w.value - mul_hi(x, w.quotient) * q;
}
/// x * w mod q, result in [0, q).
[[nodiscard]] inline std::uint64_t mul_shoup(std::uint64_t x, const ShoupOperand& w, std::uint64_t q) {
  const std::uint64_t r = mul_shoup_lazy(x, w, q);
  return r >= q ? r - q : r;
}

/// base^exp mod q.
[[nodiscard]] std::uint64_t pow_mod(std::uint64_t base, std::uint64_t exp, const Modulus& q);
/// a^{-1} mod q for prime q and a not divisible by q. Throws InvalidArgument if a = 0 mod q.
[[nodiscard]] std::uint64_t inv_mod(std::uint64_t a, const Modulus& q);

/// y mod q for y in [0, 2q), q < 2^63, by a mask from the borrow bit (no comparison, no branch).
[[nodiscard]] inline std::uint64_t reduce_once_ct(std::uint64_t y, std::uint64_t q) {
  const std::uint64_t d = y - q;                     // wraps (top bit set) iff y < q
  return d + (q & (0 - (d >> 63)));
}

/// x mod q in [0, q) for a signed integer x. Constant time in x (no branch, no comparison on x):
/// it maps secret-key and error coefficients, whose signs are secret. |x| by the sign mask, Barrett
/// with Modulus's ratio, and q - r chosen by that mask.
[[nodiscard]] inline std::uint64_t from_signed(std::int64_t x, const Modulus& q) {
  const std::uint64_t qv = q.value();
  const std::uint64_t neg = static_cast<std::uint64_t>(x >> 63);         // all ones iff x < 0
  const std::uint64_t mag = (static_cast<std::uint64_t>(x) ^ neg) - neg;  // |x| (2^63 for INT64_MIN)
  const std::uint64_t qhat = static_cast<std::uint64_t>((static_cast<unsigned __int128>(mag) * q.ratio_hi()) >> 64);
  const std::uint64_t r = reduce_once_ct(mag - qhat * qv, qv);         // |x| mod q
  const std::uint64_t flip = reduce_once_ct(qv - r, qv);               // -|x| mod q
  return r ^ ((r ^ flip) & neg);
}

}  // namespace cryptounet::math
