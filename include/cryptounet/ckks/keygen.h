// Key generation (client side): a fresh ternary secret from OS entropy, then the public key,
// the relinearisation key and the Galois keys for the rotation steps a plan asks for.
#pragma once

#include <memory>
#include <span>

#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"

namespace cryptounet::ckks {

class KeyGenerator {
 public:
  explicit KeyGenerator(std::shared_ptr<const Context> ctx);

  /// Uniform ternary secret. Cost: #QP NTTs.
  [[nodiscard]] SecretKey secret_key() const;
  /// Throws InvalidArgument if sk belongs to other parameters. Cost: #Q NTTs.
  [[nodiscard]] PublicKey public_key(const SecretKey& sk) const;
  /// Key switch s^2 -> s. Cost: dnum * #QP NTTs.
  [[nodiscard]] RelinKey relin_key(const SecretKey& sk) const;
  /// One key per distinct non-zero step (mod slots; negative = right rotation), plus the
  /// conjugation key if asked. Cost: dnum * #QP NTTs per key.
  [[nodiscard]] GaloisKeys galois_keys(const SecretKey& sk, std::span<const int> rotation_steps,
                                       bool conjugate = false) const;
  /// The key switch sigma_g(s) -> s for one Galois element (odd, < 2N). Throws InvalidArgument.
  [[nodiscard]] KeySwitchKey galois_key(const SecretKey& sk, std::uint64_t galois_element) const;

 private:
  [[nodiscard]] KeySwitchKey key_switch_key(const SecretKey& sk, const math::RnsPoly& s_prime) const;
  void check(const SecretKey& sk, const char* op) const;
  std::shared_ptr<const Context> ctx_;
};

}  // namespace cryptounet::ckks
