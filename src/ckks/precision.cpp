#include "cryptounet/ckks/precision.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cryptounet/common/error.h"

namespace cryptounet::ckks {
namespace {

PrecisionStats stats_from_errors(std::vector<double> err) {
  PrecisionStats s;
  std::vector<double> bits(err.size());
  double sum = 0;
  for (std::size_t i = 0; i < err.size(); ++i) {
    bits[i] = err[i] > 0 ? -std::log2(err[i]) : 64.0;
    sum += bits[i];
    s.max_abs_error = std::max(s.max_abs_error, err[i]);
  }
  s.mean_bits = sum / static_cast<double>(bits.size());
  s.min_bits = *std::min_element(bits.begin(), bits.end());
  std::nth_element(bits.begin(), bits.begin() + static_cast<std::ptrdiff_t>(bits.size() / 2), bits.end());
  s.median_bits = bits[bits.size() / 2];
  return s;
}

// Per-slot |got - expected| (complex or real), then the statistics.
template <class T>
PrecisionStats stats_of(std::span<const T> expected, std::span<const T> got) {
  if (expected.size() != got.size() || expected.empty())
    throw InvalidArgument("precision_stats: sizes " + std::to_string(expected.size()) + " and " +
                          std::to_string(got.size()) + " differ or are zero");
  std::vector<double> err(expected.size());
  for (std::size_t i = 0; i < err.size(); ++i) err[i] = std::abs(got[i] - expected[i]);
  return stats_from_errors(std::move(err));
}

}  // namespace

PrecisionStats precision_stats(std::span<const std::complex<double>> expected, std::span<const std::complex<double>> got) {
  return stats_of(expected, got);
}

PrecisionStats precision_stats(std::span<const double> expected, std::span<const double> got) {
  return stats_of(expected, got);
}

}  // namespace cryptounet::ckks
