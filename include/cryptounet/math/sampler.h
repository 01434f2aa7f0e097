// Samplers driven by a Prng: uniform mod q (rejection), uniform ternary secrets, and the discrete
// Gaussian with sigma = 3.2 bounded at 6 sigma (|e| <= 19), by a cumulative distribution table
// scanned in full for every sample (no data-dependent branches or early exit).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cryptounet/math/csprng.h"
#include "cryptounet/math/modulus.h"

namespace cryptounet::math {

inline constexpr double kGaussianSigma = 3.2;
inline constexpr int kGaussianBound = 19;  // floor(6 * sigma)

/// out[i] uniform in [0, q): draws of bit_count(q) bits, rejected if >= q.
void sample_uniform(Prng& prng, const Modulus& q, std::uint64_t* out, std::size_t n);
/// out[i] uniform in {-1, 0, 1}.
void sample_ternary(Prng& prng, std::int64_t* out, std::size_t n);
/// out[i] discrete Gaussian, sigma 3.2, |out[i]| <= 19.
void sample_gaussian(Prng& prng, std::int64_t* out, std::size_t n);

}  // namespace cryptounet::math
