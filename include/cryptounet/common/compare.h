// How far a computed vector is from a reference: the comparisons the encrypted-vs-plaintext checks
// use (segment, evaluate, examples, tests), in one place.
#pragma once

#include <span>

namespace cryptounet {

/// max |x[i]| (0 for an empty vector).
[[nodiscard]] double max_abs(std::span<const double> x);

/// max |a[i] - b[i]|. @throws InvalidArgument if the sizes differ.
[[nodiscard]] double max_abs_diff(std::span<const double> a, std::span<const double> b);

/// max |a[i] - b[i]| / max(1, max |b[i]|): the error relative to the reference `b`'s range.
/// @throws InvalidArgument if the sizes differ.
[[nodiscard]] double rel_error(std::span<const double> a, std::span<const double> b);

}  // namespace cryptounet
