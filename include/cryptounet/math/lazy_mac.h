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
/// For q < 2^50 with AVX-512 IFMA: 52-bit halves summed in vector registers, one reduction per 15
/// products; otherwise 128-bit sums, one reduction per 15 products. Outputs must not alias inputs.
void mac_many(const std::uint64_t* const* in, std::uint64_t* const* out, const std::uint8_t* accumulate,
              const MacTerms& terms, std::size_t lo, std::size_t hi, const Modulus& q);

}  // namespace cryptounet::math::kernels
