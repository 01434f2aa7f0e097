#include "support/fake_model_service.h"

#include "cryptounet/common/error.h"
#include "support/fake_format.h"

#include <nlohmann/json.hpp>

#include <thread>

namespace cryptounet::server {

FakeModelService::FakeModelService(FakeModelConfig config) : config_(std::move(config)) {
  if (config_.eval_keys_bytes < fake::kHeaderBytes || config_.ciphertext_bytes < fake::kHeaderBytes)
    throw InvalidArgument("FakeModelService: blob sizes must be at least " +
                          std::to_string(fake::kHeaderBytes) + " bytes");
  if (config_.stages < 1) throw InvalidArgument("FakeModelService: stages must be >= 1");
}

std::string FakeModelService::plan_json() const {
  nlohmann::json plan = {{"kind", "fake"},
                         {"model", config_.name},
                         {"eval_keys_bytes", config_.eval_keys_bytes},
                         {"ciphertext_bytes", config_.ciphertext_bytes},
                         {"note", "test service without cryptography"}};
  return plan.dump();
}

BlobSize FakeModelService::eval_keys_size() const { return {config_.eval_keys_bytes, true}; }
BlobSize FakeModelService::ciphertext_size() const { return {config_.ciphertext_bytes, true}; }

namespace {
// A fake blob of exactly `size` bytes that starts with `magic`; `what` ("fake eval keys") and
// `kind` ("an evaluation-key blob") name it in the messages.
void check_blob(std::string_view bytes, std::size_t size, std::string_view magic, const std::string& what,
                const std::string& kind) {
  if (bytes.size() != size)
    throw FormatError(what + ": size " + std::to_string(bytes.size()) + " != " + std::to_string(size));
  if (!fake::has_magic(bytes, magic)) throw FormatError(what + ": bad magic (not " + kind + ")");
}
}  // namespace

std::string FakeModelService::validate_eval_keys(std::string_view bytes) const {
  check_blob(bytes, config_.eval_keys_bytes, fake::kKeysMagic, "fake eval keys", "an evaluation-key blob");
  return {};
}

void FakeModelService::validate_ciphertext(std::string_view bytes) const {
  check_blob(bytes, config_.ciphertext_bytes, fake::kCiphertextMagic, "fake ciphertext", "a ciphertext blob");
}

std::string FakeModelService::run(const SessionKeys& keys, std::string_view ciphertext,
                                  const ProgressCallback& progress) const {
  const std::string eval_keys = keys.blob();
  (void)validate_eval_keys(eval_keys);
  validate_ciphertext(ciphertext);
  const std::uint64_t key_id = fake::get_u64(eval_keys, 8);
  if (fake::get_u64(ciphertext, 8) != key_id)
    throw FormatError("fake run: ciphertext was encrypted for other keys (key id " +
                      std::to_string(fake::get_u64(ciphertext, 8)) + ", session keys " +
                      std::to_string(key_id) + ")");
  const std::string_view payload = ciphertext.substr(fake::kHeaderBytes);
  if (payload.substr(0, 8) == "FAILJOB!")
    throw InvalidArgument("fake run: payload asks for a failure (test hook)");
  for (int s = 0; s < config_.stages; ++s) {
    progress(static_cast<double>(s) / config_.stages, "stage" + std::to_string(s));
    std::this_thread::sleep_for(config_.stage_delay);
  }
  progress(1.0, "done");
  return fake::make_blob(fake::kResultMagic, key_id, fake::transform_payload(key_id, payload));
}

}  // namespace cryptounet::server
