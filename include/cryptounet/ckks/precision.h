// Precision statistics in bits (after Lattigo's precision.go): for each slot the error
// |got - expected| (complex modulus), reported as -log2(error): min (the worst slot), mean and
// median. A slot with error 0 counts as 64 bits.
#pragma once

#include <complex>
#include <span>

namespace cryptounet::ckks {

struct PrecisionStats {
  double min_bits = 0;
  double mean_bits = 0;
  double median_bits = 0;
  double max_abs_error = 0;
};

/// Throws InvalidArgument if the sizes differ or are zero.
[[nodiscard]] PrecisionStats precision_stats(std::span<const std::complex<double>> expected,
                                             std::span<const std::complex<double>> got);
[[nodiscard]] PrecisionStats precision_stats(std::span<const double> expected, std::span<const double> got);

}  // namespace cryptounet::ckks
