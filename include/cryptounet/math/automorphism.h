// Galois automorphisms sigma_g: a(X) -> a(X^g) of Z_q[X]/(X^N+1), g odd in [1, 2N). In CKKS,
// g = 5^k rotates the slot vector left by k and g = 2N-1 conjugates it. On the NTT form (bit-
// reversed evaluations) sigma_g is a pure index permutation, the same for every prime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cryptounet::math {

/// Coefficient domain: out = a(X^g) mod (X^N + 1, q). Precondition: g odd, out != a.
void automorphism_coeff(const std::uint64_t* a, std::uint64_t* out, std::size_t n, std::uint64_t g,
                        std::uint64_t q);

/// The permutation p with NTT(sigma_g(a))[i] = NTT(a)[p[i]] for the bit-reversed NTT of ntt.h.
/// Precondition: n a power of two, g odd. Throws InvalidArgument otherwise. Cost: O(n).
[[nodiscard]] std::vector<std::uint32_t> automorphism_ntt_permutation(std::size_t n, std::uint64_t g);

/// The Galois element 5^step mod 2n that rotates slots left by `step` (negative: right).
[[nodiscard]] std::uint64_t galois_element_for_step(std::size_t n, int step);

}  // namespace cryptounet::math
