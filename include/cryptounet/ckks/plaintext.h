// An encoded message: one polynomial in NTT form over q_0..q_level, with its scale and the
// fingerprint of the parameters it belongs to. A movable value; at N=2^15 and 14 limbs it is
// 3.7 MB, so encode close to use rather than pre-encoding everything.
#pragma once

#include <cstdint>
#include <utility>

#include "cryptounet/math/rns_poly.h"

namespace cryptounet::ckks {

class Plaintext {
 public:
  Plaintext() = default;
  Plaintext(math::RnsPoly poly, double scale, std::uint64_t fingerprint)
      : poly_(std::move(poly)), scale_(scale), fingerprint_(fingerprint) {}

  /// Index of the last Q prime (limbs - 1); -1 if empty.
  [[nodiscard]] int level() const { return static_cast<int>(poly_.limbs()) - 1; }
  [[nodiscard]] double scale() const { return scale_; }
  void set_scale(double s) { scale_ = s; }
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_; }
  [[nodiscard]] std::size_t n() const { return poly_.n(); }
  [[nodiscard]] const math::RnsPoly& poly() const { return poly_; }
  [[nodiscard]] math::RnsPoly& poly() { return poly_; }

 private:
  math::RnsPoly poly_;
  double scale_ = 0;
  std::uint64_t fingerprint_ = 0;
};

}  // namespace cryptounet::ckks
