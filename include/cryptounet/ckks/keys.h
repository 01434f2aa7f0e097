// Keys. The secret key stays with the client (move-only, wiped on destruction). The public key
// and the evaluation keys (relinearisation, Galois) are public. Evaluation keys are hybrid
// key-switching keys over Q*P with dnum digits; the uniform half of every key (and of fresh
// secret-key ciphertexts) is expanded from a 32-byte seed, kept beside it so that a serialiser
// can store the seed instead of the polynomial (about half the size).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "cryptounet/math/csprng.h"
#include "cryptounet/math/rns_poly.h"

namespace cryptounet::ckks {

class Context;

/// Seed-expansion domains: limb with QP index t of a uniform polynomial is
/// sample_uniform(Prng(seed, domain + t), prime t).
inline constexpr std::uint64_t kCiphertextDomain = 0;
inline constexpr std::uint64_t kPublicKeyDomain = std::uint64_t{1} << 40;
/// Digit j of a key-switching key uses kKeySwitchDomain + (j << 32).
inline constexpr std::uint64_t kKeySwitchDomain = std::uint64_t{2} << 40;

/// The uniform polynomial expanded from `seed` on the primes with the given QP indices (one limb
/// each, in that order), read directly as NTT form. Cost: one SHAKE-256 stream per limb.
[[nodiscard]] math::RnsPoly expand_uniform(const Context& ctx, const math::Seed& seed, std::uint64_t domain,
                                           std::span<const std::size_t> qp_indices);

/// The ternary secret s, in NTT form over every QP prime. Move-only; memory wiped when destroyed.
class SecretKey {
 public:
  SecretKey(SecretKey&& other) noexcept = default;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  [[nodiscard]] const math::RnsPoly& poly() const { return s_; }
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_; }
  /// An explicit copy (the encryptor and decryptor keep their own).
  [[nodiscard]] SecretKey clone() const { return SecretKey(math::RnsPoly(s_), fingerprint_); }
  /// Wraps s in NTT form over all QP primes (for the client-side deserialiser). The caller
  /// vouches that it is a secret key of these parameters.
  [[nodiscard]] static SecretKey from_poly(math::RnsPoly s_ntt, std::uint64_t fingerprint) {
    return SecretKey(std::move(s_ntt), fingerprint);
  }

 private:
  SecretKey(math::RnsPoly s, std::uint64_t fp) : s_(std::move(s)), fingerprint_(fp) {}
  math::RnsPoly s_;
  std::uint64_t fingerprint_ = 0;
};

/// (b, a) = (-a s + e, a) over the Q primes, NTT form; a = expand_uniform(seed, kPublicKeyDomain).
struct PublicKey {
  math::RnsPoly b;
  math::RnsPoly a;
  math::Seed seed{};
  std::uint64_t fingerprint = 0;
};

/// A hybrid key-switching key from s' to s: for each digit j (Q primes D_j),
/// (b_j, a_j) over all QP primes with b_j = -a_j s + e_j + P * [s' on the primes of D_j, 0 elsewhere],
/// a_j = expand_uniform(seed, kKeySwitchDomain + (j << 32), all QP indices).
struct KeySwitchKey {
  std::vector<math::RnsPoly> b;
  std::vector<math::RnsPoly> a;
  math::Seed seed{};
  std::uint64_t fingerprint = 0;
  [[nodiscard]] bool empty() const { return b.empty(); }
};

/// Key switch from s^2 to s.
struct RelinKey {
  KeySwitchKey key;
  [[nodiscard]] bool empty() const { return key.empty(); }
};

/// Key switches from sigma_g(s) to s, by Galois element g (5^step mod 2N; 2N-1 for conjugation).
struct GaloisKeys {
  std::map<std::uint64_t, KeySwitchKey> keys;
  [[nodiscard]] const KeySwitchKey* find(std::uint64_t g) const {
    const auto it = keys.find(g);
    return it == keys.end() ? nullptr : &it->second;
  }
};

/// What a server holds: everything public that evaluation needs.
struct EvaluationKeys {
  RelinKey relin;
  GaloisKeys galois;
};

}  // namespace cryptounet::ckks
