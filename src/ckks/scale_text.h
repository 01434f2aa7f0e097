// Scale helpers shared by the evaluator's files (evaluator.cpp, evaluator_lincomb.cpp). Internal to ckks/.
#pragma once

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

namespace cryptounet::ckks::detail {

/// A scale as "2^x.xxxx" for error messages.
inline std::string log2_str(double s) {
  std::ostringstream o;
  o.precision(4);
  o << "2^" << std::fixed << std::log2(s);
  return o.str();
}

/// Two scales equal to a relative 1e-9.
inline bool scales_equal(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); }

}  // namespace cryptounet::ckks::detail
