// Multi-output multiply-accumulate with lazy reduction: many outputs, each a sum of many
// (input limb x constant) products, computed in one pass over a block of coefficients so that
// every input word is loaded once per block for all outputs (not once per product), and reduced
// once per 15 products (not per product). The kernel behind ckks::Evaluator::mul_const_accumulate
// (the constant products of an HE linear layer).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cryptounet/math/modulus.h"

namespace cryptounet::math::kernels {

/// The terms of a multi-output multiply-accumulate in compressed rows: output a owns terms
/// begin[a] .. begin[a+1]-1; term m reads input in_index[m] with weight[m] (in [0, q)).
struct MacTerms {
  const std::uint32_t* begin = nullptr;     // outputs + 1 entries
  const std::uint32_t* in_index = nullptr;  // begin[outputs] entries
  const std::uint64_t* weight = nullptr;    // begin[outputs] entries, each < q
  std::size_t outputs = 0;
};

/// For every output a and every coefficient i in [lo, hi):
///   out[a][i] = (accumulate[a] ? out[a][i] : 0) + sum_m weight[m] * in[in_index[m]][i]  mod q.
/// Inputs and accumulated outputs hold values in [0, q); an output with no terms is untouched.
/// With AVX-512 IFMA: for q < 2^50, 52-bit halves summed in vector registers, one reduction per 15
/// products; for q < 2^62 (the 60-bit first prime), exact three-column sums (seven IFMA products per
/// vector), one 128-bit reduction per 2^(127-2b) products (b = bits of q; 128 for 60 bits, at most 256).
/// Otherwise 128-bit sums, one reduction per 15 products. All paths give the same fully reduced words.
/// Outputs must not alias inputs.
void mac_many(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
              const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q);

namespace detail {
/// The 128-bit path of mac_many for any q < 2^62 (what builds without IFMA run), for tests and benchmarks.
void mac_many_portable(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
                       const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q);
}  // namespace detail

}  // namespace cryptounet::math::kernels
