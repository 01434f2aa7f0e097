// libFuzzer target: the plan file reader (workflow/plan_io.h), which a client parses from a server.
#include "cryptounet/common/error.h"
#include "cryptounet/workflow/plan_io.h"
#include "fuzz_context.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = cryptounet::fuzz::with_true_length(data, size);
  try {
    (void)cryptounet::nn::decode_plan_file(bytes);
  } catch (const cryptounet::FormatError&) {
  } catch (const cryptounet::SecurityError&) {
  }
  return 0;
}
