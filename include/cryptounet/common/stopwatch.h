// Wall-clock seconds for progress lines, reports and stage timings (steady clock).
#pragma once

#include <chrono>

namespace cryptounet {

using SteadyTime = std::chrono::steady_clock::time_point;

/// Seconds from `t0` to now.
[[nodiscard]] inline double seconds_since(SteadyTime t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Seconds since construction or the last restart().
class Stopwatch {
 public:
  Stopwatch() : t0_(std::chrono::steady_clock::now()) {}
  [[nodiscard]] double seconds() const { return seconds_since(t0_); }
  /// Returns the seconds so far and starts again from now.
  double restart() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t0_).count();
    t0_ = now;
    return s;
  }

 private:
  SteadyTime t0_;
};

}  // namespace cryptounet
