// A word-size prime modulus q < 2^62 with its Barrett constant floor(2^128 / q), so that
// reductions of 64- and 128-bit values cost a few multiplications and one conditional
// subtraction (no division). Cheap to copy (three words).
#pragma once

#include <cstdint>

namespace cryptounet::math {

class Modulus {
 public:
  Modulus() = default;
  /// Precondition: 2 <= q < 2^62 (the lazy NTT keeps values below 4q). Throws InvalidArgument.
  explicit Modulus(std::uint64_t q);

  [[nodiscard]] std::uint64_t value() const { return q_; }
  [[nodiscard]] int bit_count() const { return bits_; }
  /// floor(2^128 / q) as (high, low) words.
  [[nodiscard]] std::uint64_t ratio_hi() const { return r1_; }
  [[nodiscard]] std::uint64_t ratio_lo() const { return r0_; }

  /// x mod q for any 64-bit x (Barrett, one correction).
  [[nodiscard]] std::uint64_t reduce(std::uint64_t x) const {
    const std::uint64_t qhat = static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * r1_) >> 64);
    std::uint64_t r = x - qhat * q_;
    return r >= q_ ? r - q_ : r;
  }

  /// x mod q for any 128-bit x (Barrett with the 128-bit ratio, one correction; as in SEAL's
  /// barrett_reduce_128: the estimate of floor(x/q) is off by at most one).
  [[nodiscard]] std::uint64_t reduce128(unsigned __int128 x) const {
    const std::uint64_t x0 = static_cast<std::uint64_t>(x);
    const std::uint64_t x1 = static_cast<std::uint64_t>(x >> 64);
    const std::uint64_t carry = static_cast<std::uint64_t>((static_cast<unsigned __int128>(x0) * r0_) >> 64);
    const unsigned __int128 a = static_cast<unsigned __int128>(x0) * r1_ + carry;
    const unsigned __int128 b = static_cast<unsigned __int128>(x1) * r0_;
    const std::uint64_t a_lo = static_cast<std::uint64_t>(a);
    const std::uint64_t b_lo = static_cast<std::uint64_t>(b);
    const std::uint64_t mid_carry = (a_lo + b_lo) < a_lo ? 1 : 0;
    const std::uint64_t qhat = x1 * r1_ + static_cast<std::uint64_t>(a >> 64) +
                               static_cast<std::uint64_t>(b >> 64) + mid_carry;
    std::uint64_t r = x0 - qhat * q_;
    return r >= q_ ? r - q_ : r;
  }

  friend bool operator==(const Modulus& a, const Modulus& b) { return a.q_ == b.q_; }

 private:
  std::uint64_t q_ = 0;
  std::uint64_t r1_ = 0;
  std::uint64_t r0_ = 0;
  int bits_ = 0;
};

}  // namespace cryptounet::math
