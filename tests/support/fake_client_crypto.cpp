#include "support/fake_client_crypto.h"

#include "cryptounet/common/error.h"
#include "cryptounet/common/file_io.h"
#include "cryptounet/common/private_directory.h"
#include "cryptounet/common/secure_random.h"
#include "support/fake_format.h"

namespace cryptounet::client {
namespace fs = std::filesystem;

namespace {

class FakeClientCrypto final : public ClientCrypto {
 public:
  FakeClientCrypto(const ModelInfo& model, const fs::path& key_dir) : model_(model) {
    if (model_.eval_keys.max_bytes < server::fake::kHeaderBytes ||
        model_.ciphertext.max_bytes < server::fake::kHeaderBytes + 8)
      throw InvalidArgument("fake client: the model's blob sizes are too small");
    const fs::path key_file = key_dir / ("fake-" + model_.name + ".key");
    if (fs::exists(key_file)) {
      const std::string k = read_file_string(key_file, 64);
      if (k.size() != 8) throw FormatError("fake client: bad key file " + key_file.string());
      key_id_ = server::fake::get_u64(k, 0);
    } else {
      make_private_directory(key_dir);
      key_id_ = std::stoull(random_hex(8), nullptr, 16);
      std::string k;
      server::fake::put_u64(k, key_id_);
      write_file_atomic(key_file, k);
    }
  }

  std::string evaluation_keys() override {
    return server::fake::make_keys(key_id_, model_.eval_keys.max_bytes);
  }

  std::string encrypt_image(const fs::path& image) override {
    const std::string bytes = read_file_string(image, model_.ciphertext.max_bytes);
    const std::size_t capacity = model_.ciphertext.max_bytes - server::fake::kHeaderBytes - 8;
    if (bytes.size() > capacity)
      throw InvalidArgument("fake client: " + image.string() + " has " +
                            std::to_string(bytes.size()) + " bytes, more than " +
                            std::to_string(capacity));
    std::string payload;
    server::fake::put_u64(payload, bytes.size());
    payload += bytes;
    payload.resize(capacity + 8, '\0');
    return server::fake::make_blob(server::fake::kCiphertextMagic, key_id_, payload);
  }

  std::vector<fs::path> decrypt_and_write(std::string_view result, const fs::path& image,
                                          const fs::path& out_dir) override {
    if (!server::fake::has_magic(result, server::fake::kResultMagic) ||
        server::fake::get_u64(result, 8) != key_id_)
      throw FormatError("fake client: result is not a fake result for this client's keys");
    const std::string payload =
        server::fake::untransform_payload(key_id_, result.substr(server::fake::kHeaderBytes));
    const std::uint64_t n = server::fake::get_u64(payload, 0);
    if (n > payload.size() - 8) throw FormatError("fake client: bad length in result");
    fs::create_directories(out_dir);
    const fs::path out = out_dir / (image.stem().string() + ".fake-output");
    write_file_atomic(out, std::string_view(payload).substr(8, n));
    return {out};
  }

 private:
  ModelInfo model_;
  std::uint64_t key_id_ = 0;
};

}  // namespace

std::unique_ptr<ClientCrypto> make_fake_client_crypto(const ModelInfo& model, const fs::path& key_dir) {
  return std::make_unique<FakeClientCrypto>(model, key_dir);
}

}  // namespace cryptounet::client
