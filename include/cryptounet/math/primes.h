// NTT-friendly primes: q = 1 (mod 2N), q < 2^61, as close as possible to a target bit size,
// with a deterministic Miller-Rabin test (exact for all 64-bit integers).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cryptounet::math {

/// Deterministic primality test for any 64-bit n (Miller-Rabin with the first 12 prime bases).
[[nodiscard]] bool is_prime(std::uint64_t n);

/// `count` distinct primes q = 1 (mod two_n), each with bit length `bits` (2^(bits-1) < q < 2^bits
/// when `below` is true) or closest to 2^bits on either side alternately (when `below` is false:
/// scale primes, so rescaling keeps the scale near 2^bits). Primes in `exclude` are skipped.
/// Preconditions: two_n a power of two, 20 <= bits <= 60. Throws InvalidArgument if not enough
/// primes exist. Cost: about bits*ln2 primality tests per prime.
[[nodiscard]] std::vector<std::uint64_t> ntt_primes(int bits, std::size_t count, std::uint64_t two_n,
                                                    bool below, std::span<const std::uint64_t> exclude = {});

/// The smallest primitive two_n-th root of unity mod prime q (deterministic, so NTT-form data
/// is the same on every machine). Precondition: q = 1 mod two_n. Throws InvalidArgument.
[[nodiscard]] std::uint64_t minimal_primitive_root(std::uint64_t two_n, std::uint64_t q);

}  // namespace cryptounet::math
