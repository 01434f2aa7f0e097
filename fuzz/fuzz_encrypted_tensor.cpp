// libFuzzer target: the encrypted-tensor file reader (workflow/he_files.h): a ciphertext set bound to a
// plan and a key, which the server reads from clients and the client from the server.
#include "cryptounet/common/error.h"
#include "cryptounet/workflow/he_files.h"
#include "fuzz_context.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = cryptounet::fuzz::with_true_length(data, size);
  try {
    (void)cryptounet::nn::decode_encrypted_tensor(bytes, cryptounet::fuzz::context(), "fuzz");
  } catch (const cryptounet::FormatError&) {
  } catch (const cryptounet::SecurityError&) {
  }
  return 0;
}
