#include "cryptounet/common/compare.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cryptounet/common/error.h"

namespace cryptounet {

double max_abs(std::span<const double> x) {
  double m = 0.0;
  for (double v : x) m = std::max(m, std::abs(v));
  return m;
}

double max_abs_diff(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size())
    throw InvalidArgument("max_abs_diff: " + std::to_string(a.size()) + " values against " +
                          std::to_string(b.size()));
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

double rel_error(std::span<const double> a, std::span<const double> b) {
  return max_abs_diff(a, b) / std::max(1.0, max_abs(b));
}

}  // namespace cryptounet
