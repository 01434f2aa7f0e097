// The CKKS ClientCrypto: keys for the server's plan (kept in the workflow/he_files.h key-folder layout,
// one folder per server, model and plan), encryption of images, decryption of results into a
// mask and an overlay. The secret key is read from its 0600 file when needed and wiped after.
#pragma once

#include "client/client_crypto.h"
#include "cryptounet/ckks/context.h"
#include "cryptounet/model/graph.h"
#include "cryptounet/workflow/he_files.h"
#include "cryptounet/workflow/plan_io.h"

#include <memory>

namespace cryptounet::client {

class CkksClientCrypto final : public ClientCrypto {
 public:
  /// Parses the plan (FormatError), then loads the keys from key_dir/<server>_<model>_<plan> or
  /// makes them there.
  CkksClientCrypto(const ModelInfo& model, const std::filesystem::path& key_dir,
                   const ClientCryptoOptions& options);

  std::string evaluation_keys() override;
  std::string encrypt_image(const std::filesystem::path& image) override;
  std::vector<std::filesystem::path> decrypt_and_write(std::string_view result,
                                                       const std::filesystem::path& image,
                                                       const std::filesystem::path& out_dir) override;

  /// Encrypts 1..plan().batch model inputs (a throughput plan packs several; missing ones are
  /// zeros) into one ciphertext blob.
  std::string encrypt_inputs(const std::vector<nn::Tensor>& inputs);
  /// The decrypted logits of every image of a result (plan().batch of them).
  [[nodiscard]] std::vector<nn::Tensor> decrypt_batch(std::string_view result) const;
  /// The decrypted logits of a result (InvalidArgument if it was made for another plan or key).
  [[nodiscard]] nn::Tensor decrypt_logits(std::string_view result) const;
  [[nodiscard]] const std::filesystem::path& key_folder() const { return folder_; }
  [[nodiscard]] std::uint64_t key_id() const { return info_.key_id; }
  [[nodiscard]] const nn::PlanFile& plan() const { return plan_; }

 private:
  ModelInfo model_;
  ClientCryptoOptions options_;
  nn::PlanFile plan_;
  std::uint64_t plan_fp_ = 0;
  std::shared_ptr<const ckks::Context> ctx_;
  std::filesystem::path folder_;
  nn::KeyInfo info_;
};

}  // namespace cryptounet::client
