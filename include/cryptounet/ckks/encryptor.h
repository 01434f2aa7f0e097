// Encryption of plaintexts, with the public key (anyone) or with the secret key (the client:
// the uniform half comes from a fresh 32-byte seed, kept in the ciphertext for compact storage).
#pragma once

#include <memory>
#include <optional>

#include "cryptounet/ckks/ciphertext.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/ckks/keys.h"
#include "cryptounet/ckks/plaintext.h"

namespace cryptounet::ckks {

class Encryptor {
 public:
  /// Copies the key. Throws InvalidArgument if it belongs to other parameters.
  Encryptor(std::shared_ptr<const Context> ctx, const PublicKey& pk);
  Encryptor(std::shared_ptr<const Context> ctx, const SecretKey& sk);

  /// A fresh ciphertext at pt's level and scale. Throws InvalidArgument for an empty plaintext
  /// or one of other parameters. Cost (level l): public key 3(l+1) NTTs, secret key (l+1) NTTs.
  [[nodiscard]] Ciphertext encrypt(const Plaintext& pt) const;

 private:
  std::shared_ptr<const Context> ctx_;
  std::optional<PublicKey> pk_;
  std::optional<SecretKey> sk_;
};

}  // namespace cryptounet::ckks
