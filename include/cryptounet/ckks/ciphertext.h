// A CKKS ciphertext: 2 (or, after a product before relinearisation, 3) polynomials in NTT form
// over q_0..q_level, with its scale and parameter fingerprint. Decrypts as sum_i part(i) * s^i.
// A fresh secret-key ciphertext also keeps the 32-byte seed its uniform part(1) was expanded from
// (so it can be stored as the seed); any non-const access to a part forgets the seed.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "cryptounet/math/csprng.h"
#include "cryptounet/math/rns_poly.h"

namespace cryptounet::ckks {

class Ciphertext {
 public:
  Ciphertext() = default;
  Ciphertext(std::vector<math::RnsPoly> parts, double scale, std::uint64_t fingerprint)
      : parts_(std::move(parts)), scale_(scale), fingerprint_(fingerprint) {}

  /// Index of the last Q prime (limbs - 1); -1 if empty.
  [[nodiscard]] int level() const { return parts_.empty() ? -1 : static_cast<int>(parts_[0].limbs()) - 1; }
  [[nodiscard]] double scale() const { return scale_; }
  void set_scale(double s) { scale_ = s; }
  /// Number of polynomials: 2, or 3 after mul() and before relinearize().
  [[nodiscard]] std::size_t size() const { return parts_.size(); }
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_; }
  [[nodiscard]] std::size_t n() const { return parts_.empty() ? 0 : parts_[0].n(); }

  [[nodiscard]] const math::RnsPoly& part(std::size_t i) const { return parts_[i]; }
  /// Mutable access forgets the seed (part(1) may no longer be its expansion).
  [[nodiscard]] math::RnsPoly& part(std::size_t i) {
    seed_.reset();
    return parts_[i];
  }
  [[nodiscard]] const std::vector<math::RnsPoly>& parts() const { return parts_; }
  [[nodiscard]] std::vector<math::RnsPoly>& parts() {
    seed_.reset();
    return parts_;
  }

  /// The seed of part(1) if this is an untouched fresh secret-key encryption: part(1) limb i is
  /// then expand_uniform(seed, kCiphertextDomain, i) (see keys.h).
  [[nodiscard]] const std::optional<math::Seed>& seed() const { return seed_; }
  void set_seed(const math::Seed& s) { seed_ = s; }

 private:
  std::vector<math::RnsPoly> parts_;
  double scale_ = 0;
  std::uint64_t fingerprint_ = 0;
  std::optional<math::Seed> seed_;
};

}  // namespace cryptounet::ckks
