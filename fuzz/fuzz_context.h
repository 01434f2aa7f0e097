// Shared by the fuzz targets and the seed-corpus generator: one small insecure CKKS context
// (N = 2^10, Q = 60 + 40, P = 60, two key-switching digits) so that inputs stay a few tens of KB.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "cryptounet/ckks/context.h"
#include "cryptounet/common/binary_io.h"

namespace cryptounet::fuzz {

inline const ckks::Context& context() {
  static const std::shared_ptr<const ckks::Context> ctx = ckks::Context::create(
      ckks::Params::from_literal({.log_n = 10,
                                  .log_q = {60, 40},
                                  .log_p = {60},
                                  .dnum = 2,
                                  .security = ckks::Security::insecure_for_tests}),
      ExecOptions{1});
  return *ctx;
}

/// A copy of the input whose header's payload-length field says the truth, so that mutations
/// that change the size still reach the payload parser (the header itself has its own target).
inline std::vector<std::uint8_t> with_true_length(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> b(data, data + size);
  if (b.size() >= FileHeader::kSize) {
    const std::uint64_t payload = b.size() - FileHeader::kSize;
    for (int i = 0; i < 8; ++i) b[24 + i] = static_cast<std::uint8_t>(payload >> (8 * i));
  }
  return b;
}

}  // namespace cryptounet::fuzz
