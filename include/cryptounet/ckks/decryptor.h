// Decryption (client side): m = c0 + c1 s (+ c2 s^2) at the ciphertext's level.
#pragma once

#include <memory>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/ckks/plaintext.h"

namespace cryptounet::ckks {

class Decryptor {
 public:
  /// Copies the key (wiped with this object). Throws InvalidArgument for other parameters.
  Decryptor(std::shared_ptr<const Context> ctx, const SecretKey& sk);

  /// Throws InvalidArgument for an empty ciphertext, a size other than 2 or 3, or other
  /// parameters. Cost: (size-1)(level+1) element-wise products, no NTT.
  [[nodiscard]] Plaintext decrypt(const Ciphertext& ct) const;

 private:
  std::shared_ptr<const Context> ctx_;
  SecretKey sk_;
};

}  // namespace cryptounet::ckks
