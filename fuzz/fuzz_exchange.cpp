// libFuzzer target: latency mode's exchange reader (workflow/split_infer_wire.h), the bytes another
// MPI rank sends. Malformed input must end in FormatError; anything else is a finding.
#include "cryptounet/common/error.h"
#include "cryptounet/workflow/split_infer_wire.h"
#include "fuzz_context.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cryptounet::ckks::Context& ctx = cryptounet::fuzz::context();
  try {
    (void)cryptounet::nn::unpack_parcels(std::span<const std::uint8_t>(data, size), 1, ctx, "fuzz exchange");
  } catch (const cryptounet::FormatError&) {
  }
  return 0;
}
