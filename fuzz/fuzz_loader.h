// One libFuzzer target per deserialiser: fuzz_<object>.cpp defines CU_FUZZ_LOAD(bytes, ctx) (load
// the object from `bytes` for the small fuzzing context `ctx`, fuzz_context.h) and includes this. Malformed input must end in FormatError or SecurityError; any other exception,
// a crash or a sanitizer report is a finding.
#pragma once

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "fuzz_context.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = cryptounet::fuzz::with_true_length(data, size);
  const cryptounet::ckks::Context& ctx = cryptounet::fuzz::context();
  (void)ctx;
  try {
    CU_FUZZ_LOAD(std::span<const std::uint8_t>(bytes), ctx);
  } catch (const cryptounet::FormatError&) {
  } catch (const cryptounet::SecurityError&) {
  }
  return 0;
}
