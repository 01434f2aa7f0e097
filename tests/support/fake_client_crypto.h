// TEST ONLY: the client side of the fake model service (support/fake_model_service.h), for
// `cryptounet client --fake-crypto` (built with CU_TEST_HOOKS) and the server tests. No
// cryptography: it "encrypts" the file bytes, and the decrypted output is the input file again.
#pragma once

#include "client/client_crypto.h"

#include <filesystem>
#include <memory>

namespace cryptounet::client {

/// A ClientCrypto for a `serve --fake-service` model. Its key id is kept in
/// `key_dir`/fake-MODEL.key (made on first use).
std::unique_ptr<ClientCrypto> make_fake_client_crypto(const ModelInfo& model,
                                                      const std::filesystem::path& key_dir);

}  // namespace cryptounet::client
