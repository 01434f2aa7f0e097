// A ModelService with no cryptography, for tests, the load script and demos of the HTTP layer.
// It checks blob headers (fake_format.h), sleeps `stage_delay` per stage to stand in for the
// encrypted executor, and returns a deterministic transform of the payload. Selected in
// `cryptounet serve` only by --fake-service (listed under "Test only" in --help, and present only
// in a build with CU_TEST_HOOKS=ON, the default); never a real deployment.
#pragma once

#include "server/model_service.h"

#include <chrono>
#include <cstddef>
#include <string>

namespace cryptounet::server {

struct FakeModelConfig {
  std::string name = "fake";
  std::size_t eval_keys_bytes = 4096;    // exact size of the key blob
  std::size_t ciphertext_bytes = 16384;  // exact size of one ciphertext blob
  int stages = 4;                        // progress steps per job
  std::chrono::milliseconds stage_delay{50};
};

class FakeModelService final : public ModelService {
 public:
  explicit FakeModelService(FakeModelConfig config);

  [[nodiscard]] std::string name() const override { return config_.name; }
  [[nodiscard]] std::string plan_json() const override;
  [[nodiscard]] BlobSize eval_keys_size() const override;
  [[nodiscard]] BlobSize ciphertext_size() const override;
  std::string validate_eval_keys(std::string_view bytes) const override;
  void validate_ciphertext(std::string_view bytes) const override;
  std::string run(const SessionKeys& keys, std::string_view ciphertext,
                  const ProgressCallback& progress) const override;

 private:
  FakeModelConfig config_;
};

}  // namespace cryptounet::server
