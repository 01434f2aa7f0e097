// The client's cryptography, behind one interface so that `cryptounet client` and the HTTP
// client stay independent of the CKKS formats: make (or load) the keys for a model's plan, hand
// out only the *public* evaluation keys, encrypt an image, decrypt a result and write the
// outputs. The secret key lives inside the implementation and never leaves it.
#pragma once

#include "client/inference_client.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cryptounet::client {

class ClientCrypto {
 public:
  virtual ~ClientCrypto() = default;
  /// The public evaluation keys (relinearisation + the plan's Galois keys) to upload. The same
  /// bytes each call for the same key directory, so the session cache can recognise them.
  virtual std::string evaluation_keys() = 0;
  /// Reads one image (PNG/TIFF/DICOM/NIfTI slice) and returns its ciphertext blob.
  virtual std::string encrypt_image(const std::filesystem::path& image) = 0;
  /// Decrypts the result for `image` and writes its outputs (mask, overlay) into `out_dir`.
  /// Returns the paths written.
  virtual std::vector<std::filesystem::path> decrypt_and_write(std::string_view result,
                                                               const std::filesystem::path& image,
                                                               const std::filesystem::path& out_dir) = 0;
};

struct ClientCryptoOptions {
  /// The server's URL: keys are kept per server and model (a sub-folder of key_dir).
  std::string server_url;
  /// Resample images of another size to the model's input (else such an image is refused).
  bool resize = false;
  /// Threads of the CKKS context (0 = all cores).
  int threads = 0;
  /// DICOM frame / NIfTI z slice / TIFF page to segment (-1: the middle one; TIFF: the first).
  int slice = -1;
  /// Accept a plan that is not 128-bit secure (the user's own --insecure-test-params); else such a
  /// plan is refused (client/security_policy.h).
  bool allow_insecure_params = false;
  /// Fill holes in each decrypted mask (nn::output_mask; `--clean-mask`).
  bool clean_mask = false;
  /// Evaluation keys a plan may make the client build (client/security_policy.h).
  std::uint64_t max_eval_key_bytes = std::uint64_t{8} << 30;
};

/// The CKKS implementation for `model`'s plan (client/ckks_client_crypto.h). Keys live in a
/// per-server, per-model, per-plan folder under `key_dir` (0700; secret.key 0600), made on
/// first use and reused after. Throws FormatError for a plan it cannot read.
std::unique_ptr<ClientCrypto> make_client_crypto(const ModelInfo& model,
                                                 const std::filesystem::path& key_dir,
                                                 const ClientCryptoOptions& options = {});

}  // namespace cryptounet::client
